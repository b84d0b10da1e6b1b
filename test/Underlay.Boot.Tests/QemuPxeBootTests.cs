using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Underlay.Boot.Tests.Support;
using Underlay.Core.Models;
using Underlay.TestUtilities;

namespace Underlay.Boot.Tests;

/// <summary>
/// The key acceptance test of the boot services: a QEMU VM (software emulation) net-boots from the real underlayd in
/// a network namespace lab the test builds (a bridge and a tap device), and its serial console proves which boot
/// script it got.
/// <list type="number">
/// <item>Unknown machine, UEFI (OVMF's own PXE stack, no NIC option ROM): DHCP from Underlay (arch 7) → TFTP
/// <c>ipxe.efi</c> (from Debian's <c>ipxe</c> package, served by underlayd) → iPXE DHCPs again and is sent to
/// <c>http://server:port/default.ipxe</c>, the <c>underlay-discovery</c> fallback → it boots the kernel + initramfs
/// uploaded as that bootenv's ISO (a tar, exploded by the server) → <c>/init</c> prints the discovery marker.</item>
/// <item>The machine is then known (created through the API with the VM's MAC) and its bootenv changed: the same
/// firmware path gets <c>default.ipxe</c> again, which now chains the per-MAC render → the kernel line of the new
/// bootenv → a different marker.</item>
/// </list>
/// </summary>
[Collection(nameof(QemuPxeBootTests))]
public sealed class QemuPxeBootTests
{
    private const string Mac = "52:54:00:99:00:42";

    /// <summary>Each boot, from QEMU's start to the marker; TCG on a shared 2-core machine takes 15-60 s.</summary>
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(180);



    [Fact]
    public async Task A_vm_pxe_boots_discovery_from_underlay_then_its_own_bootenv_once_known()
    {
        Assert.SkipUnless(NetnsLab.IsRoot, "network-namespace tests need root");
        Assert.True(BootTestCache.Ready, $"the boot test cache is missing: run test/Underlay.Boot.Tests/setup.sh (cache: {BootTestCache.Directory})");
        foreach (var required in new[] { QemuVm.OvmfCode, QemuVm.OvmfVars, "/usr/lib/ipxe/ipxe.efi" })
        {
            Assert.True(File.Exists(required), $"{required} is missing: install the packages in eng/test-packages.txt (ovmf, ipxe)");
        }

        Assert.True(ExternalProcess.IsOnPath("qemu-system-x86_64"), "qemu-system-x86_64 is missing: install qemu-system-x86 (eng/test-packages.txt)");
        var ct = TestContext.Current.CancellationToken;
        var total = Stopwatch.StartNew();
        var work = RepoPaths.NewTempDirectory("qemu-pxe");
        try
        {
            // The discovery image: the cached Debian kernel and a busybox initramfs, as the tar "ISO" the
            // underlay-discovery bootenv names (OS.IsoFile); the server explodes it to underlay-discovery/.
            File.Copy(BootTestCache.Kernel, Path.Combine(work, "vmlinuz"));
            await BootTestCache.BuildInitramfsAsync(work, ct);
            var tar = Path.Combine(work, "underlay-discovery-amd64.tar");
            var packed = await ExternalProcess.RunAsync("tar", ["-cf", tar, "-C", work, "vmlinuz", "initrd.img"], TimeSpan.FromSeconds(60), cancellationToken: ct);
            Assert.True(packed.ExitCode == 0, packed.Combined);
            var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(tar, ct)));

            await using var net = await NetnsLab.CreateAsync(clients: 0, cancellationToken: ct);
            var tap = await net.AddTapAsync(ct);
            await using var server = new UnderlayServerProcess(
                extraArguments: ["--dhcp-interfaces", "eth0", "--dhcp-probe-timeout", "0"],
                environment: new Dictionary<string, string> { ["UNDERLAY_LOG_LEVEL"] = "Debug" },
                networkNamespace: net.Server,
                address: net.ServerAddress,
                disableNetworkServices: false);
            await server.StartAsync(ct);
            await StartRouterAdvertisementsAsync(net, ct);
            using var api = server.NamespaceAdminClient();

            await api.CreateAsync(new Subnet
            {
                Name = "pxe-lab",
                Cidr = $"{net.Network}.0/24",
                ActiveStart = $"{net.Network}.100",
                ActiveEnd = $"{net.Network}.200",
                ActiveLeaseTime = 600,
            }, ct);

            // Upload through the CLI inside the lab (the host cannot reach it), with its sha256 check.
            var upload = await net.RunInAsync(net.Server, ["dotnet", RepoPaths.CliDll, "isos", "upload", tar, "--sha256", sha], TimeSpan.FromSeconds(120), server.CliEnvironment(), ct);
            Assert.True(upload.ExitCode == 0, "underlay isos upload failed: " + upload.Combined);
            Assert.Contains("underlay-discovery", upload.StandardOutput, StringComparison.Ordinal);
            await WaitAsync(async () => (await GetAsync(api, "bootenvs/underlay-discovery", ct)).GetProperty("Available").GetBoolean(), "underlay-discovery to become available", ct);

            await SendOkAsync(api, HttpMethod.Post, "profiles/global/params/kernel-console", "\"console=ttyS0\"", ct);
            await SendOkAsync(api, HttpMethod.Post, "profiles/global/params/kernel-options", "\"panic=-1 loglevel=4 underlay.marker=discovered\"", ct);
            await SendOkAsync(api, HttpMethod.Post, "prefs", """{"unknownBootEnv":"underlay-discovery"}""", ct);

