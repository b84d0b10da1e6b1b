using System.Diagnostics.CodeAnalysis;
using Underlay.Tftp.Files;

namespace Underlay.Boot.Files;

/// <summary>
/// The boot file root (<c>&lt;data dir&gt;/tftpboot</c>, DRP's layout: <c>isos/</c>, <c>files/</c>, exploded install trees,
/// operator files). Resolves request paths to files inside it with realpath semantics: every symbolic link is
/// followed here and the result must stay under the root's own real path, so neither <c>..</c> nor a link can reach
/// outside it (the same rules as tftpd-hpa's <c>-s</c> and the TFTP library's directory source).
/// </summary>
public sealed class FileRoot
{
    private readonly ConfinedRoot _root;

    public FileRoot(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Path = System.IO.Path.GetFullPath(directory).TrimEnd('/');
        if (Path.Length == 0)
        {
            Path = "/";
        }

        Directory.CreateDirectory(Path);
        _root = new ConfinedRoot(Path);
    }

    /// <summary>The root as configured (absolute).</summary>
    public string Path { get; }

    public string IsoDirectory => System.IO.Path.Combine(Path, "isos");

    public string FilesDirectory => System.IO.Path.Combine(Path, "files");

    /// <summary>
    /// Turns a requested name into a root-relative path: backslashes become slashes, leading slashes and empty or
    /// <c>.</c> segments go, and any <c>..</c> segment refuses the request (even one that would stay inside).
    /// </summary>
    public static bool TryNormalize(string requested, [NotNullWhen(true)] out string? relative, [NotNullWhen(false)] out string? error)
    {
        relative = null;
        if (requested.Contains('\0', StringComparison.Ordinal))
        {
            error = "File name contains NUL";
            return false;
        }

        var kept = new List<string>();
        foreach (var segment in requested.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                error = "Path escapes the root";
                return false;
            }

            kept.Add(segment);
        }

        relative = string.Join('/', kept);
        error = null;
        return true;
    }

    /// <summary>
    /// Finds a regular file for a normalized root-relative path. Zero-length entries are reported with length 0 and
    /// must be served as empty content without opening them: FIFOs and devices also report length 0, and opening a
    /// FIFO blocks until a writer appears.
    /// </summary>
    public FileLookup Find(string relative)
    {
        if (relative.Length == 0)
        {
            return FileLookup.NotFound;
        }

        var resolved = _root.Resolve(relative);
        if (resolved is null)
        {
            return FileLookup.Refused("Too many levels of symbolic links");
        }

        if (!_root.Contains(resolved))
        {
            return FileLookup.Refused("Path leaves the file root");
        }

        var info = new FileInfo(resolved);
        return info.Exists ? new FileLookup(resolved, info.Length, info.LastWriteTimeUtc, null) : FileLookup.NotFound;
    }

    /// <summary>The absolute path for a root-relative path that must stay inside (uploads, explodes); null if it would not.</summary>
    public string? Combine(string relative)
    {
        if (!TryNormalize(relative, out var normalized, out _))
        {
            return null;
        }

        var full = normalized.Length == 0 ? Path : System.IO.Path.Combine(Path, normalized);
        var resolved = _root.Resolve(normalized);
        return resolved is not null && _root.Contains(resolved) ? full : null;
    }
}

/// <summary>A file found under the root, or why not.</summary>
public readonly record struct FileLookup(string? FullPath, long Length, DateTime LastWriteUtc, string? Refusal)
{
    public static FileLookup NotFound => default;

    public bool Exists => FullPath is not null;

    public static FileLookup Refused(string reason) => new(null, 0, default, reason);
}
