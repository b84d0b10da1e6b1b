using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Underlay.BootStorm;

/// <summary>What a DHCP server answered: the address, the server id and the PXE boot file.</summary>
internal sealed record DhcpLease(IPAddress Address, IPAddress ServerId, IPAddress NextServer, string BootFile);

/// <summary>
/// A DHCP relay agent (RFC 1542) for many simulated clients at once: one UDP socket on the relay address, port 67.
/// Every client's packets carry giaddr = the relay address, so the server answers unicast to relay:67, and replies are
/// matched to their client by xid. Clients retransmit on the RFC 2131 §4.1 schedule (4 s, 8 s, … here from 1 s).
/// </summary>
internal sealed class DhcpRelay : IAsyncDisposable
{
    private const byte Discover = 1, Offer = 2, Request = 3, Ack = 5, Nak = 6;
    private readonly Socket _socket;
    private readonly IPEndPoint _server;
    private readonly IPAddress _relay;
    private readonly ConcurrentDictionary<uint, Pending> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receive;

    public DhcpRelay(IPAddress relay, IPEndPoint server)
    {
        _relay = relay;
        _server = server;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20, SendBufferSize = 4 << 20 };
        _socket.Bind(new IPEndPoint(relay, 67));
        _receive = Task.Run(ReceiveLoopAsync);
    }

    public int Retransmits;

    /// <summary>DISCOVER → OFFER → REQUEST → ACK for one client (a PXE BIOS client, option 93 = 0).</summary>
    public async Task<DhcpLease> DoraAsync(byte[] mac, uint xid, CancellationToken cancellationToken)
    {
        var offer = await ExchangeAsync(xid, Build(Discover, xid, mac, null, null), Offer, cancellationToken);
        var request = Build(Request, xid, mac, offer.Address, offer.ServerId);
        var ack = await ExchangeAsync(xid, request, Ack, cancellationToken);
        return ack with { BootFile = ack.BootFile.Length > 0 ? ack.BootFile : offer.BootFile };
    }

    private async Task<DhcpLease> ExchangeAsync(uint xid, byte[] packet, byte want, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(1);
        for (var attempt = 0; attempt < 7; attempt++)
        {
            var pending = new Pending(want);
            _pending[xid] = pending;
            if (attempt > 0)
            {
                Interlocked.Increment(ref Retransmits);
            }

            await _socket.SendToAsync(packet, SocketFlags.None, _server, cancellationToken);
            var done = await Task.WhenAny(pending.Reply.Task, Task.Delay(timeout + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 500)), cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            if (done == pending.Reply.Task)
            {
                _pending.TryRemove(xid, out _);
                return await pending.Reply.Task;
            }

            timeout = TimeSpan.FromSeconds(Math.Min(16, timeout.TotalSeconds * 2));
        }

        _pending.TryRemove(xid, out _);
        throw new TimeoutException($"no DHCP reply (type {want}) for xid {xid:x8}");
    }

    private byte[] Build(byte type, uint xid, byte[] mac, IPAddress? requested, IPAddress? serverId)
    {
        var p = new byte[548];
        p[0] = 1; // BOOTREQUEST
        p[1] = 1; // Ethernet
        p[2] = 6;
        p[3] = 1; // hops: one relay
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(4), xid);
        _relay.TryWriteBytes(p.AsSpan(24), out _); // giaddr
        mac.CopyTo(p, 28);
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(236), 0x63825363);
        var o = 240;
        void Option(byte code, ReadOnlySpan<byte> value)
        {
            p[o++] = code;
            p[o++] = (byte)value.Length;
            value.CopyTo(p.AsSpan(o));
            o += value.Length;
        }

        Option(53, [type]);
        if (requested is not null)
        {
            Option(50, requested.GetAddressBytes());
            Option(54, serverId!.GetAddressBytes());
        }

        Option(57, [0x05, 0xc0]); // max message 1472
        Option(93, [0, 0]);       // client arch: x86 BIOS
        Option(94, [1, 2, 1]);    // UNDI 2.1
        var guid = new byte[17];
        mac.CopyTo(guid, 11);
        Option(97, guid);
        Option(60, "PXEClient:Arch:00000:UNDI:002001"u8);
        Option(55, [1, 3, 6, 12, 15, 28, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135]);
        p[o++] = 255;
        return p.AsSpan(0, Math.Max(o, 300)).ToArray();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[2048];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            if (Parse(buffer.AsSpan(0, received.ReceivedBytes)) is not { } reply || !_pending.TryGetValue(reply.Xid, out var pending))
            {
                continue;
            }

            if (reply.Type == Nak)
            {
                pending.Reply.TrySetException(new InvalidOperationException($"DHCPNAK for xid {reply.Xid:x8}"));
            }
            else if (reply.Type == pending.Want)
            {
                pending.Reply.TrySetResult(reply.Lease);
            }
        }
    }

    private static (uint Xid, byte Type, DhcpLease Lease)? Parse(ReadOnlySpan<byte> p)
    {
        if (p.Length < 240 || p[0] != 2 || BinaryPrimitives.ReadUInt32BigEndian(p[236..]) != 0x63825363)
        {
            return null;
        }

        var xid = BinaryPrimitives.ReadUInt32BigEndian(p[4..]);
        var yiaddr = new IPAddress(p.Slice(16, 4));
        var siaddr = new IPAddress(p.Slice(20, 4));
        var file = Encoding.ASCII.GetString(p.Slice(108, 128)).TrimEnd('\0');
        byte type = 0;
        var serverId = IPAddress.Any;
        for (var i = 240; i < p.Length && p[i] != 255;)
        {
            if (p[i] == 0)
            {
                i++;
                continue;
            }

            if (i + 1 >= p.Length || i + 2 + p[i + 1] > p.Length)
            {
                return null;
            }

            var value = p.Slice(i + 2, p[i + 1]);
            switch (p[i])
            {
                case 53 when value.Length == 1:
                    type = value[0];
                    break;
                case 54 when value.Length == 4:
                    serverId = new IPAddress(value);
                    break;
                case 67:
                    file = Encoding.ASCII.GetString(value).TrimEnd('\0');
                    break;
            }

            i += 2 + value.Length;
        }

        return (xid, type, new DhcpLease(yiaddr, serverId, siaddr, file));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _receive;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private sealed class Pending(byte want)
    {
        public byte Want { get; } = want;

        public TaskCompletionSource<DhcpLease> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
