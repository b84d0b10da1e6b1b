using BenchmarkDotNet.Attributes;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;
using Underlay.Tftp.Transfers;

namespace Underlay.Benchmarks.Tftp;

/// <summary>
/// Packet work without sockets. Per block: build a DATA packet from in-memory content, parse an ACK and map it
/// onto the window (budget 0 B). Per request, for scale: parse an RRQ with options and negotiate them (allocates
/// the strings the file source and the OACK need).
/// </summary>
[MemoryDiagnoser]
public class TftpPacketBenchmarks
{
    private readonly byte[] _packet = new byte[4 + 1468];
    private readonly byte[] _ack = [0, 4, 0x12, 0x34];
    private readonly byte[] _request = BuildRequest();
    private TftpFile _file = null!;
    private long _block = 1;

    [GlobalSetup]
    public void Setup()
    {
        var content = new byte[1468 * 1024];
        new Random(1).NextBytes(content);
        _file = TftpFile.FromMemory(content);
    }

    [Benchmark]
    public int BuildDataPacket()
    {
        var length = _file.Read((_block - 1) * 1468, _packet.AsSpan(4, 1468));
        TftpPacket.WriteDataHeader(_packet, (ushort)_block);
        _block = _block == 1023 ? 1 : _block + 1;
        return length;
    }

    [Benchmark]
    public long ParseAcknowledgment()
    {
        TftpPacket.TryReadAck(_ack, out var block);
        return TftpTransfer.MapAcknowledgment(block, 0x1230, 0x1240);
    }

    [Benchmark]
    public int ParseRequestAndNegotiate()
    {
        var request = TftpRequest.Parse(_request, out _)!;
        var negotiation = TftpNegotiation.Negotiate(request, 65464, 64, 65536, 123_456_789, windowingAllowed: true, out _)!;
        return negotiation.GetOackLength() + request.FileName.Length;
    }

    private static byte[] BuildRequest() =>
        [0, 1, .. "pxelinux.cfg/01-52-54-00-12-34-56\0octet\0blksize\01468\0tsize\00\0windowsize\016\0"u8];
}
