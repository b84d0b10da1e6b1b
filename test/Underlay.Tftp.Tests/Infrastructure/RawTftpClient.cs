using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Underlay.Tftp.Tests.Infrastructure;

/// <summary>A decoded packet received by <see cref="RawTftpClient"/>.</summary>
internal sealed class RawPacket
{
    public RawPacket(IPEndPoint from, byte[] bytes)
    {
        From = from;
        Bytes = bytes;
    }

    public IPEndPoint From { get; }

    public byte[] Bytes { get; }

    public int Opcode => Bytes.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Bytes) : -1;

    public bool IsData => Opcode == 3;

    public bool IsError => Opcode == 5;

    public bool IsOack => Opcode == 6;

    /// <summary>DATA block number or ERROR code.</summary>
    public ushort Number => BinaryPrimitives.ReadUInt16BigEndian(Bytes.AsSpan(2));

    public ReadOnlySpan<byte> Payload => Bytes.AsSpan(4);

    public string ErrorMessage => Encoding.UTF8.GetString(Bytes.AsSpan(4)).TrimEnd('\0');

    /// <summary>OACK options, names as sent.</summary>
    public Dictionary<string, string> Options
    {
        get
        {
            var parts = Encoding.UTF8.GetString(Bytes.AsSpan(2)).Split('\0');
            var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i + 1 < parts.Length; i += 2)
            {
                options[parts[i]] = parts[i + 1];
            }

            return options;
        }
    }

    public override string ToString() => Opcode switch
    {
        3 => $"DATA {Number} ({Payload.Length} bytes)",
        5 => $"ERROR {Number} {ErrorMessage}",
        6 => $"OACK {string.Join(", ", Options.Select(o => o.Key + "=" + o.Value))}",
        _ => $"opcode {Opcode}",
    };
}

/// <summary>
/// A hand-driven TFTP client over a UDP socket on loopback, for protocol details real clients cannot be made to
/// show: it sends exactly what a test says (requests, ACKs, duplicates, strangers' packets) and reports exactly
/// what arrives. Every receive is bounded in time.
/// </summary>
internal sealed class RawTftpClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[70000];

    public RawTftpClient(int serverPort, IPAddress? serverAddress = null)
    {
        var address = serverAddress ?? IPAddress.Loopback;
        Server = new IPEndPoint(address, serverPort);
        _socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
    }

    /// <summary>The server's listening endpoint.</summary>
    public IPEndPoint Server { get; }

    /// <summary>The server's transfer endpoint (its TID), learned from the first reply.</summary>
    public IPEndPoint? TransferEndPoint { get; private set; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public static byte[] BuildRequest(int opcode, string file, string mode, params (string Name, string Value)[] options)
    {
        var bytes = new List<byte> { 0, (byte)opcode };
        bytes.AddRange(Encoding.UTF8.GetBytes(file));
        bytes.Add(0);
        bytes.AddRange(Encoding.UTF8.GetBytes(mode));
        bytes.Add(0);
        foreach (var (name, value) in options)
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(name));
            bytes.Add(0);
            bytes.AddRange(Encoding.UTF8.GetBytes(value));
            bytes.Add(0);
        }

        return [.. bytes];
    }

    public static byte[] BuildAck(ushort block) => [0, 4, (byte)(block >> 8), (byte)block];

    public static byte[] BuildError(ushort code, string message) => [0, 5, (byte)(code >> 8), (byte)code, .. Encoding.ASCII.GetBytes(message), 0];

    /// <summary>Sends an RRQ; the next reply's source becomes <see cref="TransferEndPoint"/> (a new transfer, a new TID).</summary>
    public void SendReadRequest(string file, params (string Name, string Value)[] options)
    {
        TransferEndPoint = null;
        SendToServer(BuildRequest(1, file, "octet", options));
    }

    public void SendToServer(byte[] packet) => _socket.SendTo(packet, Server);

    public void SendAck(ushort block) => SendToTransfer(BuildAck(block));

    public void SendTo(IPEndPoint destination, byte[] packet) => _socket.SendTo(packet, destination);

    public void SendToTransfer(byte[] packet) =>
        _socket.SendTo(packet, TransferEndPoint ?? throw new InvalidOperationException("No reply received yet."));

    /// <summary>The next packet, or null after <paramref name="timeout"/>.</summary>
    public async Task<RawPacket?> ReceiveAsync(TimeSpan timeout)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(timeout);
        try
        {
            EndPoint any = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
            var result = await _socket.ReceiveFromAsync(_buffer, SocketFlags.None, any, cancel.Token);
            var from = (IPEndPoint)result.RemoteEndPoint;
            TransferEndPoint ??= from;
            return new RawPacket(from, _buffer.AsSpan(0, result.ReceivedBytes).ToArray());
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The next packet; fails the test if none arrives in time.</summary>
    public async Task<RawPacket> ExpectAsync(TimeSpan? timeout = null)
    {
        var packet = await ReceiveAsync(timeout ?? TimeSpan.FromSeconds(5));
        Assert.True(packet is not null, "expected a packet from the server, got none");
        return packet;
    }

    /// <summary>The next packet must be DATA <paramref name="block"/>.</summary>
    public async Task<RawPacket> ExpectDataAsync(ushort block, TimeSpan? timeout = null)
    {
        var packet = await ExpectAsync(timeout);
        Assert.True(packet.IsData && packet.Number == block, $"expected DATA {block}, got {packet}");
        return packet;
    }

    /// <summary>Asserts that nothing arrives for <paramref name="quiet"/>.</summary>
    public async Task ExpectSilenceAsync(TimeSpan quiet)
    {
        var packet = await ReceiveAsync(quiet);
        Assert.True(packet is null, $"expected no packet, got {packet}");
    }

    /// <summary>
    /// Plays a well-behaved lock-step (or windowed) client until the last block: acknowledges each window's last
    /// block and returns the file bytes and every DATA block number seen, in order.
    /// </summary>
    public async Task<(byte[] Content, List<ushort> Blocks)> DownloadAsync(int blockSize, int windowSize = 1, RawPacket? first = null)
    {
        var content = new MemoryStream();
        var blocks = new List<ushort>();
        var expected = first?.Number ?? (ushort)1;
        var inWindow = 0;
        var packet = first;
        while (true)
        {
            packet ??= await ExpectAsync();
            Assert.True(packet.IsData, $"expected DATA, got {packet}");
            Assert.Equal(expected, packet.Number);
            content.Write(packet.Payload);
            blocks.Add(packet.Number);
            var last = packet.Payload.Length < blockSize;
            if (++inWindow == windowSize || last)
            {
                SendAck(packet.Number);
                inWindow = 0;
            }

            if (last)
            {
                return (content.ToArray(), blocks);
            }

            expected++;
            packet = null;
        }
    }

    public void Dispose() => _socket.Dispose();
}
