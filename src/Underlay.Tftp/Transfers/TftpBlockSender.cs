using System.Net;
using System.Net.Sockets;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;

namespace Underlay.Tftp.Transfers;

/// <summary>
/// The per-block path: read blocks into the transfer's one buffer, each behind its 4-byte header, and send them.
/// Nothing is allocated per block: the buffer is rented once per transfer, the client's address is a cached
/// <see cref="SocketAddress"/>, and reads and sends are plain calls on the transfer's own thread.
/// On Linux a window goes out in one sendmsg with UDP generic segmentation offload (UDP_SEGMENT, Linux 4.18):
/// the buffer holds <c>[header][block][header][block]...</c>, every full block is exactly one segment of
/// 4 + blksize bytes and only the last may be shorter, so the kernel cuts it into the same datagrams that
/// one send per block would produce, for one system call.
/// </summary>
internal sealed class TftpBlockSender
{
    /// <summary>Linux UDP_MAX_SEGMENTS: segments per GSO send.</summary>
    private const int MaxSegmentsPerSend = 64;

    /// <summary>Bytes per GSO send, below the largest UDP payload (65,507 bytes over IPv4).</summary>
    private const int MaxBytesPerSend = 65000;

    /// <summary>SOL_UDP / UDP_SEGMENT from linux/udp.h.</summary>
    private const int SolUdp = 17;
    private const int UdpSegment = 103;

    private readonly Socket _socket;
    private readonly SocketAddress _client;
    private readonly TftpFile _file;
    private readonly byte[] _buffer;
    private readonly int _blockSize;
    private readonly int _packetSize;
    private int _segmentsPerSend;
    private long _bufferedBlock;
    private int _bufferedLength;

    public TftpBlockSender(Socket socket, SocketAddress client, TftpFile file, int blockSize, int windowSize, byte[] buffer)
    {
        _packetSize = TftpPacket.HeaderSize + blockSize;
        _segmentsPerSend = SegmentsPerSend(blockSize, windowSize);
        if (buffer.Length < _packetSize * _segmentsPerSend)
        {
            throw new ArgumentException("Buffer smaller than one send.", nameof(buffer));
        }

        _socket = socket;
        _client = client;
        _file = file;
        _blockSize = blockSize;
        _buffer = buffer;
        if (_segmentsPerSend > 1 && !TrySetSegmentSize(_packetSize))
        {
            _segmentsPerSend = 1;
        }
    }

    /// <summary>True while windows go out as one GSO send each.</summary>
    public bool UsesSegmentation => _segmentsPerSend > 1;

    /// <summary>
    /// Blocks per send: 1 in lock-step. For windows, as many as fit one GSO send. Never for blocks under 512 bytes:
    /// with UDP_SEGMENT set, any send longer than a segment is split, and an ERROR packet (up to 505 bytes) sent
    /// on the same socket must stay one datagram.
    /// </summary>
    public static int SegmentsPerSend(int blockSize, int windowSize) =>
        windowSize <= 1 || blockSize < TftpPacket.DefaultBlockSize
            ? 1
            : Math.Max(1, Math.Min(Math.Min(windowSize, MaxSegmentsPerSend), MaxBytesPerSend / (TftpPacket.HeaderSize + blockSize)));

    /// <summary>The buffer <see cref="TftpBlockSender"/> needs for this block and window size.</summary>
    public static int BufferSize(int blockSize, int windowSize) => (TftpPacket.HeaderSize + blockSize) * SegmentsPerSend(blockSize, windowSize);

    /// <summary>
    /// Sends up to <paramref name="count"/> blocks from <paramref name="first"/> (1-based, not wrapped), stopping
    /// after a short block (the last of the file). Returns the blocks sent; <paramref name="payloadBytes"/> is their
    /// total payload and <paramref name="lastLength"/> the payload of the last one (below blksize: end of file).
    /// </summary>
    public int Send(long first, int count, out long payloadBytes, out int lastLength)
    {
        var sent = 0;
        payloadBytes = 0;
        lastLength = _blockSize;
        while (sent < count)
        {
            var bytes = 0;
            var segments = 0;
            var end = false;
            while (sent < count && segments < _segmentsPerSend)
            {
                lastLength = Fill(first + sent, bytes);
                bytes += TftpPacket.HeaderSize + lastLength;
                payloadBytes += lastLength;
                segments++;
                sent++;
                if (lastLength < _blockSize)
                {
                    end = true;
                    break;
                }
            }

            Transmit(bytes, segments);
            if (end)
            {
                break;
            }
        }

        return sent;
    }

    /// <summary>
    /// Writes block <paramref name="block"/> with its header at <paramref name="position"/>. In lock-step the
    /// block already in the buffer is re-sent without reading again (netascii and non-seekable sources rely on it).
    /// </summary>
    private int Fill(long block, int position)
    {
        int length;
        if (_segmentsPerSend == 1 && block == _bufferedBlock)
        {
            length = _bufferedLength;
        }
        else
        {
            _bufferedBlock = 0;
            length = _file.Read((block - 1) * _blockSize, _buffer.AsSpan(position + TftpPacket.HeaderSize, _blockSize));
            if (_segmentsPerSend == 1)
            {
                _bufferedBlock = block;
                _bufferedLength = length;
            }
        }

        // RFC 1350 §5: the block number is 16 bits. Past 65535 it wraps to 0, which is what tftpd-hpa (default
        // "rollover 0"), tftp-hpa, curl, busybox and atftp all expect (they keep the counter in a uint16).
        TftpPacket.WriteDataHeader(_buffer.AsSpan(position), (ushort)block);
        return length;
    }

    private void Transmit(int bytes, int segments)
    {
        if (segments > 1)
        {
            try
            {
                _socket.SendTo(_buffer.AsSpan(0, bytes), SocketFlags.None, _client);
                return;
            }
            catch (SocketException)
            {
                // The path refused GSO (e.g. EINVAL: segment larger than the interface MTU). Nothing was sent;
                // switch it off for this transfer and send the same datagrams one by one.
                _segmentsPerSend = 1;
                TrySetSegmentSize(0);
            }
        }

        for (var position = 0; position < bytes; position += _packetSize)
        {
            _socket.SendTo(_buffer.AsSpan(position, Math.Min(_packetSize, bytes - position)), SocketFlags.None, _client);
        }
    }

    private bool TrySetSegmentSize(int size)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        Span<byte> value = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(value, size);
        try
        {
            _socket.SetRawSocketOption(SolUdp, UdpSegment, value);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
