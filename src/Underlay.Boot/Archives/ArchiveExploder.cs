using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace Underlay.Boot.Archives;

/// <summary>Why an archive could not be exploded.</summary>
public sealed class ArchiveException : Exception
{
    public ArchiveException()
    {
    }

    public ArchiveException(string message)
        : base(message)
    {
    }

    public ArchiveException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Unpacks install media into a directory of the file root. Tar and gzip-compressed tar are read with
/// <see cref="System.Formats.Tar"/>; anything else (ISO 9660 with Rock Ridge/Joliet, zip, xz...) goes to
/// <c>bsdtar</c> from Debian's libarchive-tools, which is what DRP runs too. Every explode writes a staging
/// directory next to the destination and swaps it in with renames, so a reader never sees half a tree and a failed
/// explode leaves the old tree alone.
/// </summary>
public static class ArchiveExploder
{
    /// <summary>Bounds hostile archives: entries and bytes written per explode.</summary>
    private const int MaxEntries = 2_000_000;

    private const long MaxBytes = 256L * 1024 * 1024 * 1024;

    /// <summary>Explodes <paramref name="archive"/> so that <paramref name="destination"/> holds exactly its contents.</summary>
    public static async Task ExplodeAsync(string archive, string destination, CancellationToken cancellationToken)
    {
        destination = Path.GetFullPath(destination).TrimEnd('/');
        var parent = Path.GetDirectoryName(destination)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(destination)}.explode-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            if (await IsTarAsync(archive, cancellationToken).ConfigureAwait(false))
            {
                await ExtractTarAsync(archive, staging, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await RunBsdtarAsync(archive, staging, cancellationToken).ConfigureAwait(false);
            }

            MakeTreeRemovable(staging);
            SwapIn(staging, destination);
        }
        catch
        {
            TryDelete(staging);
            throw;
        }
    }

    /// <summary>Replaces <paramref name="destination"/> with <paramref name="staging"/> (two renames; the old tree is deleted after).</summary>
    private static void SwapIn(string staging, string destination)
    {
        string? old = null;
        if (Directory.Exists(destination) || File.Exists(destination))
        {
            old = Path.Combine(Path.GetDirectoryName(destination)!, $".{Path.GetFileName(destination)}.old-{Guid.NewGuid():N}");
            Directory.Move(destination, old);
        }

        Directory.Move(staging, destination);
        if (old is not null)
        {
            TryDelete(old);
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                MakeTreeRemovable(path);
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>ISO trees come out read-only (dirs 0555); the owner must be able to replace and delete them later.</summary>
    private static void MakeTreeRemovable(string root)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var pending = new Stack<string>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var directory = pending.Pop();
            var info = new DirectoryInfo(directory);
            if (info.LinkTarget is not null)
            {
                continue;
            }

            info.UnixFileMode |= UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            foreach (var child in info.EnumerateDirectories())
            {
                pending.Push(child.FullName);
            }
        }
    }

    /// <summary>A POSIX/GNU tar has "ustar" at offset 257 of its first header; gzip starts with 1f 8b.</summary>
    private static async Task<bool> IsTarAsync(string archive, CancellationToken cancellationToken)
    {
        var head = new byte[512];
        await using var stream = File.OpenRead(archive);
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        {
            return true;
        }

        return read >= 262 && Encoding.ASCII.GetString(head, 257, 5) == "ustar";
    }

    private static async Task ExtractTarAsync(string archive, string staging, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(archive);
        var head = new byte[2];
        await file.ReadExactlyAsync(head, cancellationToken).ConfigureAwait(false);
        file.Position = 0;
        Stream input = head[0] == 0x1f && head[1] == 0x8b ? new GZipStream(file, CompressionMode.Decompress) : file;
        await using (input.ConfigureAwait(false))
        {
            await using var reader = new TarReader(input);
            var links = new HashSet<string>(StringComparer.Ordinal);
            var entries = 0;
            long bytes = 0;
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (++entries > MaxEntries)
                {
                    throw new ArchiveException($"more than {MaxEntries} entries");
                }

                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }

                var relative = EntryPath(entry.Name);
                if (relative.Length == 0)
                {
                    continue;
                }

                // A link extracted earlier must never be written through (a "dir -> /etc" followed by "dir/passwd").
                if (links.Any(link => relative.StartsWith(link + "/", StringComparison.Ordinal) || relative == link))
                {
                    throw new ArchiveException($"entry '{entry.Name}' would be written through a symbolic link");
                }

                var target = Path.Combine(staging, relative);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        bytes += entry.Length;
                        if (bytes > MaxBytes)
                        {
                            throw new ArchiveException($"more than {MaxBytes} bytes");
                        }

                        var output = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                        await using (output.ConfigureAwait(false))
                        {
                            if (entry.DataStream is { } data)
                            {
                                await data.CopyToAsync(output, 1 << 16, cancellationToken).ConfigureAwait(false);
                            }
                        }

                        if (!OperatingSystem.IsWindows())
                        {
                            File.SetUnixFileMode(target, (entry.Mode & (UnixFileMode)0x1FF) | UnixFileMode.UserRead | UnixFileMode.UserWrite);
                        }

                        break;
                    case TarEntryType.SymbolicLink:
                        if (!LinkStaysInside(relative, entry.LinkName))
                        {
                            // An absolute or escaping link would serve files from outside the tree; leave it out.
                            break;
                        }

                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        File.CreateSymbolicLink(target, entry.LinkName);
                        links.Add(relative);
                        break;
                    case TarEntryType.HardLink:
                        var source = Path.Combine(staging, EntryPath(entry.LinkName));
                        if (EntryPath(entry.LinkName).Length > 0 && File.Exists(source) && new FileInfo(source).LinkTarget is null)
                        {
                            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                            File.Copy(source, target, overwrite: true);
                        }

                        break;
                    default:
                        // Devices and FIFOs have no place in a boot file tree.
                        break;
                }
            }
        }
    }

    /// <summary>An entry name as a staging-relative path: leading slashes dropped (as GNU tar does); <c>..</c> refused.</summary>
    private static string EntryPath(string name)
    {
        var kept = new List<string>();
        foreach (var segment in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                throw new ArchiveException($"entry '{name}' climbs out of the archive with '..'");
            }

            kept.Add(segment);
        }

        return string.Join('/', kept);
    }

    private static bool LinkStaysInside(string entry, string link)
    {
        if (link.Length == 0 || link.StartsWith('/'))
        {
            return false;
        }

        var depth = entry.Count(c => c == '/');
        foreach (var segment in link.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            depth += segment switch
            {
                ".." => -1,
                "." => 0,
                _ => 1,
            };
            if (depth < 0)
            {
                return false;
            }
        }

        return true;
    }

    private static async Task RunBsdtarAsync(string archive, string staging, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("bsdtar")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // bsdtar refuses absolute paths, ".." and writing through links unless told otherwise (-P): the defaults are what we want.
        foreach (var argument in new[] { "-x", "--no-same-owner", "-f", archive, "-C", staging })
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ArchiveException("bsdtar did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ArchiveException("bsdtar is not installed (Debian package libarchive-tools); ISOs cannot be exploded", e);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            await stdout.ConfigureAwait(false);
            var errors = (await stderr.ConfigureAwait(false)).Trim();
            if (process.ExitCode != 0)
            {
                throw new ArchiveException($"bsdtar failed ({process.ExitCode}): {(errors.Length > 500 ? errors[..500] : errors)}");
            }
        }
    }
}
