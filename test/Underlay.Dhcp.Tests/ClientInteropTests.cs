using Underlay.Core.Models;
using Underlay.Dhcp.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Dhcp.Tests;

/// <summary>
/// Real DHCP clients (busybox udhcpc, ISC dhclient) against the real underlayd, in network namespaces the tests
/// create and remove. Leases are checked through the API at every step.
/// </summary>
[Collection("netns")]
public sealed class ClientInteropTests
{
    private static Subnet Lab(int leaseTime = 600) => new()
    {
        Name = "lab",
        Cidr = "10.99.0.0/24",
        ActiveStart = "10.99.0.100",
        ActiveEnd = "10.99.0.200",
        ActiveLeaseTime = leaseTime,
        Options = [new DhcpOption { Code = 3, Value = "10.99.0.1" }, new DhcpOption { Code = 6, Value = "10.99.0.1" }],
    };

    [Fact]
    public async Task Udhcpc_obtains_renews_and_releases_a_lease()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(1, cancellationToken: ct);
        await lab.AddSubnetAsync(Lab());
        var mac = await lab.Net.MacOfAsync(lab.Client(1), ct);
        var (script, log) = lab.UdhcpcScript("udhcpc");
        var client = lab.Net.StartIn(lab.Client(1), ["busybox", "udhcpc", "-i", "eth0", "-f", "-s", script, "-t", "5", "-T", "1"]);

