using Underlay.Core.Models;

namespace Underlay.Boot.Rendering;

/// <summary>The boot files of one architecture of a boot environment, with DRP's fallbacks applied.</summary>
public sealed record ArchBootFiles(string Arch, string Kernel, IReadOnlyList<string> Initrds, string BootParams, string IsoFile, string IsoSha256, string IsoUrl);

/// <summary>
/// Where a boot environment's files live and which apply to an architecture (DRP <c>models/bootenv.go</c>
/// <c>KernelFor</c>/<c>InitrdsFor</c>/<c>IsoFor</c>..., and the install-tree layout of DRP-REFERENCE §2.3):
/// an ISO explodes to <c>/&lt;OS.Name&gt;[/&lt;arch&gt; unless amd64][/install if the name ends in -install]/</c>.
/// An entry of <c>OS.SupportedArchitectures</c> wins field by field; empty fields fall back to the top-level ones,
/// and the top-level ISO fields describe amd64.
/// </summary>
public static class BootEnvLayout
{
    /// <summary>The directory (root-relative, leading slash) the install tree of <paramref name="arch"/> lives in.</summary>
    public static string InstallRoot(BootEnv env, string? arch)
    {
        var root = env.OS?.Name is { Length: > 0 } osName ? osName : env.Name.OrEmpty();
        var canonical = Architectures.Normalize(arch);
        if (canonical != Architectures.Amd64)
        {
            root += "/" + canonical;
        }

        if (env.Name.OrEmpty().EndsWith("-install", StringComparison.Ordinal))
        {
            root += "/install";
        }

        return CleanRooted(root);
    }

    /// <summary>DRP's <c>PathFor(f, arch)</c>: <paramref name="file"/> inside the install tree, cleaned, with a leading slash.</summary>
    public static string PathFor(BootEnv env, string file, string? arch) =>
        CleanRooted(InstallRoot(env, arch) + "/" + file);

    public static ArchInfo? Entry(BootEnv env, string? arch)
    {
        var canonical = Architectures.Normalize(arch);
        foreach (var (name, info) in (env.OS?.SupportedArchitectures).OrEmpty())
        {
            if (info is not null && Architectures.Normalize(name) == canonical)
            {
                return info;
            }
        }

        return null;
    }

    public static string KernelFor(BootEnv env, string? arch) =>
        Entry(env, arch) is { Kernel.Length: > 0 } info ? info.Kernel : env.Kernel.OrEmpty();

    public static IReadOnlyList<string> InitrdsFor(BootEnv env, string? arch) =>
        Entry(env, arch) is { Initrds.Count: > 0 } info ? info.Initrds : env.Initrds.OrEmpty();

    public static string BootParamsFor(BootEnv env, string? arch) =>
        Entry(env, arch) is { BootParams.Length: > 0 } info ? info.BootParams : env.BootParams.OrEmpty();

    public static string IsoFor(BootEnv env, string? arch) =>
        Entry(env, arch) is { } info ? info.IsoFile.OrEmpty() : IsAmd64(arch) ? (env.OS?.IsoFile).OrEmpty() : "";

    public static string ShaFor(BootEnv env, string? arch) =>
        Entry(env, arch) is { } info ? info.Sha256.OrEmpty() : IsAmd64(arch) ? (env.OS?.IsoSha256).OrEmpty() : "";

    public static string IsoUrlFor(BootEnv env, string? arch) =>
        Entry(env, arch) is { } info ? info.IsoUrl.OrEmpty() : IsAmd64(arch) ? (env.OS?.IsoUrl).OrEmpty() : "";

    /// <summary>
    /// Every architecture the environment can boot: each entry of <c>OS.SupportedArchitectures</c>, plus amd64
    /// from the top-level fields when those name a kernel or an ISO (DRP treats a bootenv without
    /// SupportedArchitectures as amd64 only).
    /// </summary>
    public static IReadOnlyList<ArchBootFiles> Arches(BootEnv env)
    {
        var result = new List<ArchBootFiles>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in (env.OS?.SupportedArchitectures).OrEmpty().Keys.Order(StringComparer.Ordinal))
        {
            var arch = Architectures.Normalize(name);
            if (seen.Add(arch))
            {
                result.Add(Files(env, arch));
            }
        }

        if (!seen.Contains(Architectures.Amd64) && (!string.IsNullOrEmpty(env.Kernel) || !string.IsNullOrEmpty(env.OS?.IsoFile)))
        {
            result.Add(Files(env, Architectures.Amd64));
        }

        return result;
    }

    public static ArchBootFiles Files(BootEnv env, string? arch)
    {
        var canonical = Architectures.Normalize(arch);
        return new ArchBootFiles(canonical, KernelFor(env, canonical), InitrdsFor(env, canonical), BootParamsFor(env, canonical),
            IsoFor(env, canonical), ShaFor(env, canonical), IsoUrlFor(env, canonical));
    }

    /// <summary>Go's <c>path.Clean("/" + p)</c>: one leading slash, no empty, <c>.</c> or <c>..</c> segments.</summary>
    public static string CleanRooted(string path)
    {
        var kept = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (kept.Count > 0)
                {
                    kept.RemoveAt(kept.Count - 1);
                }

                continue;
            }

            kept.Add(segment);
        }

        return "/" + string.Join('/', kept);
    }

    /// <summary>Go's <c>path.Clean(p)</c> for relative paths (task template paths keep their form).</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }

        var rooted = path.StartsWith('/');
        var kept = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (kept.Count > 0 && kept[^1] != "..")
                {
                    kept.RemoveAt(kept.Count - 1);
                }
                else if (!rooted)
                {
                    kept.Add("..");
                }

                continue;
            }

            kept.Add(segment);
        }

        var joined = string.Join('/', kept);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }

    private static bool IsAmd64(string? arch) => Architectures.Normalize(arch) == Architectures.Amd64;
}
