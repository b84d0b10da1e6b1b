using Underlay.Cli.Images;
using Underlay.Images.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Images.Tests;

public sealed class CliTests(TestImages images)
{
    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await ImageCommands.Create().Parse(args).InvokeAsync(
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Build_writes_the_requested_formats_and_a_second_run_is_up_to_date()
    {
        using var directory = new TempDirectory("cli");
        var spec = directory.Combine("demo.yml");
        await File.WriteAllTextAsync(spec, Builds.BootSpec(images) + "\ntrust:\n  org: [linuxkit]\n", TestContext.Current.CancellationToken);
        var args = new[] { "build", spec, "--format", "kernel+initrd", "--format", "tar-kernel-initrd", "-o", directory.Combine("out"), "--cache-dir", directory.Combine("cache") };
        var (exitCode, output, error) = await RunAsync(args);
        Assert.True(exitCode == 0, error);
        Assert.Contains("demo-kernel", output);
        Assert.Contains("demo-initrd.img", output);
        Assert.Contains("demo-initrd.tar", output);
        Assert.Contains("warning:", error);
        Assert.Contains("'trust' is ignored", error);

        var again = await RunAsync(args);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("up to date", again.Output);
    }

    [Fact]
    public async Task Inspect_lists_an_initrd_like_cpio_with_sizes()
    {
        using var directory = new TempDirectory("inspect");
        var result = await Builds.BuildAsync(directory, Builds.BootSpec(images), OutputFormat.KernelInitrd, OutputFormat.Tar);
        var initrd = result.Outputs.Single(o => o.Path.EndsWith("-initrd.img", StringComparison.Ordinal)).Path;
        var (exitCode, output, error) = await RunAsync("inspect", initrd);
        Assert.True(exitCode == 0, error);
        Assert.Contains("kernel/x86/microcode/GenuineIntel.bin", output);
        Assert.Matches(@"-rwxr-xr-x\s+0/0\s+\d+ bin/busybox", output);
        Assert.Contains("etc/resolv.conf -> /run/resolvconf/resolv.conf", output);

        // The listing agrees with GNU cpio on the main archive's names.
        var (_, gzip) = (0, File.ReadAllBytes(initrd));
        var start = gzip.AsSpan().IndexOf(new byte[] { 0x1f, 0x8b, 0x08 });
        File.WriteAllBytes(directory.Combine("main.gz"), gzip[start..]);
        await ExternalProcess.RunAsync("gzip", ["-d", directory.Combine("main.gz")], TimeSpan.FromMinutes(1));
        var cpio = await ExternalProcess.RunAsync("cpio", ["-it", "-F", directory.Combine("main")], TimeSpan.FromMinutes(1));
        var ours = output.Split('\n').Where(l => l.Length > 0 && !l.Contains("entries,", StringComparison.Ordinal)).Select(l => l.Split(' ', 4, StringSplitOptions.RemoveEmptyEntries)[^1].Split(" -> ")[0]).ToList();
        foreach (var name in cpio.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.Contains(name, ours);
        }

        var tar = await RunAsync("inspect", result.Outputs.Single(o => o.Path.EndsWith(".tar", StringComparison.Ordinal)).Path);
        Assert.Equal(0, tar.ExitCode);
        Assert.Contains("boot/kernel", tar.Output);
    }

    [Fact]
    public async Task Errors_are_reported_on_stderr_with_a_non_zero_exit_code()
    {
        using var directory = new TempDirectory("clierr");
        var spec = directory.Combine("bad.yml");
        await File.WriteAllTextAsync(spec, "kernel:\n  imagee: x\n", TestContext.Current.CancellationToken);
        var (exitCode, _, error) = await RunAsync("build", spec, "-o", directory.Combine("out"), "--cache-dir", directory.Combine("cache"));
        Assert.Equal(1, exitCode);
        Assert.Contains("bad.yml:2:3: unknown key 'imagee'", error);

        var unknownFormat = await RunAsync("build", spec, "--format", "vhd", "-o", directory.Combine("out"));
        Assert.Equal(1, unknownFormat.ExitCode);
        Assert.Contains("unknown format 'vhd'", unknownFormat.Error);
    }
}
