using System.Net;
using System.Net.Sockets;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;

namespace Underlay.Tftp.Transfers;

/// <summary>
/// The per-block path: read a block into the transfer's one buffer behind a 4-byte header and send it. Nothing is
/// allocated per block: the buffer is rented once per transfer, the client's address is a cached
/// <see cref="SocketAddress"/>, and both the read and the send are plain calls on the transfer's own thread.
/// </summary>
internal sealed class TftpBlockSender
{
    private readonly Socket _socket;
    private readonly SocketAddress _client;
    private readonly TftpFile _file;
    private readonly byte[] _buffer;
    private readonly int _blockSize;
    private long _bufferedBlock;
    private int _bufferedLength;

    public TftpBlockSender(Socket socket, SocketAddress client, TftpFile file, int blockSize, byte[] buffer)
    {
        if (buffer.Length < TftpPacket.HeaderSize + blockSize)
        {
            throw new ArgumentException("Buffer smaller than one DATA packet.", nameof(buffer));
        }

        _socket = socket;
        _client = client;
        _file = file;
        _blockSize = blockSize;
        _buffer = buffer;
    }

    /// <summary>
    /// Sends block <paramref name="block"/> (1-based, not wrapped) and returns its payload length; a length below
    /// the block size marks the last block. The block is read from the file unless it is the one already in the
    /// buffer, so a lock-step retransmission re-sends bytes without reading again (netascii and non-seekable
    /// sources rely on that).
    /// </summary>
    public int Send(long block)
    {
        if (block != _bufferedBlock)
        {
            _bufferedBlock = 0;
            _bufferedLength = _file.Read((block - 1) * _blockSize, _buffer.AsSpan(TftpPacket.HeaderSize, _blockSize));
            _bufferedBlock = block;
        }

        // RFC 1350 §5: the block number is 16 bits. Past 65535 it wraps to 0, which is what tftpd-hpa (default
        // "rollover 0"), tftp-hpa, curl, busybox and atftp all expect (they keep the counter in a uint16).
        TftpPacket.WriteDataHeader(_buffer, (ushort)block);
        _socket.SendTo(_buffer.AsSpan(0, TftpPacket.HeaderSize + _bufferedLength), SocketFlags.None, _client);
        return _bufferedLength;
    }
}
