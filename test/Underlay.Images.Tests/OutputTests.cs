using System.Security.Cryptography;
using Underlay.Images.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Images.Tests;

/// <summary>Outputs are read back by independent tools (cpio, bsdtar, xorriso) and are reproducible.</summary>
public sealed class OutputTests(TestImages images)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    private static string Output(BuildResult result, string suffix) => result.Outputs.Single(o => o.Path.EndsWith(suffix, StringComparison.Ordinal)).Path;

    /// <summary>Splits the initrd into the leading raw microcode cpio and the gzip member, as the kernel reads it.</summary>
    private static (byte[] Ucode, byte[] Gzip) SplitInitrd(string initrd)
    {
        var bytes = File.ReadAllBytes(initrd);
        var gzipStart = bytes.AsSpan().IndexOf(new byte[] { 0x1f, 0x8b, 0x08 });
        Assert.True(gzipStart > 0, "the initrd should start with the uncompressed microcode cpio");
        Assert.Equal(0, gzipStart % 4);
        return (bytes[..gzipStart], bytes[gzipStart..]);
    }

    [Fact]
    public async Task Initrd_lists_with_cpio_and_bsdtar_and_has_the_linuxkit_layout()
    {
        TestEnvironment.RequireTool("cpio", "cpio");
        TestEnvironment.RequireTool("bsdtar", "libarchive-tools");
        using var directory = new TempDirectory("initrd");
        var result = await Builds.BuildAsync(directory, Builds.BootSpec(images), OutputFormat.KernelInitrd);
        var (ucode, gzip) = SplitInitrd(Output(result, "-initrd.img"));
        File.WriteAllBytes(directory.Combine("ucode.cpio"), ucode);
        File.WriteAllBytes(directory.Combine("main.cpio.gz"), gzip);

        var ucodeList = await ExternalProcess.RunAsync("cpio", ["-it", "-F", directory.Combine("ucode.cpio")], ToolTimeout);
        Assert.Equal(0, ucodeList.ExitCode);
        Assert.Contains("kernel/x86/microcode/GenuineIntel.bin", ucodeList.StandardOutput);

        var gunzip = await ExternalProcess.RunAsync("gzip", ["-d", "-k", directory.Combine("main.cpio.gz")], ToolTimeout);
        Assert.True(gunzip.ExitCode == 0, gunzip.Combined);
        var list = await ExternalProcess.RunAsync("cpio", ["-itv", "-F", directory.Combine("main.cpio")], ToolTimeout);
        Assert.True(list.ExitCode == 0, list.Combined);
        var names = (await ExternalProcess.RunAsync("cpio", ["-it", "-F", directory.Combine("main.cpio")], ToolTimeout))
            .StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var expected in new[]
                 {
                     "init", "bin/busybox", "etc/underlay-marker", "etc/resolv.conf", "etc/hosts", "etc/mtab", "dev", "proc", "sys",
                     "containers/onboot/000-hello/config.json", "containers/onboot/000-hello/runtime.json",
                     "containers/onboot/000-hello/rootfs/bin/svc", "containers/services/svc/config.json", "containers/services/svc/runtime.json",
                     "boot", $"lib/modules/{Path.GetFileName(TestEnvironment.ModulesDirectory)}/modules.order",
                 })
        {
            Assert.Contains(expected, names);
        }

        // boot/* stays out of the initrd (the kernel and cmdline are separate outputs).
        Assert.DoesNotContain(names, n => n.StartsWith("boot/", StringComparison.Ordinal));
        Assert.Contains(list.StandardOutput.Split('\n'), l => l.Contains("etc/resolv.conf -> /run/resolvconf/resolv.conf", StringComparison.Ordinal));

        // Generated entries get LinuxKit's modes: 0755 bundle directories, 0644 config files, 0644 files given a mode.
        Assert.Contains(list.StandardOutput.Split('\n'), l => l.StartsWith("drwxr-xr-x", StringComparison.Ordinal) && l.EndsWith(" containers/services/svc", StringComparison.Ordinal));
        Assert.Contains(list.StandardOutput.Split('\n'), l => l.StartsWith("-rw-r--r--", StringComparison.Ordinal) && l.EndsWith(" containers/services/svc/config.json", StringComparison.Ordinal));
        Assert.Contains(list.StandardOutput.Split('\n'), l => l.StartsWith("-rw-r--r--", StringComparison.Ordinal) && l.EndsWith(" etc/underlay-marker", StringComparison.Ordinal));

        // Parents always precede children: the kernel does not create missing directories.
        var seen = new HashSet<string>();
        foreach (var name in names.Where(n => n != "TRAILER!!!"))
        {
            var slash = name.LastIndexOf('/');
            Assert.True(slash < 0 || seen.Contains(name[..slash]), $"{name} comes before its directory");
            seen.Add(name);
        }

        var bsdtar = await ExternalProcess.RunAsync("bsdtar", ["-tvf", directory.Combine("main.cpio.gz")], ToolTimeout);
        Assert.True(bsdtar.ExitCode == 0, bsdtar.Combined);
        Assert.Contains("containers/services/svc/rootfs", bsdtar.StandardOutput);
        Assert.Equal(File.ReadAllBytes(TestEnvironment.Kernel), File.ReadAllBytes(Output(result, "-kernel")));
        Assert.Equal("console=ttyS0 panic=-1", File.ReadAllText(Output(result, "-cmdline")));
    }

    [Fact]
    public async Task Hard_links_in_an_image_become_cpio_hard_links()
    {
        using var directory = new TempDirectory("links");
        var spec = $"kernel:\n  image: {images.Ref("kernel")}\n  tar: none\ninit:\n  - {images.Ref("base")}\n";
        var result = await Builds.BuildAsync(directory, spec, OutputFormat.KernelInitrd);
        File.WriteAllBytes(directory.Combine("main.cpio.gz"), File.ReadAllBytes(Output(result, "-initrd.img")));
        var extract = directory.Combine("x");
        Directory.CreateDirectory(extract);
        var run = await ExternalProcess.RunAsync("bsdtar", ["-xf", directory.Combine("main.cpio.gz"), "-C", extract], ToolTimeout);
        Assert.True(run.ExitCode == 0, run.Combined);
        var stat = await ExternalProcess.RunAsync("stat", ["-c", "%i %h %n", Path.Combine(extract, "bin/busybox"), Path.Combine(extract, "bin/busybox-hard"), Path.Combine(extract, "srv/busybox-from-lower")], ToolTimeout);
        var lines = stat.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToList();
        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.Equal(lines[0][0], l[0]));
        Assert.All(lines, l => Assert.Equal("3", l[1]));
        Assert.Equal(File.ReadAllBytes(TestEnvironment.Busybox), File.ReadAllBytes(Path.Combine(extract, "srv/busybox-from-lower")));
    }

    [Fact]
    public async Task Two_builds_of_the_same_inputs_are_byte_identical()
    {
        using var first = new TempDirectory("repro1");
        using var second = new TempDirectory("repro2");
        var formats = new[] { OutputFormat.KernelInitrd, OutputFormat.TarKernelInitrd, OutputFormat.Tar };
        var a = await Builds.BuildAsync(first, Builds.BootSpec(images), formats);
        var b = await Builds.BuildAsync(second, Builds.BootSpec(images), formats);
        Assert.Equal(a.Outputs.Count, b.Outputs.Count);
        foreach (var (x, y) in a.Outputs.Zip(b.Outputs))
        {
            Assert.Equal(Path.GetFileName(x.Path), Path.GetFileName(y.Path));
            Assert.True(SHA256.HashData(File.ReadAllBytes(x.Path)).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(y.Path))), $"{Path.GetFileName(x.Path)} differs");
        }

        // The gzip header carries no name and no timestamp (RFC 1952 FLG=0, MTIME=0).
        var initrd = File.ReadAllBytes(Output(a, "-initrd.img"));
        var start = initrd.AsSpan().IndexOf(new byte[] { 0x1f, 0x8b, 0x08 });
        Assert.Equal(0, initrd[start + 3]);
        Assert.True(initrd.AsSpan(start + 4, 4).SequenceEqual(new byte[4]));
    }

    [Fact]
    public async Task Tar_outputs_list_with_bsdtar()
    {
        using var directory = new TempDirectory("tar");
        var result = await Builds.BuildAsync(directory, Builds.BootSpec(images), OutputFormat.Tar, OutputFormat.TarKernelInitrd);
        var full = await ExternalProcess.RunAsync("bsdtar", ["-tvf", Output(result, "test.tar")], ToolTimeout);
        Assert.True(full.ExitCode == 0, full.Combined);
        Assert.Contains("boot/kernel", full.StandardOutput);
        Assert.Contains("boot/cmdline", full.StandardOutput);
        Assert.Contains("containers/services/svc/config.json", full.StandardOutput);
        var split = await ExternalProcess.RunAsync("tar", ["-tf", Output(result, "-initrd.tar")], ToolTimeout);
        Assert.True(split.ExitCode == 0, split.Combined);
        Assert.Equal(["kernel", "initrd.img", "cmdline", "ucode.cpio"], split.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData(OutputFormat.IsoBios, ".iso")]
    [InlineData(OutputFormat.IsoEfi, "-efi.iso")]
    public async Task Iso_outputs_hold_kernel_and_initrd_and_are_reproducible(OutputFormat format, string suffix)
    {
        TestEnvironment.RequireTool("xorriso", "xorriso");
        using var first = new TempDirectory("iso1");
        using var second = new TempDirectory("iso2");
        var a = await Builds.BuildAsync(first, Builds.BootSpec(images), format);
        var b = await Builds.BuildAsync(second, Builds.BootSpec(images), format);
        var iso = Output(a, suffix);
        var find = await ExternalProcess.RunAsync("xorriso", ["-indev", iso, "-find", "/", "-type", "f"], ToolTimeout);
        Assert.True(find.ExitCode == 0, find.Combined);
        Assert.Contains("'/kernel'", find.StandardOutput);
        Assert.Contains("'/initrd.img'", find.StandardOutput);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(iso))), Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Output(b, suffix)))));
    }

    [Fact]
    public async Task A_rebuild_with_unchanged_inputs_keeps_the_outputs()
    {
        using var directory = new TempDirectory("rebuild");
        var first = await Builds.BuildAsync(directory, Builds.BootSpec(images), [OutputFormat.KernelInitrd], useOutputCache: true);
        Assert.False(first.UpToDate);
        var second = await Builds.BuildAsync(directory, Builds.BootSpec(images), [OutputFormat.KernelInitrd], useOutputCache: true);
        Assert.True(second.UpToDate);
        Assert.Equal(first.InputDigest, second.InputDigest);

        // Any change of input (here the cmdline) builds again.
        var third = await Builds.BuildAsync(directory, Builds.BootSpec(images).Replace("panic=-1", "panic=1", StringComparison.Ordinal), [OutputFormat.KernelInitrd], useOutputCache: true);
        Assert.False(third.UpToDate);
        Assert.Equal("console=ttyS0 panic=1", File.ReadAllText(Output(third, "-cmdline")));
    }
}
