using Microsoft.Win32.SafeHandles;

namespace Underlay.Tftp.Files;

/// <summary>
/// Readable content for one transfer. The server reads it block by block at explicit offsets, on the transfer's
/// own thread (so a read may block; page-cache reads take microseconds):
/// <list type="bullet">
/// <item>with windowsize 1 the offsets only ever increase (a retransmission re-sends the block already in the
/// transfer's buffer);</item>
/// <item>with windowsize &gt; 1 the server re-reads earlier blocks after a loss, so it asks for windows only
/// when <see cref="SupportsRandomAccess"/> is true.</item>
/// </list>
/// Derive from it for content that is neither in memory, a file nor a stream; slow or asynchronous work (rendering,
/// fetching) belongs in <see cref="ITftpFileSource.OpenAsync"/>, before the transfer starts.
/// </summary>
public abstract class TftpFile : IDisposable
{
    /// <summary>Total length in bytes if known; reported as <c>tsize</c> (RFC 2349) and caps every read.</summary>
    public abstract long? Length { get; }

    /// <summary>True when <see cref="Read"/> accepts any offset; false when reads must be sequential.</summary>
    public virtual bool SupportsRandomAccess => true;

    /// <summary>
    /// Reads into <paramref name="destination"/> starting at <paramref name="offset"/> and returns the byte count.
    /// Must fill <paramref name="destination"/> completely unless the content ends first: a short read marks the
    /// last block of the transfer.
    /// </summary>
    public abstract int Read(long offset, Span<byte> destination);

    /// <summary>Content held in memory (not copied).</summary>
    public static TftpFile FromMemory(ReadOnlyMemory<byte> content) => new MemoryTftpFile(content);

    /// <summary>
    /// A stream read from its current position. A seekable stream supports windows and reports its remaining
    /// length; a non-seekable one is served lock-step (windowsize declined) without <c>tsize</c>.
    /// </summary>
    public static TftpFile FromStream(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream is not readable.", nameof(stream));
        }

        return new StreamTftpFile(stream, leaveOpen);
    }

    /// <summary>An open file handle read with positional reads (pread); the length is taken now.</summary>
    public static TftpFile FromFileHandle(SafeFileHandle handle, bool ownsHandle = true)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return new FileHandleTftpFile(handle, ownsHandle);
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
