using System.Text;
using Underlay.Images.Cpio;

[assembly: AssemblyFixture(typeof(Underlay.Images.Tests.Support.TestImages))]

namespace Underlay.Images.Tests.Support;

/// <summary>
/// The test images, built once per run from Debian's kernel and busybox-static into one OCI layout:
/// <c>base</c> (three layers with whiteouts, an opaque whiteout, hard links, long names, "./" names, type changes),
/// <c>kernel</c> (kernel, kernel.tar of modules, a microcode cpio), <c>init</c> (busybox and an /init that prints a
/// marker and powers off) and <c>svc</c> (a service with an org.mobyproject.config label).
/// </summary>
public sealed class TestImages : IDisposable
{
    public const string InitMarker = "UNDERLAY-INIT-REACHED";
    private readonly TempDirectory _directory = new("images");
    private readonly Lazy<string> _layout;

    public TestImages() => _layout = new Lazy<string>(Build);

    /// <summary>The OCI layout directory holding every test image.</summary>
    public string Layout => _layout.Value;

    public string Ref(string name) => $"oci:{Layout}:{name}";

    public static string LongName { get; } = "usr/share/" + new string('l', 120) + "/file-with-a-long-name.txt";

    public static TestImage BaseImage()
    {
        var busybox = File.ReadAllBytes(TestEnvironment.Busybox);
        var layer1 = new LayerBuilder(LayerCompression.Gzip)
            .Dir("bin").Dir("etc").Dir("etc/conf.d").Dir("etc/secret", 0x1C0, 1000, 1000).Dir("opt").Dir("opt/data").Dir("opt/data/sub")
            .Dir("usr").Dir("usr/share").Dir("usr/share/" + new string('l', 120)).Dir("var")
            .File("bin/busybox", busybox, 0x1ED)
            .Symlink("bin/sh", "busybox")
            .Symlink("bin/ls", "/bin/busybox")
            .HardLink("bin/busybox-hard", "bin/busybox")
            .File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
            .File("etc/old.conf", "old\n")
            .File("etc/motd", "a file that becomes a directory\n")
            .File("etc/conf.d/x", "x\n")
            .File("etc/secret/key", "secret\n", 0x1A0, 1000, 1000)
            .File("opt/data/a", "a\n").File("opt/data/b", "b\n").File("opt/data/sub/deep", "deep\n")
            .File(LongName, "long\n")
            .Fifo("var/fifo")
            .File("var/log.txt", "log\n");
        var layer2 = new LayerBuilder(LayerCompression.None)
            .File("./etc/passwd", "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
            .Whiteout("etc/old.conf")
            .File("opt/data/c", "c\n")
            .Opaque("opt/data")
            .Whiteout("var")
            .Dir("./srv").File("./srv/index.html", "<h1>hi</h1>\n")
            .HardLink("srv/busybox-from-lower", "bin/busybox");
        var layer3 = new LayerBuilder(LayerCompression.Gzip)
            .Dir("opt/data", 0x1E8)
            .Dir("etc/motd").File("etc/motd/inside", "now a directory\n")
            .File("etc/conf.d", "now a file\n")
            .File("srv/index.html", "<h1>hello again</h1>\n", 0x1A4, 33, 33);
        return new TestImage().Layer(layer1).Layer(layer2).Layer(layer3);
    }

    private string Build()
    {
        var root = _directory.Combine("layout");
        var writer = new OciLayoutWriter(root);
        writer.Add("base", BaseImage());

        // Kernel image laid out like linuxkit/kernel: /kernel, /kernel.tar (modules), /intel-ucode.cpio.
        var modules = TestEnvironment.ModulesDirectory;
        var version = Path.GetFileName(modules);
        var modulesTar = new LayerBuilder(LayerCompression.None)
            .Dir("lib").Dir("lib/modules").Dir($"lib/modules/{version}");
        foreach (var file in new[] { "modules.dep", "modules.order", "modules.builtin" })
        {
            if (File.Exists(Path.Combine(modules, file)))
            {
                modulesTar.File($"lib/modules/{version}/{file}", File.ReadAllBytes(Path.Combine(modules, file)));
            }
        }

        var ucode = new MemoryStream();
        using (var cpio = new CpioWriter(ucode, leaveOpen: true))
        {
            cpio.WriteDirectory("kernel");
            cpio.WriteDirectory("kernel/x86");
            cpio.WriteDirectory("kernel/x86/microcode");
            cpio.WriteFile("kernel/x86/microcode/GenuineIntel.bin", new byte[64]);
            cpio.Finish();
        }

        writer.Add("kernel", new TestImage().Layer(new LayerBuilder(LayerCompression.Gzip)
            .File("kernel", File.ReadAllBytes(TestEnvironment.Kernel))
            .File("kernel.tar", modulesTar.TarBytes())
            .File("intel-ucode.cpio", ucode.ToArray())));

        // The init: busybox as /init's interpreter. The image filter drops dev/console (as LinuxKit does), so the
        // script mounts devtmpfs before it talks to the console.
        var init = "#!/bin/busybox sh\n" +
                   "/bin/busybox mount -t devtmpfs devtmpfs /dev\n" +
                   "exec </dev/console >/dev/console 2>&1\n" +
                   "/bin/busybox mount -t proc proc /proc\n" +
                   $"echo {InitMarker}\n" +
                   "echo \"files: $(/bin/busybox cat /etc/underlay-marker)\"\n" +
                   "echo \"services: $(/bin/busybox ls /containers/services)\"\n" +
                   "echo \"hostname: $(/bin/busybox cat /etc/hostname 2>/dev/null)\"\n" +
                   "echo UNDERLAY-INIT-DONE\n" +
                   "/bin/busybox poweroff -f\n";
        writer.Add("init", new TestImage().Layer(new LayerBuilder(LayerCompression.Gzip)
            .Dir("bin").Dir("sbin").Dir("etc").Dir("proc").Dir("sys")
            .File("bin/busybox", File.ReadAllBytes(TestEnvironment.Busybox), 0x1ED)
            .Symlink("bin/sh", "busybox")
            .File("init", init, 0x1ED)));

        var svc = new TestImage { Entrypoint = ["/bin/svc"], Cmd = ["--serve"], Env = ["PATH=/bin", "MODE=test"], WorkingDir = "/srv" };
        svc.Labels["org.mobyproject.config"] = "{\"capabilities\":[\"CAP_NET_ADMIN\"],\"binds\":[\"/var/run:/var/run\"],\"pid\":\"host\",\"readonly\":true}";
        svc.Layer(new LayerBuilder(LayerCompression.Zstd).Dir("bin").Dir("srv").File("bin/svc", "#!/bin/sh\necho svc\n", 0x1ED).File("srv/data", Encoding.ASCII.GetBytes("data\n")));
        writer.Add("svc", svc);
        return root;
    }

    public void Dispose() => _directory.Dispose();
}
