namespace Underlay.Images.Layers;

/// <summary>
/// Validates and normalises names found in layer tars. Layers come from registries we do not control, so a name
/// that would leave the root ("..", an absolute path) is refused outright instead of being "cleaned": OCI
/// image-spec layer.md describes changesets relative to the root, and nothing legitimate needs to escape it.
/// </summary>
internal static class TarPath
{
    /// <summary>Normalises an entry name: drops "./" and "/" runs and a trailing '/'. Returns "" for the root itself.</summary>
    public static string Normalize(string name, string origin)
    {
        if (name.Length > 0 && name[0] == '/')
        {
            throw new ImageBuildException($"{origin}: entry '{name}' has an absolute path");
        }

        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ImageBuildException($"{origin}: entry name contains a NUL byte");
        }

        var parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(parts.Length);
        foreach (var part in parts)
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                throw new ImageBuildException($"{origin}: entry '{name}' contains '..' and would escape the root");
            }

            kept.Add(part);
        }

        return string.Join('/', kept);
    }

    /// <summary>
    /// Checks a symlink target: absolute targets are resolved inside the container at run time and are fine, but a
    /// relative target that climbs above the root from the link's directory points outside the image.
    /// </summary>
    public static void CheckSymlinkTarget(string path, string target, string origin)
    {
        if (target.Length == 0)
        {
            throw new ImageBuildException($"{origin}: symlink '{path}' has an empty target");
        }

        if (target[0] == '/')
        {
            return;
        }

        var depth = path.Count(c => c == '/');
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                depth--;
                if (depth < 0)
                {
                    throw new ImageBuildException($"{origin}: symlink '{path}' -> '{target}' escapes the root");
                }
            }
            else if (part != ".")
            {
                depth++;
            }
        }
    }

    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    public static string BaseName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    public static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;
}
