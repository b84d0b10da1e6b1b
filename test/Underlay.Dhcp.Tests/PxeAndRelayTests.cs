using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Dhcp.Protocol;
using Underlay.Dhcp.Tests.Support;

namespace Underlay.Dhcp.Tests;

/// <summary>Boot-file choice, proxy DHCP, BINL and relays, against the engine.</summary>
public sealed class PxeAndRelayTests
{
    private const ulong Client = 0x525400000001;

    private static async Task<EngineHarness> LabAsync(Action<Subnet>? change = null)
    {
        var harness = await EngineHarness.CreateAsync();
        await harness.AddAsync(EngineHarness.LabSubnet(change));
        return harness;
    }

    [Theory]
    [InlineData(0, "ipxe.pxe")]
    [InlineData(7, "ipxe.efi")]
    [InlineData(9, "ipxe.efi")]
    [InlineData(11, "ipxe-arm64.efi")]
    public async Task Pxe_clients_get_the_ipxe_build_for_their_architecture(ushort arch, string file)
    {
        await using var lab = await LabAsync();
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(arch).RequestList(1, 3, 66, 67));
        Assert.Equal(file, offer!.File);
        Assert.Equal("10.99.0.1", offer.SName);
        Assert.Equal("10.99.0.1", offer.SiAddr);
        Assert.Equal(file, offer.Text(67));
        Assert.Equal("10.99.0.1", offer.Text(66));

