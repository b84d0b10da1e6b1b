using System.Buffers;
using System.Text;

namespace Underlay.Images.Cpio;

/// <summary>File types a newc entry can carry (the S_IFMT bits of <c>c_mode</c>).</summary>
public enum CpioEntryType
{
    RegularFile,
    Directory,
    Symlink,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// <summary>
/// One entry of a newc archive. <see cref="Mode"/> holds only the permission bits (07777); the type bits come from
/// <see cref="Type"/>. <see cref="Size"/> is the data length for regular files; symlinks carry their target as data.
/// </summary>
public sealed record CpioEntry(string Path, CpioEntryType Type)
{
    public int Mode { get; init; } = 0x1A4; // 0644
    public int Uid { get; init; }
    public int Gid { get; init; }
    public long ModificationTime { get; init; } = CpioWriter.DefaultModificationTime;
    public long Size { get; init; }
    public string? LinkTarget { get; init; }
    public int DeviceMajor { get; init; }
    public int DeviceMinor { get; init; }

    /// <summary>Hard links: entries with the same non-zero <see cref="Inode"/> and <see cref="LinkCount"/> &gt; 1 are one file.</summary>
    public uint Inode { get; init; }

    public uint LinkCount { get; init; }
}

/// <summary>
/// Streaming writer for the SVR4 "newc" cpio format as the kernel reads it
/// (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte ASCII header of magic "070701" and
/// 13 eight-digit hex fields, the NUL-terminated name, padding to 4 bytes, the data, padding to 4 bytes, and a
/// final "TRAILER!!!" entry. Nothing is buffered beyond one header: data is copied straight to the output.
/// </summary>
public sealed class CpioWriter : IDisposable
{
    /// <summary>The fixed mtime LinuxKit gives generated entries (2017-04-18 16:30 UTC); we use it for reproducible output.</summary>
    public const long DefaultModificationTime = 1492533000;

    private const int HeaderLength = 110;
    private const string Trailer = "TRAILER!!!";

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[HeaderLength + 4096 + 4];
    private uint _nextInode = 1;
    private long _position;
    private long _pendingData;
    private bool _finished;

    public CpioWriter(Stream output, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Bytes written so far (the archive's length once <see cref="Finish"/> has run).</summary>
    public long Position => _position;

    /// <summary>Allocates an inode number unique within this archive (the kernel keys hard links on it).</summary>
    public uint AllocateInode() => _nextInode++;

    public void WriteDirectory(string path, int mode = 0x1ED, int uid = 0, int gid = 0, long modificationTime = DefaultModificationTime) =>
        WriteEntry(new CpioEntry(path, CpioEntryType.Directory) { Mode = mode, Uid = uid, Gid = gid, ModificationTime = modificationTime }, []);

    public void WriteFile(string path, ReadOnlySpan<byte> contents, int mode = 0x1A4, int uid = 0, int gid = 0, long modificationTime = DefaultModificationTime) =>
        WriteEntry(new CpioEntry(path, CpioEntryType.RegularFile) { Mode = mode, Uid = uid, Gid = gid, ModificationTime = modificationTime, Size = contents.Length }, contents);

    public void WriteSymlink(string path, string target, int uid = 0, int gid = 0, long modificationTime = DefaultModificationTime) =>
        WriteEntry(new CpioEntry(path, CpioEntryType.Symlink) { Mode = 0x1FF, Uid = uid, Gid = gid, ModificationTime = modificationTime, LinkTarget = target }, []);

    /// <summary>Writes a complete entry whose data (regular files only) is in memory.</summary>
    public void WriteEntry(CpioEntry entry, ReadOnlySpan<byte> contents)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Type == CpioEntryType.RegularFile && contents.Length != entry.Size)
        {
            throw new ArgumentException($"entry {entry.Path} declares {entry.Size} bytes but {contents.Length} were given", nameof(contents));
        }

        BeginEntry(entry);
        if (entry.Type == CpioEntryType.RegularFile)
        {
            WriteData(contents);
        }

        EndEntry();
    }

    /// <summary>Writes a complete entry, copying exactly <see cref="CpioEntry.Size"/> bytes from <paramref name="contents"/>.</summary>
    public void WriteEntry(CpioEntry entry, Stream contents)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(contents);
        BeginEntry(entry);
        if (entry.Type == CpioEntryType.RegularFile && entry.Size > 0)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(65536);
            try
            {
                while (_pendingData > 0)
                {
                    var n = contents.Read(buffer, 0, (int)Math.Min(buffer.Length, _pendingData));
                    if (n == 0)
                    {
                        throw new EndOfStreamException($"data for {entry.Path} ended {_pendingData} bytes early");
                    }

                    WriteData(buffer.AsSpan(0, n));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        EndEntry();
    }

    /// <summary>Starts an entry; for a regular file the caller then writes exactly Size bytes with <see cref="WriteData"/>.</summary>
    public void BeginEntry(CpioEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_finished)
        {
            throw new InvalidOperationException("the archive is already finished");
        }

        if (_pendingData != 0)
        {
            throw new InvalidOperationException("the previous entry's data is incomplete");
        }

        var name = entry.Path.TrimStart('/');
        if (name.Length == 0)
        {
            throw new ArgumentException("entry path is empty", nameof(entry));
        }

        byte[]? linkBytes = null;
        long fileSize = 0;
        switch (entry.Type)
        {
            case CpioEntryType.RegularFile:
                fileSize = entry.Size;
                break;
            case CpioEntryType.Symlink:
                linkBytes = Encoding.UTF8.GetBytes(entry.LinkTarget ?? throw new ArgumentException($"symlink {name} has no target", nameof(entry)));
                fileSize = linkBytes.Length;
                break;
        }

        if (fileSize > uint.MaxValue)
        {
            // newc's c_filesize is 32 bits; the kernel cannot take larger files from an initramfs either.
            throw new ImageBuildException($"{name} is {fileSize} bytes, too large for a newc cpio entry (4 GiB limit)");
        }

        var inode = entry.Inode != 0 ? entry.Inode : AllocateInode();
        var nlink = entry.LinkCount != 0 ? entry.LinkCount : entry.Type == CpioEntryType.Directory ? 2u : 1u;
        WriteHeader(name, TypeBits(entry.Type) | (uint)(entry.Mode & 0xFFF), inode, (uint)entry.Uid, (uint)entry.Gid, nlink,
            ClampTime(entry.ModificationTime), (uint)fileSize, (uint)entry.DeviceMajor, (uint)entry.DeviceMinor);
        if (linkBytes is not null)
        {
            Write(linkBytes);
            Pad();
        }
        else
        {
            _pendingData = fileSize;
            if (fileSize == 0)
            {
                Pad();
            }
        }
    }

