using Underlay.TestUtilities;

namespace Underlay.Images.Tests.Support;

/// <summary>Where setup.sh put the downloaded Debian packages, and scratch directories for tests.</summary>
public static class TestEnvironment
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string CacheDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("UNDERLAY_IMAGES_TEST_CACHE") is { Length: > 0 } explicitCache)
            {
                return explicitCache;
            }

            if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg)
            {
                return Path.Combine(xdg, "underlay", "images-tests");
            }

            return Path.Combine(RepositoryRoot, ".cache", "underlay-images-tests");
        }
    }

    /// <summary>Fails the test with instructions when setup.sh has not been run.</summary>
    public static string RequireSetup()
    {
        var cache = CacheDirectory;
        if (!File.Exists(Path.Combine(cache, "ready")))
        {
            throw new InvalidOperationException(
                $"The image test cache {cache} is missing: run test/Underlay.Images.Tests/setup.sh first (it downloads a Debian kernel and busybox-static).");
        }

        return cache;
    }

    public static string Kernel => Path.Combine(RequireSetup(), "vmlinuz");

    public static string Busybox => Path.Combine(RequireSetup(), "busybox.bin");

    public static string ModulesDirectory => Directory.GetDirectories(Path.Combine(RequireSetup(), "kernel", "lib", "modules"))[0];

    /// <summary>Fails with a clear message when a Debian tool the test needs is missing (see eng/test-packages.txt).</summary>
    public static void RequireTool(string program, string package)
    {
        if (!ExternalProcess.IsOnPath(program))
        {
            throw new InvalidOperationException($"{program} is not installed: apt-get install {package} (listed in eng/test-packages.txt)");
        }
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Underlay.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("cannot find the repository root (Underlay.slnx)");
    }
}

/// <summary>A scratch directory removed when disposed.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string? label = null)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "underlay-images-tests", (label ?? "t") + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            // umoci may leave directories without write permission behind.
            foreach (var dir in Directory.EnumerateDirectories(Path, "*", SearchOption.AllDirectories))
            {
                try
                {
                    File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                }
                catch (IOException)
                {
                }
            }

            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
