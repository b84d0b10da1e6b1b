namespace Underlay.Tftp.Files;

/// <summary>
/// Converts content to netascii (RFC 764, required by RFC 1350 §1) while it is read: LF becomes CR LF and a
/// bare CR becomes CR NUL. The output length is unknown until the end and reads must be sequential, so the
/// transfer offers no tsize and stays lock-step; a retransmission re-sends the block already in its buffer.
/// A client that converts back (tftp-hpa in ascii mode) reproduces the original bytes exactly.
/// </summary>
internal sealed class NetasciiTftpFile : TftpFile
{
    private const int ChunkSize = 4096;
    private readonly TftpFile _inner;
    private readonly byte[] _chunk = new byte[ChunkSize];
    private int _chunkStart;
    private int _chunkEnd;
    private long _sourceOffset;
    private long _outputOffset;
    private int _pending = -1;
    private bool _sourceDone;

    public NetasciiTftpFile(TftpFile inner) => _inner = inner;

    public override long? Length => null;

    public override bool SupportsRandomAccess => false;

    public override int Read(long offset, Span<byte> destination)
    {
        if (offset != _outputOffset)
        {
            throw new InvalidOperationException($"Netascii content read at {offset}, expected {_outputOffset}.");
        }

        var written = 0;
        while (written < destination.Length)
        {
            if (_pending >= 0)
            {
                destination[written++] = (byte)_pending;
                _pending = -1;
                continue;
            }

            if (_chunkStart == _chunkEnd)
            {
                if (_sourceDone)
                {
                    break;
                }

                _chunkStart = 0;
                _chunkEnd = _inner.Read(_sourceOffset, _chunk);
                _sourceOffset += _chunkEnd;
                _sourceDone = _chunkEnd < _chunk.Length;
                continue;
            }

            written += Convert(destination[written..]);
        }

        _outputOffset += written;
        return written;
    }

    private int Convert(Span<byte> output)
    {
        var written = 0;
        while (written < output.Length && _chunkStart < _chunkEnd)
        {
            var b = _chunk[_chunkStart++];
            if (b is (byte)'\n' or (byte)'\r')
            {
                output[written++] = (byte)'\r';
                var second = b == (byte)'\n' ? (byte)'\n' : (byte)0;
                if (written < output.Length)
                {
                    output[written++] = second;
                }
                else
                {
                    _pending = second;
                }
            }
            else
            {
                output[written++] = b;
            }
        }

        return written;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
