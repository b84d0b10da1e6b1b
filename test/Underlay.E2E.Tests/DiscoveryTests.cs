using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Underlay.Core.Models;
using Underlay.TestUtilities;

namespace Underlay.E2E.Tests;

/// <summary>
/// The discovery half of the provisioning chain on a virtual machine, with nothing faked: a QEMU VM (TCG, BIOS:
/// SeaBIOS and the iPXE ROM of Debian's <c>ipxe-qemu</c> on its virtio NIC) that the server has never heard of is
/// powered on in a network-namespace lab → DHCP, then <c>default.ipxe</c> over HTTP from underlayd → the discovery
/// image built by <c>underlay image build</c> (setup.sh) → its <c>underlay agent</c> creates the machine with a
/// discovery token → <c>discover-base</c> runs the <c>inventory</c> task → the <c>inventory/*</c> params describe
/// the VM.
/// </summary>
[Collection(nameof(DiscoveryTests))]
public sealed class DiscoveryTests
{
    private const string Mac = "52:54:00:e2:e0:01";
    private const int MemoryMb = 1024;
    private const long DiskBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>Power-on to a complete workflow; TCG on a shared 2-core machine boots the kernel in 30-120 s.</summary>
    private static readonly TimeSpan DiscoveryTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task An_unknown_bios_vm_pxe_boots_discovery_registers_itself_and_is_inventoried()
    {
        Assert.SkipUnless(NetnsLab.IsRoot, "network-namespace tests need root");
        Assert.True(DiscoveryImage.Ready, $"the discovery image is missing: run test/Underlay.E2E.Tests/setup.sh (cache: {DiscoveryImage.Directory})");
        Assert.True(ExternalProcess.IsOnPath("qemu-system-x86_64"), "qemu-system-x86_64 is missing: install qemu-system-x86 (eng/test-packages.txt)");
        Assert.True(File.Exists("/usr/lib/ipxe/qemu/efi-virtio.rom"), "QEMU's virtio NIC ROM is missing: install ipxe-qemu");
        var ct = TestContext.Current.CancellationToken;
        var total = Stopwatch.StartNew();
        var work = RepoPaths.NewTempDirectory("e2e-discovery");
        try
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(DiscoveryImage.Tar, ct)));
            await using var net = await NetnsLab.CreateAsync(clients: 0, cancellationToken: ct);
            var tap = await net.AddTapAsync(ct);
            // The prefs a fresh server needs to discover: unknown machines boot underlay-discovery and machines that
            // create themselves get discover-base.
            await using var server = new UnderlayServerProcess(
                extraArguments: ["--dhcp-interfaces", "eth0", "--dhcp-probe-timeout", "0",
                    "--unknown-boot-env", "underlay-discovery", "--default-workflow", "discover-base"],
                networkNamespace: net.Server,
                address: net.ServerAddress,
                disableNetworkServices: false);
            await server.StartAsync(ct);
            using var api = server.NamespaceAdminClient();
            await api.CreateAsync(new Subnet
            {
                Name = "e2e-lab",
                Cidr = $"{net.Network}.0/24",
                ActiveStart = $"{net.Network}.100",
                ActiveEnd = $"{net.Network}.200",
                ActiveLeaseTime = 600,
            }, ct);

            // The image goes in as an operator would put it: the CLI uploads the tar, the server explodes it.
            var upload = await net.RunInAsync(net.Server, ["dotnet", RepoPaths.CliDll, "isos", "upload", DiscoveryImage.Tar, "--sha256", sha], TimeSpan.FromSeconds(180), server.CliEnvironment(), ct);
            Assert.True(upload.ExitCode == 0, "underlay isos upload failed: " + upload.Combined);
            await WaitAsync(async () => (await GetAsync(api, "bootenvs/underlay-discovery", ct)).GetProperty("Available").GetBoolean(), "underlay-discovery to become available", TimeSpan.FromSeconds(60), ct);
            await SendOkAsync(api, HttpMethod.Post, "profiles/global/params/kernel-console", "\"console=ttyS0\"", ct);
            Assert.Empty(await api.ListAsync<Machine>("", ct));

            var disk = Path.Combine(work, "disk.img");
            using (var file = File.Create(disk))
            {
                file.SetLength(DiskBytes);
            }

            var serial = Path.Combine(work, "serial.log");
            var qemu = net.StartIn(net.Switch, [
                "qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", MemoryMb.ToString(CultureInfo.InvariantCulture), "-smp", "1",
                "-nographic", "-nodefaults", "-no-reboot", "-monitor", "none", "-serial", "file:" + serial,
                "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no",
                // The NIC's option ROM (efi-virtio.rom from ipxe-qemu) is the PXE client SeaBIOS runs.
                "-device", $"virtio-net-pci,netdev=n0,mac={Mac},bootindex=1",
                "-drive", $"file={disk},format=raw,if=virtio,cache=unsafe",
            ]);
            try
            {
                // The machine appears by itself, with the VM's MAC, and works through discover-base.
                Machine? machine = null;
                var clock = Stopwatch.StartNew();
                TimeSpan? registered = null;
                while (clock.Elapsed < DiscoveryTimeout && !qemu.HasExited)
                {
                    var machines = await api.ListAsync<Machine>("", ct);
                    machine = machines.FirstOrDefault(m => m.HardwareAddrs.Contains(Mac, StringComparer.OrdinalIgnoreCase));
                    registered ??= machine is null ? null : clock.Elapsed;
                    if (machine is { WorkflowComplete: true })
                    {
                        break;
                    }

                    await Task.Delay(2000, ct);
                }

                var console = await QemuVm.ReadSerialAsync(serial, ct);
                Assert.True(machine is not null, $"no machine with MAC {Mac} was created in {clock.Elapsed.TotalSeconds:F0} s\n--- serial\n{Tail(console)}\n--- underlayd\n{Tail(server.Output)}");
                Assert.True(machine.WorkflowComplete, $"discover-base did not complete in {clock.Elapsed.TotalSeconds:F0} s (stage {machine.Stage}, task {machine.CurrentTask})\n--- serial\n{Tail(console)}\n--- underlayd\n{Tail(server.Output)}");
                Assert.Equal("discover-base", machine.Workflow);
                Assert.Equal("complete", machine.Stage);
                Assert.Contains("underlay-discovery: leases on: eth0", console, StringComparison.Ordinal);

                var inventory = await GetAsync(api, $"machines/{machine.Uuid}/params", ct);
                string Describe() => inventory.GetRawText();
                Assert.Equal(1, inventory.GetProperty("inventory/cpus").GetInt32());
                Assert.Equal(MemoryMb, inventory.GetProperty("inventory/memory-mb").GetInt32());
                Assert.InRange(inventory.GetProperty("inventory/memtotal-kb").GetInt64(), MemoryMb * 1024L * 3 / 4, MemoryMb * 1024L);
                var disks = inventory.GetProperty("inventory/disks").EnumerateArray().ToList();
                Assert.True(disks.Count == 1, Describe());
                Assert.Equal(DiskBytes, disks[0].GetProperty("size-bytes").GetInt64());
                Assert.Equal("vda", disks[0].GetProperty("name").GetString());
                var nics = inventory.GetProperty("inventory/nics").EnumerateArray().ToList();
                Assert.True(nics.Count == 1, Describe());
                Assert.Equal(Mac, nics[0].GetProperty("mac").GetString());
                Assert.True(nics[0].GetProperty("link").GetBoolean(), Describe());
                Assert.Equal("virtio_net", nics[0].GetProperty("driver").GetString());
                Assert.Equal("bios", inventory.GetProperty("inventory/boot-mode").GetString());
                Assert.Equal("QEMU", inventory.GetProperty("inventory/smbios").GetProperty("sys-vendor").GetString());

                TestContext.Current.SendDiagnosticMessage(
                    $"BIOS discovery: machine registered {registered?.TotalSeconds:F1} s after power-on, discover-base complete at {clock.Elapsed.TotalSeconds:F1} s, whole test {total.Elapsed.TotalSeconds:F1} s");
            }
            finally
            {
                // By PID, while the lab still holds the process (its dispose kills it too, and a second kill throws).
                if (!qemu.HasExited)
                {
                    await ExternalProcess.RunAsync("kill", ["-KILL", qemu.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), cancellationToken: CancellationToken.None);
                    for (var i = 0; i < 40 && !qemu.HasExited; i++)
                    {
                        await Task.Delay(250, CancellationToken.None);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
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

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200, ct);
        }
    }

    private static string Tail(string text) => text.Length > 8000 ? text[^8000..] : text;
}