        // DRP: plain (non-proxy) replies carry no 43, 60 or 97.
        Assert.DoesNotContain((byte)43, offer.Codes);
        Assert.DoesNotContain((byte)60, offer.Codes);
    }

    [Fact]
    public async Task Ipxe_is_sent_to_default_ipxe_over_http()
    {
        await using var lab = await LabAsync();
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(7).WithText(77, "iPXE").RequestList(67));
        Assert.Equal("http://10.99.0.1:8091/default.ipxe", offer!.File);
    }

    [Fact]
    public async Task Uefi_http_boot_gets_a_url_and_option_60_httpclient()
    {
        await using var lab = await LabAsync();
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).WithText(60, "HTTPClient:Arch:00016:UNDI:003001").WithUInt16(93, 16).RequestList(1, 67));
        Assert.Equal("http://10.99.0.1:8091/ipxe.efi", offer!.File);
        Assert.Equal("HTTPClient", offer.Text(60));
    }

    [Fact]
    public async Task Plain_clients_get_no_boot_file_and_32_bit_efi_is_refused_one()
    {
        await using var lab = await LabAsync();
        var plain = await lab.SendAsync(PacketBuilder.Discover(Client).RequestList(1, 67));
        Assert.Equal("", plain!.File);
        Assert.Null(plain.Get(67));

        var efi32 = await lab.SendAsync(PacketBuilder.Discover(Client + 1).Pxe(6).RequestList(1, 67));
        Assert.Equal("", efi32!.File);
        Assert.Equal("10.99.0.101", efi32.YiAddr);
    }

    [Fact]
    public async Task Subnet_option_67_wins_and_is_sent_even_to_non_pxe_clients()
    {
        await using var lab = await LabAsync(s => s.Options.Add(new DhcpOption { Code = 67, Value = "custom.efi" }));
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).RequestList(67));
        Assert.Equal("custom.efi", offer!.File);
        var pxe = await lab.SendAsync(PacketBuilder.Discover(Client + 1).Pxe(0).RequestList(67));
        Assert.Equal("custom.efi", pxe!.File);
    }

    [Fact]
    public async Task Option_templates_see_the_request_options_by_code()
    {
        // DRP KB-00028's example.
        const string template = """{{if eq (index . 77) "iPXE"}}default.ipxe{{else if eq (index . 93) "0"}}ipxe.pxe{{else}}ipxe.efi{{end}}""";
        await using var lab = await LabAsync(s => s.Options.Add(new DhcpOption { Code = 67, Value = template }));
        Assert.Equal("ipxe.pxe", (await lab.SendAsync(PacketBuilder.Discover(1).Pxe(0)))!.File);
        Assert.Equal("ipxe.efi", (await lab.SendAsync(PacketBuilder.Discover(2).Pxe(7)))!.File);
        Assert.Equal("default.ipxe", (await lab.SendAsync(PacketBuilder.Discover(3).Pxe(7).WithText(77, "iPXE")))!.File);
    }

    [Fact]
    public async Task Next_server_comes_from_the_reservation_then_the_subnet()
    {
        await using var lab = await LabAsync(s => s.NextServer = "10.99.0.5");
        Assert.Equal("10.99.0.5", (await lab.SendAsync(PacketBuilder.Discover(1).Pxe(0)))!.SiAddr);
        await lab.AddAsync(new Reservation { Addr = "10.99.0.20", Token = "52:54:00:00:00:01", NextServer = "10.99.0.6" });
        var reserved = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(0));
        Assert.Equal("10.99.0.6", reserved!.SiAddr);
        Assert.Equal("10.99.0.6", reserved.SName);
    }

    [Fact]
    public async Task An_empty_option_67_on_a_reservation_means_no_net_boot()
    {
        await using var lab = await LabAsync();
        await lab.AddAsync(new Reservation { Addr = "10.99.0.20", Token = "52:54:00:00:00:01", Options = [new DhcpOption { Code = 67, Value = "" }] });
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(7).RequestList(67));
        Assert.Equal("10.99.0.20", offer!.YiAddr);
        Assert.Equal("", offer.File);
    }

    [Fact]
    public async Task A_known_machine_in_a_bootenv_without_kernel_gets_no_boot_file_and_loaders_override()
    {
        await using var lab = await LabAsync();
        await lab.Store.CreateAsync(new BootEnv { Name = "local" }, "test");
        await lab.Store.CreateAsync(new BootEnv { Name = "sledgehammer", Kernel = "vmlinuz", Loaders = new() { ["amd64-uefi"] = "snponly.efi" } }, "test");
        await lab.Store.CreateAsync(new Machine { Name = "m1.example", HardwareAddrs = ["52:54:00:00:00:01"], BootEnv = "local" }, "test");
        var local = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(7).RequestList(67));
        Assert.NotEqual("0.0.0.0", local!.YiAddr);
        Assert.Equal("", local.File);

        var machine = (Machine)lab.Store.List(ModelTypes.Machines).Single();
        var copy = (Machine)ModelTypes.Machines.Clone(machine);
        copy.BootEnv = "sledgehammer";
        Assert.True((await lab.Store.SaveAsync(copy, null, "test")).IsSuccess);
        var netboot = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(7).RequestList(67));
        Assert.Equal("snponly.efi", netboot!.File);
        Assert.Equal("ipxe.pxe", (await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(0).RequestList(67)))!.File);
    }

    [Fact]
    public async Task An_ack_for_a_machine_mac_updates_its_address()
    {
        await using var lab = await LabAsync();
        await lab.Store.CreateAsync(new Machine { Name = "m1.example", HardwareAddrs = ["52:54:00:00:00:01"], Address = "10.99.0.7" }, "test");
        await lab.Store.CreateAsync(new Machine { Name = "m2.example", HardwareAddrs = ["52:54:00:00:00:02"], Address = "10.99.0.100" }, "test");
        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.100").With(54, 10, 99, 0, 1));
        await lab.SettleAsync();
        await lab.Persister.FlushAsync();
        var machines = lab.Store.List(ModelTypes.Machines).Cast<Machine>().ToDictionary(m => m.Name);
        Assert.Equal("10.99.0.100", machines["m1.example"].Address);
        Assert.Equal("", machines["m2.example"].Address);
    }

    [Fact]
    public async Task Unmanaged_subnets_never_send_boot_options()
    {
        await using var lab = await LabAsync(s => { s.Unmanaged = true; s.Options.Add(new DhcpOption { Code = 67, Value = "x.efi" }); });
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(7).RequestList(66, 67));
        Assert.Equal("", offer!.File);
        Assert.Null(offer.Get(67));
    }

    [Fact]
    public async Task Relayed_requests_use_giaddr_for_the_subnet_and_the_reply_goes_to_the_relay()
    {
        await using var lab = await LabAsync();
        await lab.AddAsync(new Subnet { Name = "remote", Cidr = "10.77.0.0/24", ActiveStart = "10.77.0.10", ActiveEnd = "10.77.0.20" });
        byte[] circuit = [1, 4, (byte)'p', (byte)'o', (byte)'r', (byte)'t'];
        var discover = PacketBuilder.Discover(Client).Pxe(0).RequestList(1, 3, 67).With(82, circuit);
        discover.GiAddr = PacketBuilder.Address("10.77.0.1");
        var offer = await lab.SendAsync(discover, source: PacketBuilder.Address("10.77.0.1"), port: 67);
        Assert.Equal("10.77.0.10", offer!.YiAddr);
        Assert.Equal("10.77.0.1", offer.GiAddr);
        Assert.Equal(PacketBuilder.Address("10.77.0.1"), offer.Destination);
        Assert.Equal(67, offer.Port);
        Assert.Equal("255.255.255.0", offer.AddressOf(1));

        // Option 82 comes back unchanged, after the requested options and before 58/59.
        Assert.Equal(circuit, offer.Get(82));
        Assert.Equal([53, 54, 51, 1, 67, 82, 58, 59], offer.Codes.ToArray());
        Assert.Equal("10.99.0.1", offer.AddressOf(54));
        Assert.Equal("10.77.0.1", lab.StoredLease("10.77.0.10")!.Via);

        // A relayed NAK goes to the relay with the broadcast bit set (RFC 2131 §4.3.2).
        var bad = PacketBuilder.Request(Client).WithAddress(50, "10.77.0.15").With(54, 10, 99, 0, 1);
        bad.GiAddr = PacketBuilder.Address("10.77.0.1");
        var nak = await lab.SendAsync(bad);
        Assert.Equal((byte)DhcpMessageType.Nak, nak!.Type);
        Assert.Equal(0x8000, nak.Flags);
        Assert.Equal(PacketBuilder.Address("10.77.0.1"), nak.Destination);
    }

    [Fact]
    public async Task Link_selection_picks_the_subnet_and_server_id_override_replaces_option_54()
    {
        await using var lab = await LabAsync();
        await lab.AddAsync(new Subnet { Name = "remote", Cidr = "10.77.0.0/24", ActiveStart = "10.77.0.10", ActiveEnd = "10.77.0.20" });
        var discover = PacketBuilder.Discover(Client).With(82, 5, 4, 10, 77, 0, 0, 11, 4, 10, 77, 0, 1);
        discover.GiAddr = PacketBuilder.Address("10.99.0.254");
        var offer = await lab.SendAsync(discover);
        Assert.Equal("10.77.0.10", offer!.YiAddr);
        Assert.Equal("10.77.0.1", offer.AddressOf(54));

        // The client then names the override as its server: that is us.
        var select = PacketBuilder.Request(Client).WithAddress(50, "10.77.0.10").With(54, 10, 77, 0, 1).With(82, 5, 4, 10, 77, 0, 0, 11, 4, 10, 77, 0, 1);
        select.GiAddr = PacketBuilder.Address("10.99.0.254");
        Assert.Equal((byte)DhcpMessageType.Ack, (await lab.SendAsync(select))!.Type);
    }

    [Fact]
    public async Task Proxy_subnets_offer_boot_options_without_an_address_and_binl_acks_the_follow_up()
    {
        await using var lab = await LabAsync(s => { s.Proxy = true; s.ActiveStart = ""; s.ActiveEnd = ""; });
        byte[] uuid = [0, .. Enumerable.Range(1, 16).Select(i => (byte)i)];
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(0).RequestList(1, 3, 43, 60, 66, 67).With(97, uuid));
        Assert.Equal((byte)DhcpMessageType.Offer, offer!.Type);
        Assert.Equal("0.0.0.0", offer.YiAddr);
        Assert.Equal("10.99.0.1", offer.SiAddr);
        Assert.Equal("ipxe.pxe", offer.File);
        Assert.Equal(0x8000, offer.Flags);
        Assert.Equal("PXEClient", offer.Text(60));
        Assert.Equal([6, 1, 8, 255], offer.Get(43));
        Assert.Equal(uuid, offer.Get(97));
        Assert.Null(offer.Get(51));
        Assert.Null(offer.Get(1));
        Assert.Equal(0, lab.Leases.Count);

        // Non-PXE clients and REQUESTs on 67 are left to the real DHCP server.
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(Client + 1).RequestList(1, 3)));
        Assert.Null(await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.50").With(54, 10, 99, 0, 9)));

        // PXE spec: the client then asks the boot server on 4011, from its new address.
        var binl = new PacketBuilder(3, Client) { CiAddr = PacketBuilder.Address("10.99.0.50") }.Pxe(7).RequestList(43, 60, 66, 67).With(97, uuid);
        var ack = await lab.SendAsync(binl, lab.Binl, PacketBuilder.Address("10.99.0.50"), 4011);
        Assert.Equal((byte)DhcpMessageType.Ack, ack!.Type);
        Assert.Equal("10.99.0.50", ack.YiAddr);
        Assert.Equal("ipxe.efi", ack.File);
        Assert.Equal("PXEClient", ack.Text(60));
        Assert.Null(ack.Get(43));
        Assert.Equal(PacketBuilder.Address("10.99.0.50"), ack.Destination);
        Assert.Equal(4011, ack.Port);
    }

    [Fact]
    public async Task In_proxy_mode_a_machine_that_must_not_net_boot_gets_no_answer()
    {
        await using var lab = await LabAsync(s => { s.Proxy = true; s.ActiveStart = ""; s.ActiveEnd = ""; });
        await lab.Store.CreateAsync(new BootEnv { Name = "local" }, "test");
        await lab.Store.CreateAsync(new Machine { Name = "m1.example", HardwareAddrs = ["52:54:00:00:00:01"], BootEnv = "local" }, "test");
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(Client).Pxe(0)));
    }
}
