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

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;
}
