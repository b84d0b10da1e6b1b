namespace Underlay.Tftp.Files;

/// <summary>
/// A directory that requests must stay inside, with realpath semantics: every component of a path is resolved here,
/// following every symbolic link (an absolute target restarts at "/", ".." climbs from the resolved directory, at most
/// 40 links as Linux allows), and the symlink-free result must lie under the root's own real path. Shared by the TFTP
/// directory source and the boot file root so both refuse exactly the same escapes.
/// </summary>
public sealed class ConfinedRoot
{
    /// <summary>Linux's limit on symbolic links followed during one path resolution (MAXSYMLINKS, ELOOP).</summary>
    private const int MaxSymbolicLinks = 40;

    /// <param name="directory">An absolute directory; its own links are resolved once, here.</param>
    public ConfinedRoot(string directory) =>
        RealPath = Resolve("/", directory) ?? throw new IOException($"'{directory}' has a symbolic link loop");

    /// <summary>The root with every link resolved.</summary>
    public string RealPath { get; }

    /// <summary>The symlink-free absolute path of <paramref name="relative"/> under the root, or null after too many links.</summary>
    public string? Resolve(string relative) => Resolve(RealPath, relative);

    /// <summary>Whether a path from <see cref="Resolve(string)"/> is the root or lies under it.</summary>
    public bool Contains(string resolved) =>
        RealPath == "/" ||
        resolved == RealPath ||
        (resolved.StartsWith(RealPath, StringComparison.Ordinal) && resolved[RealPath.Length] == '/');

    /// <summary>
    /// Resolves <paramref name="relative"/> against the already-resolved directory <paramref name="start"/>; missing
    /// components are kept as they are. Null after too many links.
    /// </summary>
    private static string? Resolve(string start, string relative)
    {
        var pending = new Stack<string>();
        PushSegments(pending, relative);
        var current = start;
        var links = 0;
        while (pending.Count > 0)
        {
            var segment = pending.Pop();
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                var slash = current.LastIndexOf('/');
                current = slash <= 0 ? "/" : current[..slash];
                continue;
            }

            var next = current == "/" ? "/" + segment : current + "/" + segment;
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxSymbolicLinks)
            {
                return null;
            }

            if (target.StartsWith('/'))
            {
                current = "/";
            }

            PushSegments(pending, target);
        }

        return current;
    }

    private static void PushSegments(Stack<string> pending, string path)
    {
        var segments = path.Split('/');
        for (var i = segments.Length - 1; i >= 0; i--)
        {
            pending.Push(segments[i]);
        }
    }
}
