using Microsoft.Win32.SafeHandles;

namespace Underlay.Tftp.Files;

/// <summary>
/// A real file read with positional reads. The reads are synchronous on purpose: a block comes from the page
/// cache in microseconds, while "async" file I/O on Unix is the same pread moved to another thread-pool thread,
/// one extra hop per block. The length is fixed when the file is opened, so a file that grows (or a device that
/// never ends) cannot stretch a transfer past the tsize that was announced.
/// </summary>
internal sealed class FileHandleTftpFile : TftpFile
{
    private readonly SafeFileHandle _handle;
    private readonly bool _ownsHandle;
    private readonly long _length;

    public FileHandleTftpFile(SafeFileHandle handle, bool ownsHandle)
    {
        _handle = handle;
        _ownsHandle = ownsHandle;
        _length = RandomAccess.GetLength(handle);
    }

    public override long? Length => _length;

    public override ValueTask<int> ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var total = 0;
        var wanted = (int)Math.Min(destination.Length, Math.Max(0, _length - offset));
        while (total < wanted)
        {
            var read = RandomAccess.Read(_handle, destination.Span[total..wanted], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return new ValueTask<int>(total);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsHandle)
        {
            _handle.Dispose();
        }

        base.Dispose(disposing);
    }
}
