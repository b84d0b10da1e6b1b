namespace Underlay.E2E.Tests;

/// <summary>Where setup.sh leaves the discovery image (the same location rules as the script).</summary>
internal static class DiscoveryImage
{
    public static string Directory => Environment.GetEnvironmentVariable("UNDERLAY_E2E_TEST_CACHE") is { Length: > 0 } cache
        ? cache
        : Path.Combine(TestUtilities.RepoPaths.Root, ".cache", "underlay-e2e-tests");

    /// <summary>vmlinuz + initrd.img as the tar "ISO" the underlay-discovery bootenv names.</summary>
    public static string Tar => Path.Combine(Directory, "discovery", "out", "underlay-discovery-amd64.tar");

    public static bool Ready => File.Exists(Path.Combine(Directory, "ready")) && File.Exists(Tar);
}
