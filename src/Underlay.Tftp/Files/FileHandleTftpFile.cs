using Microsoft.Win32.SafeHandles;

namespace Underlay.Tftp.Files;

/// <summary>
/// A real file read with positional reads (pread), so a window restart can go back without seeking. The length is
/// fixed when the file is opened, so a file that grows (or a device that never ends) cannot stretch a transfer
/// past the tsize that was announced.
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

    public override int Read(long offset, Span<byte> destination)
    {
        var total = 0;
        var wanted = (int)Math.Min(destination.Length, Math.Max(0, _length - offset));
        while (total < wanted)
        {
            var read = RandomAccess.Read(_handle, destination[total..wanted], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
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
