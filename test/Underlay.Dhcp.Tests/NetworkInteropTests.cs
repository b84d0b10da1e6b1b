using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Underlay.Core.Models;
using Underlay.Dhcp.Tests.Support;
using Underlay.TestUtilities;

namespace Underlay.Dhcp.Tests;

/// <summary>Relays, proxy DHCP beside dnsmasq, probes, restarts and hostile traffic, against the real underlayd.</summary>
[Collection("netns")]
public sealed class NetworkInteropTests
{
    private static Subnet Lab(string start = "10.99.0.100", string end = "10.99.0.200") => new()
    {
        Name = "lab",
        Cidr = "10.99.0.0/24",
        ActiveStart = start,
        ActiveEnd = end,
        ActiveLeaseTime = 600,
        Options = [new DhcpOption { Code = 3, Value = "10.99.0.1" }],
    };

    [Fact]
    public async Task A_relayed_exchange_through_isc_dhcrelay_works()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.SkipUnless(ExternalProcess.IsOnPath("dhcrelay"), "dhcrelay (isc-dhcp-relay) is not installed");
        await using var lab = await DhcpLab.StartAsync(1, cancellationToken: ct);

        // Segment 2 (br1, 10.77.0.0/24) reaches the server only through the relay namespace c1.
        var relay = lab.Client(1);
        await lab.Net.AddBridgeAsync("br1", ct);
        await lab.Net.IpInAsync(relay, "addr", "add", "10.99.0.2/24", "dev", "eth0");
        await lab.Net.AddLinkAsync(relay, "eth1", "br1", ct);
        await lab.Net.IpInAsync(relay, "addr", "add", "10.77.0.1/24", "dev", "eth1");
        await lab.Net.IpInAsync(lab.Net.Server, "route", "add", "10.77.0.0/24", "via", "10.99.0.2");
        var client = await lab.Net.AddClientAsync(null, "br1", ct);
        await lab.AddSubnetAsync(new Subnet
        {
            Name = "remote",
            Cidr = "10.77.0.0/24",
            ActiveStart = "10.77.0.10",
            ActiveEnd = "10.77.0.20",
            Options = [new DhcpOption { Code = 3, Value = "10.77.0.1" }],
        });

        // -a: the relay adds option 82 and drops replies that do not echo it back.
        var dhcrelay = lab.Net.StartIn(relay, ["dhcrelay", "-d", "-4", "-a", "--no-pid", "-id", "eth1", "-iu", "eth0", "10.99.0.1"]);
        Assert.True(await lab.Net.WaitForPortAsync(relay, "udp", 67, TimeSpan.FromSeconds(10), ct), dhcrelay.Output);