    public void WriteData(ReadOnlySpan<byte> data)
    {
        if (data.Length > _pendingData)
        {
            throw new InvalidOperationException("more data than the entry declared");
        }

        Write(data);
        _pendingData -= data.Length;
        if (_pendingData == 0)
        {
            Pad();
        }
    }

    public void EndEntry()
    {
        if (_pendingData != 0)
        {
            throw new InvalidOperationException($"entry is missing {_pendingData} bytes of data");
        }
    }

    /// <summary>
    /// Writes the TRAILER!!! entry and pads the archive with NULs to <paramref name="blockSize"/> (512 like cpio(1);
    /// at least 4, since the kernel requires every uncompressed member of an initramfs to start 4-byte aligned).
    /// </summary>
    public void Finish(int blockSize = 512)
    {
        if (_finished)
        {
            return;
        }

        EndEntry();
        WriteHeader(Trailer, 0, 0, 0, 0, 1, 0, 0, 0, 0);
        _finished = true;
        var remainder = (int)(_position % blockSize);
        if (remainder != 0)
        {
            WriteZeros(blockSize - remainder);
        }

        _output.Flush();
    }

    private static uint TypeBits(CpioEntryType type) => type switch
    {
        CpioEntryType.RegularFile => 0x8000, // S_IFREG 0100000
        CpioEntryType.Directory => 0x4000, // S_IFDIR 0040000
        CpioEntryType.Symlink => 0xA000, // S_IFLNK 0120000
        CpioEntryType.CharacterDevice => 0x2000, // S_IFCHR 0020000
        CpioEntryType.BlockDevice => 0x6000, // S_IFBLK 0060000
        CpioEntryType.Fifo => 0x1000, // S_IFIFO 0010000
        CpioEntryType.Socket => 0xC000, // S_IFSOCK 0140000
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static uint ClampTime(long seconds) => seconds <= 0 ? 0 : seconds >= uint.MaxValue ? uint.MaxValue : (uint)seconds;

    private void WriteHeader(string name, uint mode, uint inode, uint uid, uint gid, uint nlink, uint mtime, uint fileSize, uint rdevMajor, uint rdevMinor)
    {
        var nameByteCount = Encoding.UTF8.GetByteCount(name);
        var total = HeaderLength + nameByteCount + 1;
        var buffer = total + 3 <= _header.Length ? _header : new byte[total + 3];
        var span = buffer.AsSpan();
        "070701"u8.CopyTo(span);
        var fields = span[6..];
        WriteHex(fields, 0, inode);
        WriteHex(fields, 1, mode);
        WriteHex(fields, 2, uid);
        WriteHex(fields, 3, gid);
        WriteHex(fields, 4, nlink);
        WriteHex(fields, 5, mtime);
        WriteHex(fields, 6, fileSize);
        WriteHex(fields, 7, 0); // c_maj, c_min: the device holding the file; constant so hard links key on c_ino alone
        WriteHex(fields, 8, 0);
        WriteHex(fields, 9, rdevMajor);
        WriteHex(fields, 10, rdevMinor);
        WriteHex(fields, 11, (uint)(nameByteCount + 1)); // c_namesize counts the terminating NUL
        WriteHex(fields, 12, 0); // c_chksum is 0 for "070701"
        Encoding.UTF8.GetBytes(name, span[HeaderLength..]);
        span[HeaderLength + nameByteCount] = 0;
        var padded = (total + 3) & ~3;
        span[total..padded].Clear();
        Write(span[..padded]);
    }

    private static void WriteHex(Span<byte> fields, int index, uint value)
    {
        var field = fields.Slice(index * 8, 8);
        for (var i = 7; i >= 0; i--)
        {
            var nibble = (int)(value & 0xF);
            field[i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            value >>= 4;
        }
    }

    private void Pad()
    {
        var remainder = (int)(_position & 3);
        if (remainder != 0)
        {
            WriteZeros(4 - remainder);
        }
    }

    private void WriteZeros(int count)
    {
        Span<byte> zeros = stackalloc byte[512];
        while (count > 0)
        {
            var n = Math.Min(count, zeros.Length);
            Write(zeros[..n]);
            count -= n;
        }
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        _output.Write(data);
        _position += data.Length;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _output.Dispose();
        }
    }
}
