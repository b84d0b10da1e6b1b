using Underlay.TestUtilities;

namespace Underlay.Boot.Tests.Support;

/// <summary>
/// What test/Underlay.Boot.Tests/setup.sh fetched (a Debian kernel and busybox-static, never committed) and the tiny
/// initramfs the QEMU test packs from it. Same location rules as the script.
/// </summary>
internal static class BootTestCache
{
    public static string Directory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("UNDERLAY_BOOT_TEST_CACHE") is { Length: > 0 } explicitCache)
            {
                return explicitCache;
            }

            if (Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg)
            {
                return Path.Combine(xdg, "underlay", "boot-tests");
            }

            return Path.Combine(RepoPaths.Root, ".cache", "underlay-boot-tests");
        }
    }

    public static string Kernel => Path.Combine(Directory, "vmlinuz");

    public static string Busybox => Path.Combine(Directory, "busybox.bin");

    public static bool Ready => File.Exists(Path.Combine(Directory, "ready")) && File.Exists(Kernel) && File.Exists(Busybox);

    /// <summary>
    /// Packs a gzip'd cpio (newc) initramfs whose <c>/init</c> prints <c>UNDERLAY-INIT-REACHED marker=[X]</c> on the
    /// console, X being the <c>underlay.marker=</c> word of the kernel command line, then powers off. The printed
    /// text is not on the command line, so the kernel echoing its command line cannot fake it.
    /// </summary>
    public static async Task<string> BuildInitramfsAsync(string workDirectory, CancellationToken cancellationToken)
    {
        var tree = Path.Combine(workDirectory, "initramfs");
        foreach (var directory in new[] { "bin", "dev", "proc" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(tree, directory));
        }

        File.Copy(Busybox, Path.Combine(tree, "bin", "busybox"), overwrite: true);
        File.CreateSymbolicLink(Path.Combine(tree, "bin", "sh"), "busybox");
        var init = Path.Combine(tree, "init");
        await File.WriteAllTextAsync(init, """
            #!/bin/sh
            /bin/busybox mount -t proc proc /proc
            /bin/busybox mount -t devtmpfs devtmpfs /dev
            exec </dev/console >/dev/console 2>&1
            marker=none
            for word in $(/bin/busybox cat /proc/cmdline); do
              case "$word" in underlay.marker=*) marker=${word#underlay.marker=} ;; esac
            done
            echo "UNDERLAY-INIT-REACHED marker=[$marker]"
            /bin/busybox sync
            /bin/busybox poweroff -f

            """.Replace("\r", "", StringComparison.Ordinal), cancellationToken);
        File.SetUnixFileMode(init, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        var output = Path.Combine(workDirectory, "initrd.img");
        var result = await ExternalProcess.RunAsync(
            "bash",
            ["-c", $"cd '{tree}' && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1 > '{output}'"],
            TimeSpan.FromSeconds(60),
            cancellationToken: cancellationToken);
        Assert.True(result.ExitCode == 0, "packing the initramfs failed: " + result.Combined);
        return output;
    }
}