        var (script, log) = lab.UdhcpcScript("relayed");
        var result = await lab.UdhcpcOnceAsync(client, script, "-V", "PXEClient", "-x", "0x5d:0007");
        Assert.True(result.ExitCode == 0, result.Combined + dhcrelay.Output + DhcpLab.Tail(lab.Server.Output));
        var bound = await lab.WaitForEventAsync(log, "bound");
        Assert.Equal("10.77.0.10", DhcpLab.Value(bound, "ip"));
        Assert.Equal("10.77.0.1", DhcpLab.Value(bound, "router"));
        Assert.Equal("10.99.0.1", DhcpLab.Value(bound, "serverid"));
        Assert.Equal("ipxe.efi", DhcpLab.Value(bound, "boot_file"));
        var lease = await lab.WaitForLeaseAsync("10.77.0.10", LeaseStates.Ack);
        Assert.Equal("10.77.0.1", lease.Via);
        Assert.Contains("to 10.77.0.1:67", lab.Server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proxy_dhcp_beside_dnsmasq_gives_the_client_an_address_and_a_boot_file()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(2, cancellationToken: ct);
        await lab.AddSubnetAsync(new Subnet { Name = "proxy", Cidr = "10.99.0.0/24", Proxy = true });

        // dnsmasq owns the addresses (no boot options of its own).
        var dhcpHost = lab.Client(1);
        await lab.Net.IpInAsync(dhcpHost, "addr", "add", "10.99.0.2/24", "dev", "eth0");
        var dnsmasq = lab.Net.StartIn(dhcpHost,
        [
            "/usr/sbin/dnsmasq", "--keep-in-foreground", "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--port=0",
            "--interface=eth0", "--bind-interfaces", "--except-interface=lo", "--dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h",
            $"--dhcp-leasefile={Path.Combine(lab.Directory, "dnsmasq.leases")}", "--dhcp-authoritative", "--no-ping", "--log-dhcp", "--user=root", "--pid-file=",
        ]);
        Assert.True(await lab.Net.WaitForPortAsync(dhcpHost, "udp", 67, TimeSpan.FromSeconds(10), ct), dnsmasq.Output);

        // The client does what a UEFI PXE ROM does: DISCOVER, take the address offer and the proxy offer,
        // REQUEST the address from dnsmasq, then ask the boot server on 4011 from the new address.
        var clientNs = lab.Client(2);
        var mac = await lab.Net.MacOfAsync(clientNs, ct);
        var macValue = Convert.ToUInt64(mac.Replace(":", "", StringComparison.Ordinal), 16);
        using var socket = NetnsSocket.CreateUdp(clientNs);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.SetRawSocketOption(1, 25, Encoding.ASCII.GetBytes("eth0\0"));
        socket.EnableBroadcast = true;
        socket.Bind(new IPEndPoint(IPAddress.Any, 68));
        byte[] uuid = [0, .. Enumerable.Range(1, 16).Select(i => (byte)i)];

        var discover = PacketBuilder.Discover(macValue).Pxe(7).RequestList(1, 3, 43, 60, 66, 67, 97).With(97, uuid);
        discover.Xid = 0x0badcafe;
        discover.Flags = 0x8000;
        var offers = await ExchangeAsync(socket, discover.Build(), new IPEndPoint(IPAddress.Broadcast, 67), 0x0badcafe, TimeSpan.FromSeconds(3), want: 2, ct);
        var addressOffer = offers.Single(o => o.YiAddr != "0.0.0.0");
        var proxyOffer = offers.Single(o => o.YiAddr == "0.0.0.0");
        Assert.Equal("10.99.0.2", addressOffer.AddressOf(54));
        Assert.Equal("10.99.0.1", proxyOffer.AddressOf(54));
        Assert.Equal("PXEClient", proxyOffer.Text(60));
        Assert.Equal("ipxe.efi", proxyOffer.File);
        Assert.Equal("10.99.0.1", proxyOffer.SiAddr);
        Assert.Equal(uuid, proxyOffer.Get(97));

        var request = PacketBuilder.Request(macValue).Pxe(7).WithAddress(50, addressOffer.YiAddr).With(54, 10, 99, 0, 2).RequestList(1, 3, 66, 67).With(97, uuid);
        request.Xid = 0x0badcafe;
        request.Flags = 0x8000;
        var acks = await ExchangeAsync(socket, request.Build(), new IPEndPoint(IPAddress.Broadcast, 67), 0x0badcafe, TimeSpan.FromSeconds(3), want: 1, ct);
        var ack = acks.Single(a => a.Type == 5);
        Assert.Equal(addressOffer.YiAddr, ack.YiAddr);
        await lab.Net.IpInAsync(clientNs, "addr", "add", ack.YiAddr + "/24", "dev", "eth0");

        var binl = new PacketBuilder(3, macValue) { CiAddr = PacketBuilder.Address(ack.YiAddr), Xid = 0x0badbeef }.Pxe(7).RequestList(43, 60, 66, 67, 97).With(97, uuid);
        var boot = await ExchangeAsync(socket, binl.Build(), new IPEndPoint(IPAddress.Parse("10.99.0.1"), 4011), 0x0badbeef, TimeSpan.FromSeconds(3), want: 1, ct);
        var bootAck = Assert.Single(boot);
        Assert.Equal(5, bootAck.Type);
        Assert.Equal(ack.YiAddr, bootAck.YiAddr);
        Assert.Equal("ipxe.efi", bootAck.File);
        Assert.Equal("10.99.0.1", bootAck.SiAddr);

        // Underlay handed out no address of its own.
        Assert.Empty(await lab.LeasesAsync());
    }

