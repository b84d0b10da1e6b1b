using System.Formats.Tar;
using Underlay.Images.Assembly;
using Underlay.Images.Cpio;

namespace Underlay.Images.Output;

/// <summary>
/// Writes the initrd's cpio (everything except <c>boot/</c>, as LinuxKit's CopySplitTar does) and diverts
/// <c>boot/kernel</c> to the kernel file. Hard links become real newc hard links: one inode number, nlink = the
/// number of names, data on the last name (buffer-format.rst; LINUXKIT.md §3.3), not LinuxKit's symlinks.
/// </summary>
internal sealed class InitrdSink(CpioWriter cpio, Stream? kernel) : IFsSink
{
    public bool KernelWritten { get; private set; }

    private static bool InInitrd(string path) => !path.StartsWith("boot/", StringComparison.Ordinal);

    public void WriteNode(string path, FsNode node)
    {
        if (!InInitrd(path))
        {
            return;
        }

        var entry = new CpioEntry(path, Type(node.Kind))
        {
            Mode = node.Mode,
            Uid = node.Uid,
            Gid = node.Gid,
            ModificationTime = node.ModificationTime,
            LinkTarget = node.LinkTarget,
            DeviceMajor = node.DeviceMajor,
            DeviceMinor = node.DeviceMinor,
        };
        cpio.WriteEntry(entry, ReadOnlySpan<byte>.Empty);
    }

    public void WriteFile(IReadOnlyList<string> paths, FsNode attributes, long size, Stream data)
    {
        if (paths.Contains("boot/kernel") && kernel is not null)
        {
            data.CopyTo(kernel);
            KernelWritten = true;
            return;
        }

        var names = paths.Where(InInitrd).ToList();
        if (names.Count == 0)
        {
            return;
        }

        var inode = names.Count > 1 ? cpio.AllocateInode() : 0;
        for (var i = 0; i < names.Count; i++)
        {
            var last = i == names.Count - 1;
            var entry = new CpioEntry(names[i], CpioEntryType.RegularFile)
            {
                Mode = attributes.Mode,
                Uid = attributes.Uid,
                Gid = attributes.Gid,
                ModificationTime = attributes.ModificationTime,
                Size = last ? size : 0,
                Inode = inode,
                LinkCount = (uint)names.Count,
            };
            if (last)
            {
                cpio.WriteEntry(entry, data);
            }
            else
            {
                cpio.WriteEntry(entry, ReadOnlySpan<byte>.Empty);
            }
        }
    }

    public void Complete() => cpio.Finish();

    private static CpioEntryType Type(NodeKind kind) => kind switch
    {
        NodeKind.Directory => CpioEntryType.Directory,
        NodeKind.Symlink => CpioEntryType.Symlink,
        NodeKind.CharDevice => CpioEntryType.CharacterDevice,
        NodeKind.BlockDevice => CpioEntryType.BlockDevice,
        NodeKind.Fifo => CpioEntryType.Fifo,
        _ => CpioEntryType.RegularFile,
    };
}

/// <summary>
/// Writes the whole filesystem as a tar (the <c>tar</c> format) with System.Formats.Tar in GNU format: long
/// names go into ././@LongLink records, and unlike PAX headers (whose names embed a process id) the bytes
/// do not vary between runs. Hard links are tar hard links to the first name.
/// </summary>
internal sealed class TarSink(Stream output) : IFsSink, IDisposable
{
    private readonly TarWriter _writer = new(output, TarEntryFormat.Gnu, leaveOpen: true);

    public void WriteNode(string path, FsNode node)
    {
        var type = node.Kind switch
        {
            NodeKind.Directory => TarEntryType.Directory,
            NodeKind.Symlink => TarEntryType.SymbolicLink,
            NodeKind.CharDevice => TarEntryType.CharacterDevice,
            NodeKind.BlockDevice => TarEntryType.BlockDevice,
            _ => TarEntryType.Fifo,
        };
        var entry = Entry(type, node.Kind == NodeKind.Directory ? path + "/" : path, node);
        if (node.Kind == NodeKind.Symlink)
        {
            entry.LinkName = node.LinkTarget!;
        }

        if (node.Kind is NodeKind.CharDevice or NodeKind.BlockDevice)
        {
            entry.DeviceMajor = node.DeviceMajor;
            entry.DeviceMinor = node.DeviceMinor;
        }

        _writer.WriteEntry(entry);
    }

    public void WriteFile(IReadOnlyList<string> paths, FsNode attributes, long size, Stream data)
    {
        var entry = Entry(TarEntryType.RegularFile, paths[0], attributes);
        entry.DataStream = new SliceReadStream(data, size);
        _writer.WriteEntry(entry);
        for (var i = 1; i < paths.Count; i++)
        {
            var link = Entry(TarEntryType.HardLink, paths[i], attributes);
            link.LinkName = paths[0];
            _writer.WriteEntry(link);
        }
    }

    public void Complete()
    {
        _writer.Dispose();
        output.Flush();
    }

    public void Dispose() => _writer.Dispose();

    private static GnuTarEntry Entry(TarEntryType type, string name, FsNode node) => new(type, name)
    {
        Mode = (UnixFileMode)(node.Mode & 0xFFF),
        Uid = node.Uid,
        Gid = node.Gid,
        ModificationTime = DateTimeOffset.FromUnixTimeSeconds(Math.Max(0, node.ModificationTime)),
        AccessTime = DateTimeOffset.FromUnixTimeSeconds(Math.Max(0, node.ModificationTime)),
        ChangeTime = DateTimeOffset.FromUnixTimeSeconds(Math.Max(0, node.ModificationTime)),
    };
}

/// <summary>Exposes exactly <c>length</c> bytes of a stream with a known Length, so TarWriter can size the entry up front.</summary>
internal sealed class SliceReadStream(Stream inner, long length) : Stream
{
    private readonly long _length = length;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var remaining = _length - _position;
        if (remaining <= 0)
        {
            return 0;
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, remaining)]);
        if (n == 0)
        {
            throw new EndOfStreamException("file data ended early");
        }

        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
