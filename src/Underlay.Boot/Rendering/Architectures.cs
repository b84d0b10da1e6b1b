namespace Underlay.Boot.Rendering;

/// <summary>
/// DRP's architecture names (<c>models/utils.go</c> <c>SupportedArch</c>): content spells one architecture several
/// ways (<c>amd64</c>/<c>x86_64</c>, <c>arm64</c>/<c>aarch64</c>), and every lookup by architecture compares the
/// canonical names.
/// </summary>
public static class Architectures
{
    public const string Amd64 = "amd64";

    /// <summary>The canonical name, or null for an architecture DRP does not know.</summary>
    public static string? Canonical(string? name) => name?.ToLowerInvariant() switch
    {
        "amd64" or "x86_64" => "amd64",
        "386" or "486" or "686" or "i386" or "i486" or "i686" => "386",
        "arm" or "armel" or "armhfp" => "arm",
        "arm64" or "aarch64" => "arm64",
        "ppc64" or "power9" => "ppc64",
        "ppc64le" => "ppc64le",
        "mips64" => "mips64",
        "mips64le" or "mips64el" => "mips64le",
        "s390x" => "s390x",
        "mips" => "mips",
        "mipsle" or "mipsel" => "mipsle",
        _ => null,
    };

    /// <summary>Canonical name, or the name itself lowered when it is not a known one (e.g. <c>rpi4</c>).</summary>
    public static string Normalize(string? name) =>
        Canonical(name) ?? (string.IsNullOrEmpty(name) ? Amd64 : name.ToLowerInvariant());

    public static bool AreEqual(string? a, string? b) => Canonical(a) is { } x && x == Canonical(b);
}
