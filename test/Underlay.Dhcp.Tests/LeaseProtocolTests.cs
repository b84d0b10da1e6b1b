using Underlay.Core.Models;
using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;
using Underlay.Dhcp.Tests.Support;

namespace Underlay.Dhcp.Tests;

/// <summary>RFC 2131 exchanges against the engine (no sockets), with leases checked in the store.</summary>
public sealed class LeaseProtocolTests
{
    private const ulong Client = 0x020000000001;
    private const ulong Other = 0x020000000002;
    private static readonly uint Server = PacketBuilder.Address("10.99.0.1");

    private static async Task<EngineHarness> LabAsync(Action<Subnet>? change = null, bool probe = false)
    {
        var harness = await EngineHarness.CreateAsync(probe);
        await harness.AddAsync(EngineHarness.LabSubnet(change));
        return harness;
    }

    private static PacketBuilder Select(ulong mac, string address) =>
        PacketBuilder.Request(mac).WithAddress(50, address).With(54, 10, 99, 0, 1).RequestList(1, 3, 6, 15, 28, 51);

    [Fact]
    public async Task Discover_request_gives_an_ack_with_drp_option_order_and_stores_the_lease()
    {
        await using var lab = await LabAsync();
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).RequestList(1, 3, 6, 15, 28));
        Assert.NotNull(offer);
        Assert.Equal((byte)DhcpMessageType.Offer, offer.Type);
        Assert.Equal("10.99.0.100", offer.YiAddr);
        Assert.Equal(uint.MaxValue, offer.Destination);
        Assert.Equal(68, offer.Port);

        // DRP golden order: 53, 54, 51, then 55's order, then 58, 59.
        Assert.Equal([53, 54, 51, 1, 3, 6, 15, 28, 58, 59], offer.Codes.ToArray());
        Assert.Equal("10.99.0.1", offer.AddressOf(54));
        Assert.Equal(600u, offer.UInt32(51));
        Assert.Equal(300u, offer.UInt32(58));
        Assert.Equal(450u, offer.UInt32(59));
        Assert.Equal("255.255.255.0", offer.AddressOf(1));
        Assert.Equal("10.99.0.255", offer.AddressOf(28));
        Assert.Equal("lab.example", offer.Text(15));
        Assert.Equal(LeaseStates.Offer, lab.StoredLease("10.99.0.100")!.State);

        var ack = await lab.SendAsync(Select(Client, "10.99.0.100"));
        Assert.NotNull(ack);
        Assert.Equal((byte)DhcpMessageType.Ack, ack.Type);
        Assert.Equal("10.99.0.100", ack.YiAddr);
        var lease = lab.StoredLease("10.99.0.100")!;
        Assert.Equal(LeaseStates.Ack, lease.State);
        Assert.Equal("02:00:00:00:00:01", lease.Token);
        Assert.Equal("10.99.0.1", lease.Via);
        Assert.Equal(lab.Time.GetUtcNow().UtcDateTime.AddSeconds(600), lease.ExpireTime);
    }

    [Fact]
    public async Task Options_not_asked_for_are_not_sent_and_without_option_55_all_are()
    {
        await using var lab = await LabAsync();
        var asked = await lab.SendAsync(PacketBuilder.Discover(Client).RequestList(3));
        Assert.Equal([53, 54, 51, 3, 58, 59], asked!.Codes.ToArray());

        var all = await lab.SendAsync(PacketBuilder.Discover(Other));
        Assert.Equal([53, 54, 51, 1, 3, 6, 15, 28, 58, 59], all!.Codes.ToArray());
    }

    [Fact]
    public async Task Allocation_continues_from_the_last_address_handed_out()
    {
        await using var lab = await LabAsync();
        var first = await lab.SendAsync(PacketBuilder.Discover(Client));
        var second = await lab.SendAsync(PacketBuilder.Discover(Other));
        var again = await lab.SendAsync(PacketBuilder.Discover(Client));
        Assert.Equal("10.99.0.100", first!.YiAddr);
        Assert.Equal("10.99.0.101", second!.YiAddr);
        Assert.Equal("10.99.0.100", again!.YiAddr);
    }

    [Fact]
    public async Task A_free_requested_address_is_offered_by_the_hint_picker()
    {
        await using var lab = await LabAsync();
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).WithAddress(50, "10.99.0.150"));
        Assert.Equal("10.99.0.150", offer!.YiAddr);
        var outside = await lab.SendAsync(PacketBuilder.Discover(Other).WithAddress(50, "10.99.0.20"));
        Assert.Equal("10.99.0.100", outside!.YiAddr);
    }

    [Fact]
    public async Task Renewing_rebinding_and_init_reboot_extend_the_lease()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(Select(Client, "10.99.0.100"));
        lab.Advance(TimeSpan.FromSeconds(300));

        // RENEWING: unicast, ciaddr set; the ACK goes to ciaddr:68 (RFC 2131 §4.1).
        var renew = await lab.SendAsync(new PacketBuilder(3, Client) { CiAddr = PacketBuilder.Address("10.99.0.100") }, source: PacketBuilder.Address("10.99.0.100"));
        Assert.Equal((byte)DhcpMessageType.Ack, renew!.Type);
        Assert.Equal("10.99.0.100", renew.CiAddr);
        Assert.Equal(PacketBuilder.Address("10.99.0.100"), renew.Destination);
        Assert.Equal(lab.Time.GetUtcNow().UtcDateTime.AddSeconds(600), lab.StoredLease("10.99.0.100")!.ExpireTime);

        // REBINDING: broadcast, ciaddr set.
        var rebind = await lab.SendAsync(new PacketBuilder(3, Client) { CiAddr = PacketBuilder.Address("10.99.0.100"), Flags = 0x8000 });
        Assert.Equal((byte)DhcpMessageType.Ack, rebind!.Type);

        // INIT-REBOOT: option 50, no server id, ciaddr 0.
        var reboot = await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.100"));
        Assert.Equal((byte)DhcpMessageType.Ack, reboot!.Type);
        Assert.Equal(uint.MaxValue, reboot.Destination);
    }

    [Fact]
    public async Task Init_reboot_for_an_unknown_client_is_ignored_and_for_a_wrong_address_is_naked()
    {
        await using var lab = await LabAsync();
        Assert.Null(await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.120")));

        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(Select(Client, "10.99.0.100"));
        var wrong = await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.130"));
        Assert.Equal((byte)DhcpMessageType.Nak, wrong!.Type);

        var otherNetwork = await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "192.168.1.10"));
        Assert.Equal((byte)DhcpMessageType.Nak, otherNetwork!.Type);
    }

    [Fact]
    public async Task A_request_for_an_address_the_client_does_not_hold_is_naked_with_53_and_54_only()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Other));
        await lab.SendAsync(Select(Other, "10.99.0.100"));

        var nak = await lab.SendAsync(Select(Client, "10.99.0.100"));
        Assert.Equal((byte)DhcpMessageType.Nak, nak!.Type);
        Assert.Equal([53, 54], nak.Codes.ToArray());
        Assert.Equal("0.0.0.0", nak.YiAddr);
        Assert.Equal(uint.MaxValue, nak.Destination);
        Assert.Equal(LeaseStates.Ack, lab.StoredLease("10.99.0.100")!.State);
        Assert.Equal("02:00:00:00:00:02", lab.StoredLease("10.99.0.100")!.Token);

        var renewOthers = await lab.SendAsync(new PacketBuilder(3, Client) { CiAddr = PacketBuilder.Address("10.99.0.100") });
        Assert.Equal((byte)DhcpMessageType.Nak, renewOthers!.Type);
    }

    [Fact]
    public async Task A_request_naming_another_server_is_ignored()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Client));
        var reply = await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.100").With(54, 10, 99, 0, 9));
        Assert.Null(reply);
        Assert.Equal(LeaseStates.Offer, lab.StoredLease("10.99.0.100")!.State);
    }

    [Fact]
    public async Task Release_expires_the_lease_and_only_from_its_owner()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(Select(Client, "10.99.0.100"));

        Assert.Null(await lab.SendAsync(new PacketBuilder(7, Other) { CiAddr = PacketBuilder.Address("10.99.0.100") }));
        Assert.Equal(LeaseStates.Ack, lab.StoredLease("10.99.0.100")!.State);

        Assert.Null(await lab.SendAsync(new PacketBuilder(7, Client) { CiAddr = PacketBuilder.Address("10.99.0.100") }));
        Assert.Equal(LeaseStates.Expired, lab.StoredLease("10.99.0.100")!.State);
    }

    [Fact]
    public async Task Decline_quarantines_the_address_and_the_client_gets_another()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(Select(Client, "10.99.0.100"));
        Assert.Null(await lab.SendAsync(PacketBuilder.Decline(Client).WithAddress(50, "10.99.0.100")));
        Assert.Equal(LeaseStates.Invalid, lab.StoredLease("10.99.0.100")!.State);

        var next = await lab.SendAsync(PacketBuilder.Discover(Client));
        Assert.Equal("10.99.0.101", next!.YiAddr);

        // After the quarantine the address is reusable again (most expired first once the pool runs dry).
        lab.Advance(TimeSpan.FromMilliseconds(LeaseTable.QuarantineMs + 1000));
        Assert.True(lab.Leases.Sweep(lab.Time.GetUtcNow().ToUnixTimeMilliseconds()) > 0);
        await lab.SettleAsync();
        Assert.Equal(LeaseStates.Expired, lab.StoredLease("10.99.0.100")!.State);
    }

    [Fact]
    public async Task Inform_gets_options_without_a_lease_unicast_to_ciaddr()
    {
        await using var lab = await LabAsync();
        var ack = await lab.SendAsync(new PacketBuilder(8, Client) { CiAddr = PacketBuilder.Address("10.99.0.50") }.RequestList(3, 6, 51));
        Assert.Equal((byte)DhcpMessageType.Ack, ack!.Type);
        Assert.Equal([53, 54, 3, 6], ack.Codes.ToArray());
        Assert.Equal("0.0.0.0", ack.YiAddr);
        Assert.Equal(PacketBuilder.Address("10.99.0.50"), ack.Destination);
        Assert.Null(lab.StoredLease("10.99.0.50"));
    }

    [Fact]
    public async Task Offers_run_out_and_then_expire_back_into_the_pool()
    {
        await using var lab = await LabAsync(s => { s.ActiveStart = "10.99.0.100"; s.ActiveEnd = "10.99.0.101"; });
        var events = lab.Store.Events.Subscribe(e => e.Type == "dhcp");
        Assert.Equal("10.99.0.100", (await lab.SendAsync(PacketBuilder.Discover(1)))!.YiAddr);
        Assert.Equal("10.99.0.101", (await lab.SendAsync(PacketBuilder.Discover(2)))!.YiAddr);

        // Exhausted: silence and an event, never an error.
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(3)));
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(4)));
        Assert.True(events.Reader.TryRead(out var exhausted));
        Assert.Equal("exhausted", exhausted.Action);
        Assert.Equal("lab", exhausted.Key);
        Assert.False(events.Reader.TryRead(out _)); // rate-limited
        Assert.Equal(2, lab.Counters.Exhausted);

        // DRP: an offer is held for 60 s; then the most expired lease is handed out again.
        lab.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("10.99.0.100", (await lab.SendAsync(PacketBuilder.Discover(3)))!.YiAddr);
        events.Dispose();
    }

    [Fact]
    public async Task A_disabled_subnet_answers_nothing()
    {
        await using var lab = await LabAsync(s => s.Enabled = false);
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(Client)));
        Assert.Null(await lab.SendAsync(Select(Client, "10.99.0.100")));
        Assert.Equal(0, lab.Leases.Count);
    }

    [Fact]
    public async Task With_no_subnet_and_no_reservation_nobody_is_answered()
    {
        await using var lab = await EngineHarness.CreateAsync();
        lab.Reconfigure();
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(Client)));
    }

    [Fact]
    public async Task Reservations_always_win()
    {
        await using var lab = await LabAsync();

        // Someone else holds the address first; the reservation is still answered once that lease runs out.
        await lab.SendAsync(PacketBuilder.Discover(Other).WithAddress(50, "10.99.0.150"));
        await lab.AddAsync(new Reservation { Addr = "10.99.0.150", Token = "02:00:00:00:00:01", Duration = 3600 });
        Assert.NotEqual("10.99.0.150", (await lab.SendAsync(PacketBuilder.Discover(Client)))!.YiAddr);
        lab.Advance(TimeSpan.FromSeconds(61));

        var offer = await lab.SendAsync(PacketBuilder.Discover(Client).WithAddress(50, "10.99.0.120"));
        Assert.Equal("10.99.0.150", offer!.YiAddr);
        Assert.Equal(3600u, offer.UInt32(51));
        var ack = await lab.SendAsync(Select(Client, "10.99.0.150"));
        Assert.Equal((byte)DhcpMessageType.Ack, ack!.Type);

        // The reserved address is never given to anyone else, even when asked for.
        var other = await lab.SendAsync(PacketBuilder.Discover(Other).WithAddress(50, "10.99.0.150"));
        Assert.NotEqual("10.99.0.150", other!.YiAddr);

        // A client whose reservation points elsewhere is NAKed when it renews its old address.
        await lab.AddAsync(new Reservation { Addr = "10.99.0.160", Token = "02:00:00:00:00:02" });
        var renew = await lab.SendAsync(new PacketBuilder(3, Other) { CiAddr = PacketBuilder.Address(other.YiAddr) });
        Assert.Equal((byte)DhcpMessageType.Nak, renew!.Type);
        Assert.Equal("10.99.0.160", (await lab.SendAsync(PacketBuilder.Discover(Other)))!.YiAddr);
    }

    [Fact]
    public async Task Only_reservations_ignores_unknown_macs()
    {
        await using var lab = await LabAsync(s => s.OnlyReservations = true);
        await lab.AddAsync(new Reservation { Addr = "10.99.0.10", Token = "02:00:00:00:00:01" });
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(Other)));
        var offer = await lab.SendAsync(PacketBuilder.Discover(Client));
        Assert.Equal("10.99.0.10", offer!.YiAddr);
        Assert.Equal(7200u, offer.UInt32(51)); // ReservedLeaseTime
        Assert.Null(await lab.SendAsync(new PacketBuilder(3, Other) { CiAddr = PacketBuilder.Address("10.99.0.100") }));
    }

    [Fact]
    public async Task A_reservation_in_a_disabled_subnet_is_still_answered()
    {
        await using var lab = await LabAsync(s => s.Enabled = false);
        await lab.AddAsync(new Reservation { Addr = "10.99.0.10", Token = "02:00:00:00:00:01" });
        Assert.Equal("10.99.0.10", (await lab.SendAsync(PacketBuilder.Discover(Client)))!.YiAddr);
        Assert.Null(await lab.SendAsync(PacketBuilder.Discover(Other)));
    }

    [Fact]
    public async Task A_probe_answer_quarantines_the_address_and_silence_offers_it()
    {
        await using var lab = await LabAsync(probe: true);
        lab.Prober.InUse[PacketBuilder.Address("10.99.0.100")] = true;

        var offer = await lab.SendAsync(PacketBuilder.Discover(Client));
        Assert.Equal("10.99.0.101", offer!.YiAddr);
        Assert.Equal([PacketBuilder.Address("10.99.0.100"), PacketBuilder.Address("10.99.0.101")], lab.Prober.Probed.ToArray());
        Assert.Equal(LeaseStates.Invalid, lab.StoredLease("10.99.0.100")!.State);
        Assert.Equal(LeaseStates.Offer, lab.StoredLease("10.99.0.101")!.State);
        Assert.Equal(1, lab.Counters.ProbesInUse);

        // A retransmitted DISCOVER re-offers without a new probe; a reused address is not probed again.
        Assert.Equal("10.99.0.101", (await lab.SendAsync(PacketBuilder.Discover(Client)))!.YiAddr);
        Assert.Equal(2, lab.Prober.Probed.Count);
    }

    [Fact]
    public async Task Two_clients_discovering_at_once_never_get_the_same_address()
    {
        await using var lab = await LabAsync(s => s.ActiveEnd = "10.99.0.250");
        var contexts = Enumerable.Range(0, 4).Select(_ => new Underlay.Dhcp.Engine.DhcpContext()).ToArray();
        var packets = Enumerable.Range(1, 150).Select(i => PacketBuilder.Discover((ulong)i).Build()).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            for (var i = worker; i < packets.Length; i += 4)
            {
                lab.Engine.Process(contexts[worker], packets[i], packets[i].Length, lab.Eth0, 0, 68);
            }
        }, TestContext.Current.CancellationToken)));
        await lab.SettleAsync();

        var offered = lab.Sender.Replies.Select(r => r.YiAddr).ToList();
        Assert.Equal(150, offered.Count);
        Assert.Equal(150, offered.Distinct().Count());
        Assert.Equal(150, lab.Leases.Count);
    }

    [Fact]
    public async Task A_lease_deleted_through_the_store_frees_the_address()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(Select(Client, "10.99.0.100"));
        Assert.True(lab.Leases.Remove(PacketBuilder.Address("10.99.0.100")));
        Assert.Equal("10.99.0.100", (await lab.SendAsync(PacketBuilder.Discover(Other).WithAddress(50, "10.99.0.100")))!.YiAddr);
    }

    [Fact]
    public async Task Expired_leases_are_marked_expired_by_the_sweep()
    {
        await using var lab = await LabAsync();
        await lab.SendAsync(PacketBuilder.Discover(Client));
        await lab.SendAsync(Select(Client, "10.99.0.100"));
        lab.Advance(TimeSpan.FromSeconds(601));
        lab.Leases.Sweep(lab.Time.GetUtcNow().ToUnixTimeMilliseconds());
        await lab.SettleAsync();
        Assert.Equal(LeaseStates.Expired, lab.StoredLease("10.99.0.100")!.State);

        // The owner may come back to its address while nobody else took it.
        var reboot = await lab.SendAsync(PacketBuilder.Request(Client).WithAddress(50, "10.99.0.100"));
        Assert.Equal((byte)DhcpMessageType.Ack, reboot!.Type);
    }
}