            // Boot 1: an unknown machine, UEFI PXE → TFTP ipxe.efi → default.ipxe → discovery kernel.
            var first = await BootAsync(net, tap, work, ct);
            Assert.True(first.Serial.Contains("UNDERLAY-INIT-REACHED marker=[discovered]", StringComparison.Ordinal),
                $"first boot did not reach the discovery initramfs in {first.Elapsed.TotalSeconds:F0} s\n--- serial\n{Tail(first.Serial)}\n--- underlayd\n{Tail(server.Output)}");
            Assert.Contains("default.ipxe", first.Serial, StringComparison.Ordinal);
            Assert.Contains("ipxe.efi", server.Output, StringComparison.Ordinal);

            // The machine becomes known; its bootenv changes from local to a test bootenv, which makes it not runnable.
            await api.CreateAsync(new BootEnv
            {
                Name = "pxe-test",
                Kernel = "vmlinuz",
                Initrds = ["initrd.img"],
                BootParams = "console=ttyS0 panic=-1 loglevel=4 underlay.marker=machine-{{.Machine.Name}}",
                OS = new BootEnvOS { Name = "underlay-discovery" },
                Templates = [new TemplateInfo { Name = "ipxe-mac", Path = "{{.Machine.MacAddr \"ipxe\"}}.ipxe", ID = "underlay-ipxe.tmpl" }],
            }, ct);
            var machine = await api.CreateAsync(new Machine { Name = "pxe-vm", HardwareAddrs = [Mac], BootEnv = "local" }, ct);
            var patched = await SendOkAsync(api, HttpMethod.Patch, $"machines/{machine.Uuid}", """[{"op":"replace","path":"/BootEnv","value":"pxe-test"}]""", ct);
            Assert.False(patched.GetProperty("Runnable").GetBoolean());

            // Boot 2: the same path → default.ipxe → chains <mac>.ipxe, this machine's own render.
            var second = await BootAsync(net, tap, work, ct);
            Assert.True(second.Serial.Contains("UNDERLAY-INIT-REACHED marker=[machine-pxe-vm]", StringComparison.Ordinal),
                $"second boot did not reach the per-machine kernel line in {second.Elapsed.TotalSeconds:F0} s\n--- serial\n{Tail(second.Serial)}\n--- underlayd\n{Tail(server.Output)}");
            Assert.DoesNotContain("marker=[discovered]", second.Serial, StringComparison.Ordinal);
            TestContext.Current.SendDiagnosticMessage($"QEMU PXE boot: discovery boot {first.Elapsed.TotalSeconds:F1} s, per-machine boot {second.Elapsed.TotalSeconds:F1} s, whole test {total.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Runs one VM boot until the initramfs marker or power-off, bounded by <see cref="BootTimeout"/>.</summary>
    private static Task<QemuBoot> BootAsync(NetnsLab net, string tap, string work, CancellationToken ct)
    {
        var serial = Path.Combine(work, $"serial-{Guid.NewGuid():N}.log");
        var command = QemuVm.UefiPxeCommand(tap, Mac, serial, Path.Combine(work, "ovmf-vars.fd"));
        return QemuVm.BootAsync(net, net.Switch, command, serial, "UNDERLAY-INIT-REACHED", BootTimeout, ct);
    }

    /// <summary>
    /// Without an IPv6 router advertisement iPXE spends about 13 s configuring IPv6 before it uses its DHCPv4 lease
    /// (shared/tools README). An RA-only dnsmasq in the server namespace (no DHCP, DNS or TFTP) avoids that wait.
    /// Best effort: without it the boot is only slower.
    /// </summary>
    private static async Task StartRouterAdvertisementsAsync(NetnsLab net, CancellationToken ct)
    {
        if (!ExternalProcess.IsOnPath("dnsmasq"))
        {
            return;
        }

        await net.RunInAsync(net.Server, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.eth0.disable_ipv6=0"], TimeSpan.FromSeconds(10), cancellationToken: ct);
        await net.RunInAsync(net.Server, ["ip", "addr", "add", "fd99::1/64", "dev", "eth0", "nodad"], TimeSpan.FromSeconds(10), cancellationToken: ct);
        net.StartIn(net.Server, [
            "dnsmasq", "-k", "--conf-file=/dev/null", "--port=0", "--no-resolv", "--no-hosts", "--interface=eth0", "--bind-interfaces",
            "--user=root", "--pid-file=", "--leasefile-ro", "--enable-ra", "--dhcp-range=fd99::,ra-only,64",
        ]);
    }

    private static async Task<JsonElement> GetAsync(NamespaceApiClient api, string path, CancellationToken ct) =>
        await SendOkAsync(api, HttpMethod.Get, path, null, ct);

    private static async Task<JsonElement> SendOkAsync(NamespaceApiClient api, HttpMethod method, string path, string? json, CancellationToken ct)
    {
        var (status, body) = await api.SendAsync(method, path, json, ct);
        Assert.True((int)status is >= 200 and < 300, $"{method} {path}: {(int)status} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200, ct);
        }
    }

    private static string Tail(string text) => text.Length > 6000 ? text[^6000..] : text;
}
