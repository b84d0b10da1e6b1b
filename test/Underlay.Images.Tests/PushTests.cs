using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Images.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Images.Tests;

/// <summary>
/// Issue 9 "Into Underlay": <c>underlay image push</c> run as the real CLI process against a real underlayd, the
/// bootenv and its renders read back over HTTP with curl, the per-machine metadata overlay listed with cpio, and a
/// QEMU VM (TCG) PXE-booted through underlayd's DHCP, TFTP and HTTP into the pushed image.
/// </summary>
[Collection(nameof(PushTests))]
public sealed class PushTests(TestImages images)
{
    private const string Mac = "52:54:00:99:00:52";
    private const string OnbootMarker = "UNDERLAY-ONBOOT-RAN";

    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task Push_creates_a_bootenv_whose_renders_load_the_image_and_a_metadata_overlay_that_follows_the_param()
    {
        TestEnvironment.RequireTool("curl", "curl");
        TestEnvironment.RequireTool("cpio", "cpio");
        var ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory("push");
        var result = await Builds.BuildAsync(directory, Builds.BootSpec(images), OutputFormat.KernelInitrd);
        var output = directory.Combine("out");

        await using var server = new UnderlayServerProcess();
        await server.StartAsync(ct);
        var push = await ExternalProcess.RunAsync("dotnet", [RepoPaths.CliDll, "image", "push", output, "--bootenv", "lk-test"],
            TimeSpan.FromMinutes(3), environment: server.CliEnvironment(), cancellationToken: ct);
        Assert.True(push.ExitCode == 0, "underlay image push failed: " + push.Combined);
        Assert.Contains("created bootenv lk-test", push.StandardOutput, StringComparison.Ordinal);

        using var api = server.AdminClient();
        var env = await api.GetAsync<BootEnv>("lk-test", ct);
        Assert.True(env.Available, "bootenv not available: " + string.Join("; ", env.Errors));
        Assert.Equal("console=ttyS0 panic=-1", env.BootParams);
        Assert.Equal("kernel", env.Kernel);
        Assert.Equal(new[] { "initrd.img" }, env.Initrds);

        // The image is served unchanged at the bootenv's install tree.
        var kernel = result.Outputs.Single(o => o.Path.EndsWith("-kernel", StringComparison.Ordinal)).Path;
        var initrd = result.Outputs.Single(o => o.Path.EndsWith("-initrd.img", StringComparison.Ordinal)).Path;
        Assert.Equal(Sha(kernel), Sha(await CurlFileAsync(server, "lk-test/kernel", directory.Combine("k"), ct)));
        Assert.Equal(Sha(initrd), Sha(await CurlFileAsync(server, "lk-test/initrd.img", directory.Combine("i"), ct)));

        var machine = await api.CreateAsync(new Machine { Name = "lk-node-1", HardwareAddrs = [Mac], Address = "192.0.2.7", BootEnv = "lk-test" }, ct);
        var overlay = $"machines/{machine.Uuid}/metadata.cpio";
        var ipxe = await CurlTextAsync(server, Mac + ".ipxe", ct);
        Assert.Contains("/lk-test/kernel initrd=initrd.img console=ttyS0 panic=-1 initrd=metadata.cpio", ipxe, StringComparison.Ordinal);
        Assert.Contains("initrd http://", ipxe, StringComparison.Ordinal);
        Assert.Contains("/lk-test/initrd.img", ipxe, StringComparison.Ordinal);
        Assert.Contains("/" + overlay, ipxe, StringComparison.Ordinal);
        Assert.Equal(ipxe, await CurlTextAsync(server, "192.0.2.7.ipxe", ct));
        var pxelinux = await CurlTextAsync(server, "pxelinux.cfg/01-" + Mac.Replace(':', '-'), ct);
        Assert.Contains("KERNEL lk-test/kernel", pxelinux, StringComparison.Ordinal);
        Assert.Contains("INITRD lk-test/initrd.img," + overlay, pxelinux, StringComparison.Ordinal);
        Assert.Contains("APPEND console=ttyS0 panic=-1", pxelinux, StringComparison.Ordinal);
        Assert.Equal(pxelinux, await CurlTextAsync(server, "pxelinux.cfg/C0000207", ct));
        var grub = await CurlTextAsync(server, $"grub/{Mac}.cfg", ct);
        Assert.Contains("linux (tftp)/lk-test/kernel console=ttyS0 panic=-1", grub, StringComparison.Ordinal);
        Assert.Contains($"initrd (tftp)/lk-test/initrd.img (tftp)/{overlay}", grub, StringComparison.Ordinal);

        // Without the param: only the hostname.
        var first = await CurlFileAsync(server, overlay, directory.Combine("m0.cpio"), ct);
        Assert.Equal(new[] { "etc", "etc/hostname" }, (await CpioListAsync(first)).Order(StringComparer.Ordinal));
        Assert.Equal("lk-node-1", await CpioCatAsync(first, "etc/hostname", directory));

        // The param set: the next fetch carries it; changed again: the fetch after that has the new value.
        await api.SetParamAsync(ModelType(), machine.Uuid.ToString(), "linuxkit/userdata", JsonSerializer.SerializeToElement("role=worker\n"), ct);
        var second = await CurlFileAsync(server, overlay, directory.Combine("m1.cpio"), ct);
        Assert.Equal(new[] { "etc", "etc/hostname", "etc/underlay", "etc/underlay/userdata" }, (await CpioListAsync(second)).Order(StringComparer.Ordinal));
        Assert.Equal("role=worker", await CpioCatAsync(second, "etc/underlay/userdata", directory));
        await api.SetParamAsync(ModelType(), machine.Uuid.ToString(), "linuxkit/userdata", JsonSerializer.SerializeToElement(new Dictionary<string, int> { ["replicas"] = 3 }), ct);
        var third = await CurlFileAsync(server, overlay, directory.Combine("m2.cpio"), ct);
        Assert.Equal("{\"replicas\":3}", await CpioCatAsync(third, "etc/underlay/userdata", directory));

        // Nothing for a machine the server does not know; pushing the same image again keeps the same ISO name.
        var unknown = await ExternalProcess.RunAsync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", $"{server.FileServer}machines/{Guid.NewGuid()}/metadata.cpio"], TimeSpan.FromSeconds(30), cancellationToken: ct);
        Assert.Equal("404", unknown.StandardOutput.Trim());
        var again = await ExternalProcess.RunAsync("dotnet", [RepoPaths.CliDll, "image", "push", output, "--bootenv", "lk-test"],
            TimeSpan.FromMinutes(3), environment: server.CliEnvironment(), cancellationToken: ct);
        Assert.True(again.ExitCode == 0, again.Combined);
        Assert.Contains("updated bootenv lk-test", again.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(env.OS.IsoFile, (await api.GetAsync<BootEnv>("lk-test", ct)).OS.IsoFile);
    }

    [Fact]
    public async Task A_pushed_image_pxe_boots_in_qemu_through_underlay_with_its_onboot_and_the_machine_metadata()
    {
        RequireBootTools();
        var ct = TestContext.Current.CancellationToken;
        var total = Stopwatch.StartNew();
        using var directory = new TempDirectory("push-boot");
        var result = await Builds.BuildAsync(directory, OnbootSpec(BootImages(directory.Combine("layout"))), OutputFormat.KernelInitrd);
        var output = directory.Combine("out");

        await using var net = await NetnsLab.CreateAsync(clients: 0, network: "10.99.52", cancellationToken: ct);
        var tap = await net.AddTapAsync(ct);
        await using var server = LabServer(net);
        await server.StartAsync(ct);
        using var api = server.NamespaceAdminClient();
        await PrepareLabAsync(net, server, api, result, directory, ct);

        var push = await net.RunInAsync(net.Server, ["dotnet", RepoPaths.CliDll, "image", "push", output, "--bootenv", "lk-boot"], TimeSpan.FromMinutes(3), server.CliEnvironment(), ct);
        Assert.True(push.ExitCode == 0, "underlay image push failed: " + push.Combined);
        var env = await SendOkAsync(api, HttpMethod.Get, "bootenvs/lk-boot", null, ct);
        Assert.True(env.GetProperty("Available").GetBoolean(), env.ToString());

        await BootAndAssertAsync(net, tap, server, api, "lk-boot", "lk-vm-1", directory, ct);
        TestContext.Current.SendDiagnosticMessage($"pushed image PXE boot: whole test {total.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task The_same_image_built_as_iso_bios_uploaded_through_isos_is_exploded_and_pxe_boots_in_qemu()
    {
        RequireBootTools();
        var ct = TestContext.Current.CancellationToken;
        var total = Stopwatch.StartNew();
        using var directory = new TempDirectory("iso-boot");
        var result = await Builds.BuildAsync(directory, OnbootSpec(BootImages(directory.Combine("layout"))), OutputFormat.KernelInitrd, OutputFormat.IsoBios);
        var iso = result.Outputs.Single(o => o.Path.EndsWith(".iso", StringComparison.Ordinal)).Path;

        await using var net = await NetnsLab.CreateAsync(clients: 0, network: "10.99.53", cancellationToken: ct);
        var tap = await net.AddTapAsync(ct);
        await using var server = LabServer(net);
        await server.StartAsync(ct);
        using var api = server.NamespaceAdminClient();
        await PrepareLabAsync(net, server, api, result, directory, ct);

        // The bootenv image push would create, by hand: its kernel and initrd are the ISO's /kernel and /initrd.img,
        // exploded into <file root>/lk-iso/ once the ISO it names is uploaded.
        await api.CreateAsync(new BootEnv
        {
            Name = "lk-iso",
            OS = new BootEnvOS { Name = "lk-iso", Family = "linuxkit", IsoFile = Path.GetFileName(iso), IsoSha256 = Sha(iso) },
            Kernel = "kernel",
            Initrds = ["initrd.img"],
            BootParams = "console=ttyS0 panic=-1 loglevel=4",
            Templates = [new() { Name = "ipxe-mac", Path = "{{.Machine.MacAddr \"ipxe\"}}.ipxe", Contents = Ipxe }],
        }, ct);
        var before = await SendOkAsync(api, HttpMethod.Get, "bootenvs/lk-iso", null, ct);
        Assert.False(before.GetProperty("Available").GetBoolean(), "available before its ISO was uploaded: " + before);

        var upload = await net.RunInAsync(net.Server, ["dotnet", RepoPaths.CliDll, "isos", "upload", iso], TimeSpan.FromMinutes(2), server.CliEnvironment(), ct);
        Assert.True(upload.ExitCode == 0, upload.Combined);
        var env = before;
        for (var wait = Stopwatch.StartNew(); !env.GetProperty("Available").GetBoolean() && wait.Elapsed < TimeSpan.FromSeconds(60); await Task.Delay(250, ct))
        {
            env = await SendOkAsync(api, HttpMethod.Get, "bootenvs/lk-iso", null, ct);
        }

        Assert.True(env.GetProperty("Available").GetBoolean(), "the ISO was not exploded: " + env);

        await BootAndAssertAsync(net, tap, server, api, "lk-iso", "lk-iso-vm-1", directory, ct);
        TestContext.Current.SendDiagnosticMessage($"iso-bios image PXE boot: whole test {total.Elapsed.TotalSeconds:F1} s");
    }

    // The iPXE template image push generates (ImagePushCommand): BootParams gets initrd=initrd.img in .ipxe renders.
    private const string Ipxe = """
        #!ipxe
        kernel {{.Env.PathFor "http" .Env.Kernel}} {{.BootParams}} initrd=metadata.cpio || goto failed
        {{range $initrd := .Env.Initrds -}}
        initrd {{$.Env.PathFor "http" $initrd}} || goto failed
        {{end -}}
        initrd {{.ProvisionerURL}}/machines/{{.Machine.UUID}}/metadata.cpio || goto failed
        boot || goto failed
        :failed
        echo Booting {{.Env.Name}} failed

        """;

    private static void RequireBootTools()
    {
        Assert.SkipUnless(NetnsLab.IsRoot, "network-namespace tests need root");
        foreach (var required in new[] { QemuVm.OvmfCode, QemuVm.OvmfVars, "/usr/lib/ipxe/ipxe.efi" })
        {
            Assert.True(File.Exists(required), $"{required} is missing: install ovmf and ipxe (eng/test-packages.txt)");
        }

        TestEnvironment.RequireTool("qemu-system-x86_64", "qemu-system-x86");
    }

    private string OnbootSpec(string layout) => $$"""
        kernel:
          image: {{images.Ref("kernel")}}
          cmdline: "console=ttyS0 panic=-1 loglevel=4"
        init:
          - oci:{{layout}}:init
        onboot:
          - name: hello
            image: oci:{{layout}}:onboot
            command: ["/bin/onboot"]
        services:
          - name: show
            image: oci:{{layout}}:show
            command: ["/bin/show"]
            binds.add: ["/etc/underlay:/etc/underlay"]
        """;

    private static UnderlayServerProcess LabServer(NetnsLab net) => new(
        extraArguments: ["--dhcp-interfaces", "eth0", "--dhcp-probe-timeout", "0"],
        networkNamespace: net.Server,
        address: net.ServerAddress,
        disableNetworkServices: false);

    /// <summary>A subnet, and underlay-discovery as the unknownBootEnv with the image's own kernel+initrd.</summary>
    private static async Task PrepareLabAsync(NetnsLab net, UnderlayServerProcess server, NamespaceApiClient api, BuildResult result, TempDirectory directory, CancellationToken ct)
    {
        await api.CreateAsync(new Subnet
        {
            Name = "push-lab",
            Cidr = $"{net.Network}.0/24",
            ActiveStart = $"{net.Network}.100",
            ActiveEnd = $"{net.Network}.200",
            ActiveLeaseTime = 600,
        }, ct);

        // iPXE is always sent to default.ipxe, the unknownBootEnv's script, which chains a known machine's <mac>.ipxe.
        // underlay-discovery is that bootenv; it needs some kernel+initrd to be available: the image's own serve.
        var discovery = directory.Combine("underlay-discovery-amd64.tar");
        File.Copy(result.Outputs.Single(o => o.Path.EndsWith("-kernel", StringComparison.Ordinal)).Path, directory.Combine("vmlinuz"));
        File.Copy(result.Outputs.Single(o => o.Path.EndsWith("-initrd.img", StringComparison.Ordinal)).Path, directory.Combine("initrd.img"));
        var packed = await ExternalProcess.RunAsync("tar", ["-cf", discovery, "-C", directory.Path, "vmlinuz", "initrd.img"], TimeSpan.FromSeconds(60), cancellationToken: ct);
        Assert.True(packed.ExitCode == 0, packed.Combined);
        var upload = await net.RunInAsync(net.Server, ["dotnet", RepoPaths.CliDll, "isos", "upload", discovery], TimeSpan.FromMinutes(2), server.CliEnvironment(), ct);
        Assert.True(upload.ExitCode == 0, upload.Combined);
        await SendOkAsync(api, HttpMethod.Post, "prefs", """{"unknownBootEnv":"underlay-discovery"}""", ct);
    }

    private static async Task BootAndAssertAsync(NetnsLab net, string tap, UnderlayServerProcess server, NamespaceApiClient api, string bootEnv, string name, TempDirectory directory, CancellationToken ct)
    {
        var machine = await api.CreateAsync(new Machine { Name = name, HardwareAddrs = [Mac], BootEnv = bootEnv }, ct);
        await SendOkAsync(api, HttpMethod.Post, $"machines/{machine.Uuid}/params/linuxkit/userdata", "\"role=pxe-worker-7\"", ct);
        var boot = await BootAsync(net, tap, directory, ct);
        var diagnostics = $"in {boot.Elapsed.TotalSeconds:F0} s\n--- serial\n{Tail(boot.Serial)}\n--- underlayd\n{Tail(server.Output)}";
        Assert.True(boot.Serial.Contains("UNDERLAY-BOOT-DONE", StringComparison.Ordinal), $"the VM did not finish booting {bootEnv} " + diagnostics);
        Assert.True(boot.Serial.Contains(OnbootMarker + " hello", StringComparison.Ordinal), "no onboot marker " + diagnostics);
        // Only the bootenv's own template loads the overlay: discovery (same image, the fallback) would print neither.
        Assert.True(boot.Serial.Contains("hostname: " + name, StringComparison.Ordinal), "no hostname " + diagnostics);
        Assert.True(boot.Serial.Contains("userdata: role=pxe-worker-7", StringComparison.Ordinal), "no userdata " + diagnostics);
        TestContext.Current.SendDiagnosticMessage($"{bootEnv} PXE boot: {boot.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// An init that does what LinuxKit's does, minimally and without runc: runs each onboot container's rootfs with
    /// chroot, then each service's with its binds (here /etc/underlay, as a LinuxKit metadata container would get it),
    /// and prints the hostname the overlay brought.
    /// </summary>
    private static string BootImages(string root)
    {
        var writer = new OciLayoutWriter(root);
        var busybox = File.ReadAllBytes(TestEnvironment.Busybox);
        const string init = """
            #!/bin/busybox sh
            /bin/busybox mount -t devtmpfs devtmpfs /dev
            exec </dev/console >/dev/console 2>&1
            /bin/busybox mount -t proc proc /proc
            /bin/busybox hostname -F /etc/hostname
            echo "hostname: $(/bin/busybox hostname)"
            for d in /containers/onboot/*; do
              r="$d/rootfs"; [ -d "$r/bin" ] || r="$d/lower"
              /bin/busybox chroot "$r" /bin/onboot "${d##*-}"
            done
            for d in /containers/services/*; do
              r="$d/rootfs"; [ -d "$r/bin" ] || r="$d/lower"
              /bin/busybox mkdir -p "$r/etc/underlay"
              /bin/busybox mount --bind /etc/underlay "$r/etc/underlay"
              /bin/busybox chroot "$r" /bin/show
            done
            echo UNDERLAY-BOOT-DONE
            /bin/busybox poweroff -f

            """;
        writer.Add("init", new TestImage().Layer(new LayerBuilder(LayerCompression.Gzip)
            .Dir("bin").Dir("etc").Dir("proc").Dir("sys").Dir("dev")
            .File("bin/busybox", busybox, 0x1ED)
            .Symlink("bin/sh", "busybox")
            .File("init", init, 0x1ED)));
        // Two images: a reference used by two containers is unpacked once, in the first one's bundle (as LinuxKit
        // does), and this init has no runtime.json reader to find it there.
        writer.Add("onboot", new TestImage().Layer(new LayerBuilder(LayerCompression.Gzip)
            .Dir("bin").Dir("etc")
            .File("bin/busybox", busybox, 0x1ED)
            .Symlink("bin/sh", "busybox")
            .File("bin/onboot", $"#!/bin/sh\necho \"{OnbootMarker} $1\"\n", 0x1ED)));
        writer.Add("show", new TestImage().Layer(new LayerBuilder(LayerCompression.Gzip)
            .Dir("bin").Dir("etc")
            .File("bin/busybox", busybox, 0x1ED)
            .Symlink("bin/sh", "busybox")
            .File("bin/show", "#!/bin/sh\necho \"userdata: $(/bin/busybox cat /etc/underlay/userdata)\"\n", 0x1ED)));
        return root;
    }

    private static Task<QemuBoot> BootAsync(NetnsLab net, string tap, TempDirectory directory, CancellationToken ct)
    {
        var serial = directory.Combine("serial.log");
        var command = QemuVm.UefiPxeCommand(tap, Mac, serial, directory.Combine("ovmf-vars.fd"));
        return QemuVm.BootAsync(net, net.Switch, command, serial, "UNDERLAY-BOOT-DONE", BootTimeout, ct);
    }

    private static Core.Registry.ModelType ModelType() => Core.Registry.ModelTypes.Machines;

    private static async Task<string> CurlFileAsync(UnderlayServerProcess server, string path, string target, CancellationToken ct)
    {
        var run = await ExternalProcess.RunAsync("curl", ["-sSf", "-o", target, $"{server.FileServer}{path}"], TimeSpan.FromMinutes(1), cancellationToken: ct);
        Assert.True(run.ExitCode == 0, $"curl {path}: {run.Combined}");
        return target;
    }

    private static async Task<string> CurlTextAsync(UnderlayServerProcess server, string path, CancellationToken ct)
    {
        var run = await ExternalProcess.RunAsync("curl", ["-sSf", $"{server.FileServer}{path}"], TimeSpan.FromMinutes(1), cancellationToken: ct);
        Assert.True(run.ExitCode == 0, $"curl {path}: {run.Combined}");
        return run.StandardOutput;
    }

    private static async Task<List<string>> CpioListAsync(string archive)
    {
        var run = await ExternalProcess.RunAsync("cpio", ["-it", "-F", archive], TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, run.Combined);
        return [.. run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static async Task<string> CpioCatAsync(string archive, string member, TempDirectory directory)
    {
        var run = await ExternalProcess.RunAsync("cpio", ["-i", "--to-stdout", "-F", archive, member], TimeSpan.FromMinutes(1), workingDirectory: directory.Path);
        Assert.True(run.ExitCode == 0, run.Combined);
        // The runner collects output by lines: the members' final newlines are not comparable, their text is.
        return run.StandardOutput.TrimEnd('\n');
    }

    private static string Sha(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    private static async Task<JsonElement> SendOkAsync(NamespaceApiClient api, HttpMethod method, string path, string? json, CancellationToken ct)
    {
        var (status, body) = await api.SendAsync(method, path, json, ct);
        Assert.True((int)status is >= 200 and < 300, $"{method} {path}: {(int)status} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private static string Tail(string text) => text.Length > 6000 ? text[^6000..] : text;
}
