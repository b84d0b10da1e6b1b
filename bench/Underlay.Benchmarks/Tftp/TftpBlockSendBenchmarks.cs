using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Underlay.Tftp.Files;
using Underlay.Tftp.Transfers;

namespace Underlay.Benchmarks.Tftp;

/// <summary>
/// The per-block send path of a transfer (<see cref="TftpBlockSender"/>): read a block from in-memory content
/// into the transfer's buffer, write the DATA header, send it over loopback to a socket that a background thread
/// drains. Reported per block (OperationsPerInvoke = blocks). Windows of 16 go out as one UDP GSO send on Linux.
/// Budget: 0 B allocated per block.
/// </summary>
[MemoryDiagnoser]
public class TftpBlockSendBenchmarks
{
    private const int BlocksPerInvoke = 64;
    private const int ContentBlocks = 4096;

    private Socket _socket = null!;
    private Socket _sink = null!;
    private TftpBlockSender _sender = null!;
    private Thread _drain = null!;
    private volatile bool _stop;
    private long _next = 1;

    [Params(512, 1468, 8192)]
    public int BlockSize { get; set; }

    [Params(1, 16)]
    public int WindowSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20 };
        _sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        // One byte more than ContentBlocks full blocks, so every block the benchmark sends is a full one.
        var content = new byte[(BlockSize * ContentBlocks) + 1];
        new Random(42).NextBytes(content);
        var buffer = new byte[TftpBlockSender.BufferSize(BlockSize, WindowSize)];
        _sender = new TftpBlockSender(_socket, _sink.LocalEndPoint!.Serialize(), TftpFile.FromMemory(content), BlockSize, WindowSize, buffer);
        _drain = new Thread(Drain) { IsBackground = true, Name = "sink" };
        _drain.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _sink.Dispose();
        _drain.Join(TimeSpan.FromSeconds(5));
        _socket.Dispose();
    }

    [Benchmark(OperationsPerInvoke = BlocksPerInvoke)]
    public long SendBlocks()
    {
        var payload = 0L;
        for (var sent = 0; sent < BlocksPerInvoke; sent += WindowSize)
        {
            _sender.Send(_next, WindowSize, out var bytes, out _);
            payload += bytes;
            _next += WindowSize;
            if (_next + WindowSize > ContentBlocks)
            {
                _next = 1;
            }
        }

        return payload;
    }

    /// <summary>Reads everything that arrives, without allocating (the diagnoser counts every thread).</summary>
    private void Drain()
    {
        var buffer = new byte[70000];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stop)
        {
            try
            {
                _sink.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }
}
