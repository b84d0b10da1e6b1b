namespace Underlay.Images.Cpio;

/// <summary>
/// A file for <see cref="OverlayInitrd"/>: an absolute or relative path, its bytes and permission bits (C# has no octal
/// literals: 0644 is <c>0x1A4</c> or <c>Convert.ToInt32("644", 8)</c>).
/// </summary>
public sealed record OverlayFile(string Path, ReadOnlyMemory<byte> Contents, int Mode = 0x1A4 /* 0644 */)
{
    public int Uid { get; init; }
    public int Gid { get; init; }
}

/// <summary>
/// Builds a small uncompressed newc archive to be loaded after an image's initrd (a per-machine overlay:
/// /etc/hostname, userdata). The kernel unpacks initramfs members in order and a later path replaces an earlier
/// one (buffer-format.rst; LINUXKIT.md §3.3), so the overlay wins over the image. Parent directories are created
/// with mode 0755 (existing directories take these attributes), entries are sorted and timestamps fixed, so the
/// same input always gives the same bytes. Files under /run, /var and /tmp would be hidden by LinuxKit's tmpfs mounts.
/// </summary>
public static class OverlayInitrd
{
    public static byte[] Build(IEnumerable<OverlayFile> files)
    {
        using var buffer = new MemoryStream();
        Write(buffer, files);
        return buffer.ToArray();
    }

    public static void Write(Stream output, IEnumerable<OverlayFile> files)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(files);
        var byPath = new SortedDictionary<string, OverlayFile>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            byPath[Normalize(file.Path)] = file;
        }

        var directories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in byPath.Keys)
        {
            for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = path.IndexOf('/', slash + 1))
            {
                directories.Add(path[..slash]);
            }
        }

        using var writer = new CpioWriter(output, leaveOpen: true);
        foreach (var directory in directories)
        {
            if (byPath.ContainsKey(directory))
            {
                throw new ArgumentException($"overlay path {directory} is both a file and a directory", nameof(files));
            }

            writer.WriteDirectory(directory);
        }

        foreach (var (path, file) in byPath)
        {
            writer.WriteFile(path, file.Contents.Span, file.Mode & 0xFFF, file.Uid, file.Gid);
        }

        // 4-byte alignment is all the kernel needs between members; keep the overlay small.
        writer.Finish(blockSize: 4);
    }

    private static string Normalize(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
        {
            throw new ArgumentException($"invalid overlay path '{path}'", nameof(path));
        }

        return string.Join('/', parts);
    }
}
