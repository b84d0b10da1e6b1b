using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using Underlay.Tftp;
using Underlay.Tftp.Files;

namespace Underlay.Benchmarks.Tftp;

/// <summary>
/// A whole transfer through a running <see cref="TftpServer"/> on loopback (request, OACK, data, ACKs), driven by
/// an allocation-free client on the benchmark thread. "Allocated" is per transfer and counts the server's threads
/// too: the same figure at 100 and 2,000 blocks shows that the exchange loop (send, ACK receive, bookkeeping)
/// allocates nothing per block; what remains is the per-request setup (socket, thread, strings, event).
/// </summary>
[MemoryDiagnoser]
public class TftpTransferBenchmarks
{
    private const int BlockSize = 1468;
    private readonly byte[] _receive = new byte[BlockSize + 100];
    private readonly byte[] _ack = [0, 4, 0, 0];
    private readonly SocketAddress _from = new(AddressFamily.InterNetwork);
    private TftpServer _server = null!;
    private Socket _client = null!;
    private SocketAddress _serverAddress = null!;
    private byte[] _request = [];

    [Params(100, 2000)]
    public int Blocks { get; set; }

    [Params(1, 16)]
    public int WindowSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var content = new byte[(Blocks * BlockSize) - 100];
        new Random(7).NextBytes(content);
        _server = new TftpServer(
            new TftpServerOptions { BindAddress = IPAddress.Loopback, Port = 0 },
            new MemorySource(content));
        _server.StartAsync().GetAwaiter().GetResult();
        _serverAddress = _server.LocalEndPoint!.Serialize();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        _client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = WindowSize > 1 ? $"blksize\01468\0windowsize\0{WindowSize}\0" : "blksize\01468\0";
        _request = [0, 1, .. Encoding.ASCII.GetBytes("boot.img\0octet\0" + options)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public long Transfer()
    {
        _client.SendTo(_request, SocketFlags.None, _serverAddress);
        _client.ReceiveFrom(_receive, SocketFlags.None, _from); // OACK from the transfer's own port
        Acknowledge(0);
        var bytes = 0L;
        var inWindow = 0;
        while (true)
        {
            var length = _client.ReceiveFrom(_receive, SocketFlags.None, _from);
            var payload = length - 4;
            bytes += payload;
            var last = payload < BlockSize;
            if (++inWindow == WindowSize || last)
            {
                Acknowledge(BinaryPrimitives.ReadUInt16BigEndian(_receive.AsSpan(2)));
                inWindow = 0;
            }

            if (last)
            {
                return bytes;
            }
        }
    }

    private void Acknowledge(ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_ack.AsSpan(2), block);
        _client.SendTo(_ack, SocketFlags.None, _from);
    }

    private sealed class MemorySource(byte[] content) : ITftpFileSource
    {
        public ValueTask<TftpOpenResult> OpenAsync(string path, TftpRequestContext context, CancellationToken cancellationToken) =>
            new(TftpOpenResult.FromMemory(content));
    }
}
