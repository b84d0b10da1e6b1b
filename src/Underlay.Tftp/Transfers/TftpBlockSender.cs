using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;

namespace Underlay.Tftp.Transfers;

/// <summary>
/// The per-block path: read a block into the transfer's one buffer behind a 4-byte header and send it. No
/// allocation per block: the buffer is rented once per transfer, the client's address is a cached
/// <see cref="SocketAddress"/>, memory and file reads complete synchronously, and the async state machine is
/// pooled for the rare case where the send does not complete at once.
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
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> SendAsync(long block, CancellationToken cancellationToken)
    {
        if (block != _bufferedBlock)
        {
            var offset = (block - 1) * _blockSize;
            var destination = _buffer.AsMemory(TftpPacket.HeaderSize, _blockSize);
            _bufferedBlock = 0;
            _bufferedLength = await _file.ReadAsync(offset, destination, cancellationToken).ConfigureAwait(false);
            _bufferedBlock = block;
        }

        // RFC 1350 §5: the block number is 16 bits. Past 65535 it wraps to 0, which is what tftpd-hpa (default
        // "rollover 0"), tftp-hpa, curl, busybox and atftp all expect (they keep the counter in a uint16).
        TftpPacket.WriteDataHeader(_buffer, (ushort)block);
        await _socket.SendToAsync(_buffer.AsMemory(0, TftpPacket.HeaderSize + _bufferedLength), SocketFlags.None, _client, cancellationToken)
            .ConfigureAwait(false);
        return _bufferedLength;
    }
}