    private static async Task<List<Reply>> ExchangeAsync(Socket socket, byte[] packet, IPEndPoint destination, uint xid, TimeSpan wait, int want, CancellationToken ct)
    {
        await socket.SendToAsync(packet, SocketFlags.None, destination, ct);
        var replies = new List<Reply>();
        var buffer = new byte[2048];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(wait);
        try
        {
            while (replies.Count < want)
            {
                var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
                var reply = new Reply(buffer.AsSpan(0, received.ReceivedBytes).ToArray(), 0, 0);
                if (reply.Op == 2 && reply.Xid == xid)
                {
                    replies.Add(reply);
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }

        return replies;
    }

    [Fact]
    public async Task An_address_that_answers_the_icmp_probe_is_quarantined_and_the_next_one_offered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(2, ["--dhcp-probe-timeout", "500"], cancellationToken: ct);
        await lab.AddSubnetAsync(Lab());

        // Someone already uses 10.99.0.100 without a lease.
        await lab.Net.IpInAsync(lab.Client(2), "addr", "add", "10.99.0.100/24", "dev", "eth0");
        var (script, log) = lab.UdhcpcScript("probed");
        Assert.Equal(0, (await lab.UdhcpcOnceAsync(lab.Client(1), script)).ExitCode);
        var bound = await lab.WaitForEventAsync(log, "bound");
        Assert.Equal("10.99.0.101", DhcpLab.Value(bound, "ip"));
        await lab.WaitForLeaseAsync("10.99.0.100", LeaseStates.Invalid);
        await lab.WaitForLeaseAsync("10.99.0.101", LeaseStates.Ack);
        Assert.Contains("10.99.0.100 answered a probe", lab.Server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_exhausted_pool_answers_nothing_and_raises_an_event()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(2, cancellationToken: ct);
        await lab.AddSubnetAsync(Lab("10.99.0.100", "10.99.0.100"));
        using var events = await lab.Api.WatchAsync(["dhcp.*.*"], ct);

        var (script1, log1) = lab.UdhcpcScript("first");
        Assert.Equal(0, (await lab.UdhcpcOnceAsync(lab.Client(1), script1)).ExitCode);
        Assert.Equal("10.99.0.100", DhcpLab.Value(await lab.WaitForEventAsync(log1, "bound"), "ip"));

        var (script2, _) = lab.UdhcpcScript("second");
        Assert.NotEqual(0, (await lab.UdhcpcOnceAsync(lab.Client(2), script2)).ExitCode);

        var buffer = new byte[8192];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var message = await events.ReceiveAsync(buffer, timeout.Token);
        var text = Encoding.UTF8.GetString(buffer, 0, message.Count);
        Assert.Contains("\"Type\":\"dhcp\"", text, StringComparison.Ordinal);
        Assert.Contains("\"Action\":\"exhausted\"", text, StringComparison.Ordinal);
        Assert.Contains("\"Key\":\"lab\"", text, StringComparison.Ordinal);
        await events.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", ct);
    }

    [Fact]
    public async Task Hostile_traffic_and_a_sigkill_restart_keep_every_acked_lease()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var lab = await DhcpLab.StartAsync(4, cancellationToken: ct);
        await lab.AddSubnetAsync(Lab());
        var acked = new Dictionary<string, string>();
        for (var i = 1; i <= 3; i++)
        {
            var (script, log) = lab.UdhcpcScript($"client{i}");
            Assert.Equal(0, (await lab.UdhcpcOnceAsync(lab.Client(i), script)).ExitCode);
            acked[DhcpLab.Value(await lab.WaitForEventAsync(log, "bound"), "ip")] = await lab.Net.MacOfAsync(lab.Client(i), ct);
        }

        foreach (var address in acked.Keys)
        {
            await lab.WaitForLeaseAsync(address, LeaseStates.Ack);
        }

        // 20,000 random and mutated datagrams from another host, broadcast and unicast.
        var attacker = lab.Client(4);
        await lab.Net.IpInAsync(attacker, "addr", "add", "10.99.0.250/24", "dev", "eth0");
        using (var socket = NetnsSocket.CreateUdp(attacker))
        {
            socket.EnableBroadcast = true;
            socket.SetRawSocketOption(1, 25, Encoding.ASCII.GetBytes("eth0\0"));
            socket.Bind(new IPEndPoint(IPAddress.Any, 68));
            var random = new Random(4242);
            var valid = PacketBuilder.Discover(0x0e0000000001).Pxe(0).With(82, 5, 4, 10, 99, 0, 0).Build();
            var buffer = new byte[1500];
            var targets = new[] { new IPEndPoint(IPAddress.Broadcast, 67), new IPEndPoint(IPAddress.Parse("10.99.0.1"), 67), new IPEndPoint(IPAddress.Parse("10.99.0.1"), 4011) };
            for (var i = 0; i < 20_000; i++)
            {
                int length;
                if (i % 2 == 0)
                {
                    length = random.Next(0, buffer.Length);
                    random.NextBytes(buffer.AsSpan(0, length));
                }
                else
                {
                    valid.CopyTo(buffer, 0);
                    length = valid.Length;
                    for (var flip = 0; flip < 1 + random.Next(6); flip++)
                    {
                        buffer[random.Next(length)] = (byte)random.Next(256);
                    }
                }

                socket.SendTo(buffer.AsSpan(0, length), targets[i % 3]);
                if (i % 500 == 0)
                {
                    await Task.Delay(5, ct);
                }
            }
        }

        await Task.Delay(500, ct);
        foreach (var (address, mac) in acked)
        {
            var lease = await lab.WaitForLeaseAsync(address, LeaseStates.Ack);
            Assert.Equal(mac, lease.Token);
        }

        // SIGKILL: no shutdown code runs. Every lease the clients were ACKed is back after the restart.
        await lab.Server.RestartAsync(kill: true, ct);
        await lab.WaitForOutputAsync("DHCP loaded", TimeSpan.FromSeconds(10));
        foreach (var (address, mac) in acked)
        {
            var lease = await lab.WaitForLeaseAsync(address, LeaseStates.Ack);
            Assert.Equal(mac, lease.Token);
        }

        // And they are honoured: the first client gets its address back, a newcomer gets a new one.
        var (again, againLog) = lab.UdhcpcScript("again");
        await lab.Net.IpInAsync(lab.Client(1), "addr", "flush", "dev", "eth0");
        Assert.Equal(0, (await lab.UdhcpcOnceAsync(lab.Client(1), again)).ExitCode);
        var first = acked.Single(a => a.Value == acked.Values.First()).Key;
        Assert.Equal(first, DhcpLab.Value(await lab.WaitForEventAsync(againLog, "bound"), "ip"));
    }
}
