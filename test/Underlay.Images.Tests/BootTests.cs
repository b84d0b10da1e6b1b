using Underlay.Images.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Images.Tests;

public sealed class BootTests(TestImages images)
{
    [Fact]
    public async Task Kernel_and_initrd_output_boots_in_qemu_and_reaches_init()
    {
        TestEnvironment.RequireTool("qemu-system-x86_64", "qemu-system-x86");
        using var directory = new TempDirectory("boot");
        var result = await Builds.BuildAsync(directory, Builds.BootSpec(images), OutputFormat.KernelInitrd);
        var kernel = result.Outputs.Single(o => o.Path.EndsWith("-kernel", StringComparison.Ordinal)).Path;
        var initrd = result.Outputs.Single(o => o.Path.EndsWith("-initrd.img", StringComparison.Ordinal)).Path;
        var cmdline = await File.ReadAllTextAsync(result.Outputs.Single(o => o.Path.EndsWith("-cmdline", StringComparison.Ordinal)).Path, TestContext.Current.CancellationToken);

        // TCG: KVM is not usable on these machines (LINUXKIT.md §3.3). -no-reboot turns the poweroff/panic into an exit.
        var run = await ExternalProcess.RunAsync("qemu-system-x86_64",
            ["-accel", "tcg", "-m", "512", "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd, "-append", cmdline],
            TimeSpan.FromMinutes(3), cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(run.TimedOut, "QEMU did not power off in time:\n" + Tail(run.Combined));
        Assert.Contains(TestImages.InitMarker, run.Combined);
        Assert.Contains("files: UNDERLAY-FILES-OK", run.Combined);
        Assert.Contains("services: svc", run.Combined);
        Assert.Contains("UNDERLAY-INIT-DONE", run.Combined);
    }

    [Fact]
    public async Task A_per_machine_overlay_appended_to_the_initrd_overrides_image_files()
    {
        TestEnvironment.RequireTool("qemu-system-x86_64", "qemu-system-x86");
        using var directory = new TempDirectory("overlay");
        var result = await Builds.BuildAsync(directory, Builds.BootSpec(images), OutputFormat.KernelInitrd);
        var kernel = result.Outputs.Single(o => o.Path.EndsWith("-kernel", StringComparison.Ordinal)).Path;
        var initrd = await File.ReadAllBytesAsync(result.Outputs.Single(o => o.Path.EndsWith("-initrd.img", StringComparison.Ordinal)).Path, TestContext.Current.CancellationToken);

        // What the boot server will do: the image's initrd unchanged, then a small overlay (4-byte aligned).
        var overlay = Cpio.OverlayInitrd.Build([
            new Cpio.OverlayFile("/etc/hostname", "machine-42\n"u8.ToArray()),
            new Cpio.OverlayFile("/etc/underlay/userdata", "{\"role\":\"node\"}"u8.ToArray(), 0x180),
            new Cpio.OverlayFile("/etc/underlay-marker", "OVERLAY-WINS"u8.ToArray()),
        ]);
        Assert.Equal(0, overlay.Length % 4);
        var padding = (4 - (initrd.Length % 4)) % 4;
        var combined = directory.Combine("combined.img");
        await File.WriteAllBytesAsync(combined, [.. initrd, .. new byte[padding], .. overlay], TestContext.Current.CancellationToken);

        var run = await ExternalProcess.RunAsync("qemu-system-x86_64",
            ["-accel", "tcg", "-m", "512", "-nographic", "-no-reboot", "-kernel", kernel, "-initrd", combined, "-append", "console=ttyS0 panic=-1"],
            TimeSpan.FromMinutes(3), cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(run.TimedOut, "QEMU did not power off in time:\n" + Tail(run.Combined));
        Assert.Contains("hostname: machine-42", run.Combined);
        Assert.Contains("files: OVERLAY-WINS", run.Combined);
    }

    [Fact]
    public async Task The_overlay_writer_output_lists_with_cpio()
    {
        using var directory = new TempDirectory("overlay-list");
        var overlay = Cpio.OverlayInitrd.Build([new Cpio.OverlayFile("etc/hostname", "m1\n"u8.ToArray()), new Cpio.OverlayFile("/etc/underlay/userdata", "{}"u8.ToArray(), 0x180)]);
        await File.WriteAllBytesAsync(directory.Combine("o.cpio"), overlay, TestContext.Current.CancellationToken);
        var list = await ExternalProcess.RunAsync("cpio", ["-itv", "-F", directory.Combine("o.cpio")], TimeSpan.FromMinutes(1));
        Assert.True(list.ExitCode == 0, list.Combined);
        var lines = list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.EndsWith(" etc", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("drwxr-xr-x", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("-rw-------", lines[3], StringComparison.Ordinal);
        Assert.EndsWith(" etc/underlay/userdata", lines[3], StringComparison.Ordinal);
        Assert.Equal(overlay, Cpio.OverlayInitrd.Build([new Cpio.OverlayFile("/etc/underlay/userdata", "{}"u8.ToArray(), 0x180), new Cpio.OverlayFile("etc/hostname", "m1\n"u8.ToArray())]));
    }

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;
}
