namespace Underlay.Tftp.Files;

/// <summary>A <see cref="Stream"/>: seekable streams are read at any offset, others strictly in order.</summary>
internal sealed class StreamTftpFile : TftpFile
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly long _origin;
    private readonly long? _length;
    private long _position;

    public StreamTftpFile(Stream stream, bool leaveOpen)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        if (stream.CanSeek)
        {
            _origin = stream.Position;
            _length = Math.Max(0, stream.Length - _origin);
        }
    }

    public override long? Length => _length;

    public override bool SupportsRandomAccess => _stream.CanSeek;

    public override int Read(long offset, Span<byte> destination)
    {
        if (offset != _position)
        {
            if (!_stream.CanSeek)
            {
                throw new InvalidOperationException($"Non-seekable stream read at {offset}, expected {_position}.");
            }

            _stream.Position = _origin + offset;
            _position = offset;
        }

        if (_length is { } length)
        {
            destination = destination[..(int)Math.Min(destination.Length, Math.Max(0, length - offset))];
        }

        var total = 0;
        while (total < destination.Length)
        {
            var read = _stream.Read(destination[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        _position += total;
        return total;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_leaveOpen)
        {
            _stream.Dispose();
        }

        base.Dispose(disposing);
    }
}