        var bound = await lab.WaitForEventAsync(log, "bound", process: client);
        Assert.Equal("10.99.0.100", DhcpLab.Value(bound, "ip"));
        Assert.Equal("10.99.0.1", DhcpLab.Value(bound, "serverid"));
        Assert.Equal("10.99.0.1", DhcpLab.Value(bound, "router"));
        Assert.Equal("600", DhcpLab.Value(bound, "lease"));
        var acked = await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Ack);
        Assert.Equal(mac, acked.Token);

        // SIGUSR1: udhcpc renews (unicast REQUEST with ciaddr, RENEWING); the lease's expiry moves on.
        await Task.Delay(1100, ct);
        await ExternalProcess.RunAsync("kill", ["-USR1", client.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5), cancellationToken: ct);
        var renewed = await lab.WaitForEventAsync(log, "renew", process: client);
        Assert.Equal("10.99.0.100", DhcpLab.Value(renewed, "ip"));
        await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Ack, also: l => l.ExpireTime > acked.ExpireTime);
        await lab.WaitForOutputAsync("yiaddr 10.99.0.100 to 10.99.0.100:68", TimeSpan.FromSeconds(5));

        // SIGUSR2: udhcpc releases; the lease expires at once and the address is free again.
        await ExternalProcess.RunAsync("kill", ["-USR2", client.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5), cancellationToken: ct);
        await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Expired);
    }

    [Fact]
    public async Task Dhclient_obtains_renews_and_releases_a_lease()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.SkipUnless(ExternalProcess.IsOnPath("dhclient"), "dhclient (isc-dhcp-client) is not installed");
        await using var lab = await DhcpLab.StartAsync(1, cancellationToken: ct);

        // DRP's minimum lease time, 60 s: dhclient renews at T1 = 30 s.
        await lab.AddSubnetAsync(Lab(leaseTime: 60));
        var mac = await lab.Net.MacOfAsync(lab.Client(1), ct);
        var (script, log) = lab.DhclientScript("dhclient");
        var leases = Path.Combine(lab.Directory, "dhclient.leases");
        var pid = Path.Combine(lab.Directory, "dhclient.pid");
        var config = Path.Combine(lab.Directory, "dhclient.conf");
        await File.WriteAllTextAsync(config, "request subnet-mask, routers, domain-name-servers, dhcp-lease-time;\n", ct);
        string[] common = ["dhclient", "-4", "-cf", config, "-sf", script, "-lf", leases, "-pf", pid];
        var client = lab.Net.StartIn(lab.Client(1), [.. common, "-d", "-v", "eth0"]);

        var bound = await lab.WaitForEventAsync(log, "BOUND", process: client);
        Assert.Equal("10.99.0.100", DhcpLab.Value(bound, "ip"));
        Assert.Equal("10.99.0.1", DhcpLab.Value(bound, "server"));
        var acked = await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Ack);
        Assert.Equal(mac, acked.Token);

        var renewed = await lab.WaitForEventAsync(log, "RENEW", timeout: TimeSpan.FromSeconds(50), process: client);
        Assert.Equal("10.99.0.100", DhcpLab.Value(renewed, "ip"));
        await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Ack, also: l => l.ExpireTime > acked.ExpireTime);

        // dhclient -r stops the running client and sends RELEASE.
        var release = await lab.Net.RunInAsync(lab.Client(1), [.. common, "-r", "eth0"], TimeSpan.FromSeconds(20), cancellationToken: ct);
        Assert.False(release.TimedOut, release.Combined);
        await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Expired);
    }

    [Fact]
    public async Task Pxe_style_clients_get_the_boot_file_for_their_architecture()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(1, cancellationToken: ct);
        await lab.AddSubnetAsync(Lab());
        var cases = new (string Name, string[] Arguments, string File)[]
        {
            ("bios", ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"], "ipxe.pxe"),
            ("uefi-x64", ["-V", "PXEClient:Arch:00007:UNDI:003001", "-x", "0x5d:0007"], "ipxe.efi"),
            ("uefi-x64-9", ["-V", "PXEClient", "-x", "0x5d:0009"], "ipxe.efi"),
            ("arm64", ["-V", "PXEClient:Arch:00011:UNDI:003001", "-x", "0x5d:000b"], "ipxe-arm64.efi"),
            ("ipxe", ["-V", "PXEClient:Arch:00007:UNDI:003001", "-x", "0x5d:0007", "-x", "0x4d:69505845"], "http://10.99.0.1:"),
            ("plain", [], ""),
        };
        foreach (var (name, arguments, file) in cases)
        {
            var (script, log) = lab.UdhcpcScript(name);
            var result = await lab.UdhcpcOnceAsync(lab.Client(1), script, [.. arguments, "-O", "bootfile", "-O", "tftp"]);
            Assert.Equal(0, result.ExitCode);
            var bound = await lab.WaitForEventAsync(log, "bound");
            Assert.Equal("10.99.0.100", DhcpLab.Value(bound, "ip"));
            if (file.Length == 0)
            {
                Assert.Equal("", DhcpLab.Value(bound, "boot_file"));
            }
            else
            {
                Assert.StartsWith(file, DhcpLab.Value(bound, "boot_file"), StringComparison.Ordinal);
                Assert.Equal("10.99.0.1", DhcpLab.Value(bound, "siaddr"));
                Assert.Equal("10.99.0.1", DhcpLab.Value(bound, "sname"));
            }

            await lab.Net.IpInAsync(lab.Client(1), "addr", "flush", "dev", "eth0");
        }

        var ipxe = DhcpLab.Events(Path.Combine(lab.Directory, "ipxe.events")).First(l => l.StartsWith("bound", StringComparison.Ordinal));
        Assert.EndsWith("/default.ipxe", DhcpLab.Value(ipxe, "boot_file"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reservations_win_only_reservations_ignores_strangers_and_disabled_subnets_are_silent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(2, cancellationToken: ct);
        var subnet = Lab();
        subnet.OnlyReservations = true;
        await lab.AddSubnetAsync(subnet);
        var reservedMac = await lab.Net.MacOfAsync(lab.Client(1), ct);
        await lab.AddAsync(new Reservation { Addr = "10.99.0.42", Token = reservedMac, Duration = 7200 });

        var (script1, log1) = lab.UdhcpcScript("reserved");
        Assert.Equal(0, (await lab.UdhcpcOnceAsync(lab.Client(1), script1, "-r", "10.99.0.150")).ExitCode);
        var bound = await lab.WaitForEventAsync(log1, "bound");
        Assert.Equal("10.99.0.42", DhcpLab.Value(bound, "ip"));
        Assert.Equal("7200", DhcpLab.Value(bound, "lease"));
        await lab.WaitForLeaseAsync("10.99.0.42", LeaseStates.Ack);

        var (script2, log2) = lab.UdhcpcScript("stranger");
        var stranger = await lab.UdhcpcOnceAsync(lab.Client(2), script2);
        Assert.NotEqual(0, stranger.ExitCode);
        Assert.DoesNotContain(DhcpLab.Events(log2), l => l.StartsWith("bound", StringComparison.Ordinal));

        // Disabled: nobody gets anything from the subnet any more (the reservation aside, as in DRP).
        var (status, body) = await lab.Api.SendAsync(HttpMethod.Patch, "subnets/lab", """[{"op":"replace","path":"/Enabled","value":false},{"op":"replace","path":"/OnlyReservations","value":false}]""", ct);
        Assert.True((int)status == 200, body);
        await Task.Delay(300, ct);
        var disabled = await lab.UdhcpcOnceAsync(lab.Client(2), script2);
        Assert.NotEqual(0, disabled.ExitCode);
        Assert.Empty(await lab.Api.ListAsync<Lease>("?Token=" + await lab.Net.MacOfAsync(lab.Client(2), ct), ct));
    }
}

[CollectionDefinition("netns", DisableParallelization = true)]
public sealed class NetnsCollection;
