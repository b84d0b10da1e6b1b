namespace Underlay.TestUtilities;

/// <summary>Locates the checkout and things beside it without hard-coding any machine path.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Underlay.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Underlay.slnx) above " + AppContext.BaseDirectory);
    });

    public static string Root => RootPath.Value;

    /// <summary>The build configuration the tests were built with (Debug or Release).</summary>
    public static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The built server, next to which its content packs are copied.</summary>
    public static string ServerDll => Path.Combine(Root, "src", "Underlay.Server", "bin", Configuration, "net10.0", "underlayd.dll");

    /// <summary>The NativeAOT <c>underlay</c> binary that eng/publish-native-cli.sh publishes.</summary>
    public static string NativeCli => Path.Combine(Root, ".cache", "underlay-aot", "underlay");

    public static string CliDll => Path.Combine(Root, "src", "Underlay.Cli", "bin", Configuration, "net10.0", "underlay.dll");

    /// <summary>The shared folder beside the checkout (design docs, DRP community content, lab tools).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string DrpCommunityContent => Path.Combine(Shared, "content", "drp-community");

    /// <summary>A fresh directory under the system temp folder, removed by the caller.</summary>
    public static string NewTempDirectory(string purpose)
    {
        var path = Path.Combine(Path.GetTempPath(), $"underlay-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }
}
