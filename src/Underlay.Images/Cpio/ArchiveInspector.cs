using System.Formats.Tar;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Underlay.Images.Cpio;

/// <summary>One entry of an archive, as <c>cpio -tv</c> or <c>tar -tv</c> would list it.</summary>
public sealed record ArchiveEntry(string Path, CpioEntryType Type, int Mode, int Uid, int Gid, long Size, string? LinkTarget)
{
    /// <summary>Which member of a concatenated initramfs the entry came from (0 = the first).</summary>
    public int Member { get; init; }

    /// <summary>"drwxr-xr-x"-style type and permission string.</summary>
    public string ModeString
    {
        get
        {
            var type = Type switch
            {
                CpioEntryType.Directory => 'd',
                CpioEntryType.Symlink => 'l',
                CpioEntryType.CharacterDevice => 'c',
                CpioEntryType.BlockDevice => 'b',
                CpioEntryType.Fifo => 'p',
                CpioEntryType.Socket => 's',
                _ => '-',
            };
            var text = new StringBuilder().Append(type);
            for (var shift = 6; shift >= 0; shift -= 3)
            {
                var bits = (Mode >> shift) & 7;
                text.Append((bits & 4) != 0 ? 'r' : '-').Append((bits & 2) != 0 ? 'w' : '-').Append((bits & 1) != 0 ? 'x' : '-');
            }

            return text.ToString();
        }
    }
}

/// <summary>
/// Lists the entries of an output: a newc cpio, a gzip'd cpio, an initramfs made of several members (a raw
/// microcode cpio followed by a gzip'd one, NUL padding between; buffer-format.rst), or a tar.
/// </summary>
public static class ArchiveInspector
{
    public static IEnumerable<ArchiveEntry> Read(string path)
    {
        using var file = File.OpenRead(path);
        foreach (var entry in Read(file))
        {
            yield return entry;
        }
    }

    public static IEnumerable<ArchiveEntry> Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var input = new PushbackStream(stream);
        var member = 0;
        while (true)
        {
            var magic = input.Peek(6);
            var skipped = 0;
            while (magic.Length > 0 && magic[0] == 0)
            {
                input.ReadByte();
                skipped++;
                magic = input.Peek(6);
            }

            if (magic.Length == 0)
            {
                yield break;
            }

            if (magic.Length >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            {
                // One gzip member holding a cpio (or a tar). GZipStream would also read the members after it,
                // which is what the kernel does too: a concatenated initramfs lists as one sequence.
                using var gzip = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
                foreach (var entry in Read(gzip))
                {
                    yield return entry with { Member = member + entry.Member };
                }

                yield break;
            }

            if (magic.Length == 6 && (Encoding.ASCII.GetString(magic) is "070701" or "070702"))
            {
                foreach (var entry in ReadCpio(input))
                {
                    yield return entry with { Member = member };
                }

                member++;
                continue;
            }

            if (skipped == 0 && LooksLikeTar(input))
            {
                foreach (var entry in ReadTar(input))
                {
                    yield return entry;
                }

                yield break;
            }

            throw new InvalidDataException("not a cpio (newc), gzip or tar archive");
        }
    }

    private static bool LooksLikeTar(PushbackStream input)
    {
        var header = input.Peek(512);
        return header.Length == 512 && Encoding.ASCII.GetString(header, 257, 5) == "ustar";
    }

    private static IEnumerable<ArchiveEntry> ReadTar(Stream input)
    {
        using var reader = new TarReader(input, leaveOpen: true);
        while (reader.GetNextEntry(copyData: false) is { } entry)
        {
            var type = entry.EntryType switch
            {
                TarEntryType.Directory => CpioEntryType.Directory,
                TarEntryType.SymbolicLink => CpioEntryType.Symlink,
                TarEntryType.CharacterDevice => CpioEntryType.CharacterDevice,
                TarEntryType.BlockDevice => CpioEntryType.BlockDevice,
                TarEntryType.Fifo => CpioEntryType.Fifo,
                _ => CpioEntryType.RegularFile,
            };
            var link = entry.EntryType is TarEntryType.SymbolicLink or TarEntryType.HardLink ? entry.LinkName : null;
            yield return new ArchiveEntry(entry.Name.TrimEnd('/'), type, (int)entry.Mode & 0xFFF, entry.Uid, entry.Gid, entry.Length, link);
        }
    }

    private static IEnumerable<ArchiveEntry> ReadCpio(PushbackStream input)
    {
        var header = new byte[110];
        long position = 0;
        while (true)
        {
            input.ReadExactly(header);
            position += header.Length;
            var text = Encoding.ASCII.GetString(header);
            if (text[..6] is not ("070701" or "070702"))
            {
                throw new InvalidDataException("bad cpio header magic");
            }

            uint Field(int index) => uint.Parse(text.AsSpan(6 + (index * 8), 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var mode = Field(1);
            var fileSize = Field(6);
            var nameSize = (int)Field(11);
            var nameBytes = new byte[nameSize];
            input.ReadExactly(nameBytes);
            position += nameSize;
            Skip(input, ref position);
            var name = Encoding.UTF8.GetString(nameBytes, 0, Math.Max(0, nameSize - 1));
            if (name == "TRAILER!!!")
            {
                yield break;
            }

            string? link = null;
            var type = (mode & 0xF000) switch
            {
                0x4000 => CpioEntryType.Directory,
                0xA000 => CpioEntryType.Symlink,
                0x2000 => CpioEntryType.CharacterDevice,
                0x6000 => CpioEntryType.BlockDevice,
                0x1000 => CpioEntryType.Fifo,
                0xC000 => CpioEntryType.Socket,
                _ => CpioEntryType.RegularFile,
            };
            if (type == CpioEntryType.Symlink)
            {
                var target = new byte[fileSize];
                input.ReadExactly(target);
                link = Encoding.UTF8.GetString(target);
            }
            else
            {
                var remaining = (long)fileSize;
                var buffer = new byte[65536];
                while (remaining > 0)
                {
                    var n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                    if (n == 0)
                    {
                        throw new EndOfStreamException("cpio data ends early");
                    }

                    remaining -= n;
                }
            }

            position += fileSize;
            Skip(input, ref position);
            yield return new ArchiveEntry(name, type, (int)(mode & 0xFFF), (int)Field(2), (int)Field(3), type == CpioEntryType.RegularFile ? fileSize : 0, link);
        }
    }

    private static void Skip(Stream input, ref long position)
    {
        while ((position & 3) != 0)
        {
            input.ReadByte();
            position++;
        }
    }

    /// <summary>A stream that can look ahead a few bytes without consuming them.</summary>
    private sealed class PushbackStream(Stream inner) : Stream
    {
        private byte[] _pending = [];
        private int _offset;

        public byte[] Peek(int count)
        {
            var available = _pending.Length - _offset;
            if (available < count)
            {
                var more = new byte[count - available];
                var read = 0;
                while (read < more.Length)
                {
                    var n = inner.Read(more, read, more.Length - read);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }

                _pending = [.. _pending.AsSpan(_offset), .. more.AsSpan(0, read)];
                _offset = 0;
            }

            return _pending.AsSpan(_offset, Math.Min(count, _pending.Length - _offset)).ToArray();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_offset < _pending.Length)
            {
                var n = Math.Min(buffer.Length, _pending.Length - _offset);
                _pending.AsSpan(_offset, n).CopyTo(buffer);
                _offset += n;
                return n;
            }

            return inner.Read(buffer);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
