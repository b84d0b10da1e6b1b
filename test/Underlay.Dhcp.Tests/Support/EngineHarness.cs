using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Engine;
using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;
using Underlay.Store;
using Underlay.Store.Events;
using Underlay.Store.Persistence;
using Underlay.Templates;

namespace Underlay.Dhcp.Tests.Support;

/// <summary>Captures replies instead of sending them.</summary>
internal sealed class CapturingSender : IReplySender
{
    public ConcurrentQueue<Reply> Replies { get; } = new();

    public string InterfaceName => "eth0";

    public void Send(ReadOnlySpan<byte> datagram, uint address, int port) => Replies.Enqueue(new Reply(datagram.ToArray(), address, port));
}

/// <summary>Answers probes from a set of "in use" addresses, asynchronously like the real prober.</summary>
internal sealed class FakeProber : IAddressProber
{
    public ConcurrentDictionary<uint, bool> InUse { get; } = new();

    public ConcurrentQueue<uint> Probed { get; } = new();

    public async Task<bool> InUseAsync(uint address, CancellationToken cancellationToken)
    {
        Probed.Enqueue(address);
        await Task.Yield();
        return InUse.ContainsKey(address);
    }
}

/// <summary>
/// The DHCP engine over a real in-memory (or SQLite) store, with captured replies and a fake clock: the packet
/// path exactly as the server runs it, without sockets.
/// </summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    private readonly DhcpContext _context = new();

    private EngineHarness(ObjectStore store, FakeTimeProvider time, bool probe)
    {
        Store = store;
        Time = time;
        Persister = new LeasePersister(store, NullLogger.Instance);
        Leases = new LeaseTable(Persister);
        Prober = new FakeProber();
        Counters = new DhcpCounters();
        Engine = new DhcpEngine(Options, Leases, Persister, store, new StoreBootDirectory(store, Persister), probe ? Prober : null, Counters,
            NullLogger.Instance, time, TemplateEngine.Shared);
        Eth0 = new Ingress { Sender = Sender, InterfaceIndex = 2, InterfaceName = "eth0", Addresses = [(PacketBuilder.Address("10.99.0.1"), 0xffffff00)] };
        Binl = new Ingress { Sender = Sender, InterfaceIndex = 2, InterfaceName = "eth0", Addresses = Eth0.Addresses, Binl = true };
    }

    public static DhcpServerOptions Options { get; } = new() { HttpPort = 8091 };

    public ObjectStore Store { get; }

    public FakeTimeProvider Time { get; }

    public LeasePersister Persister { get; }

    public LeaseTable Leases { get; }

    public FakeProber Prober { get; }

    public DhcpCounters Counters { get; }

    public DhcpEngine Engine { get; }

    public CapturingSender Sender { get; } = new();

    public Ingress Eth0 { get; }

    public Ingress Binl { get; }

    public static async Task<EngineHarness> CreateAsync(bool probe = false, IStorePersistence? persistence = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new ObjectStore(persistence ?? new MemoryPersistence(), new ModelValidator(new ParamSchemas()), new EventBus(), time, NullLogger<ObjectStore>.Instance);
        await store.OpenAsync([], CancellationToken.None);
        return new EngineHarness(store, time, probe);
    }

    /// <summary>The lab's usual subnet: 10.99.0.0/24, pool .100-.200.</summary>
    public static Subnet LabSubnet(Action<Subnet>? change = null)
    {
        var subnet = new Subnet
        {
            Name = "lab",
            Cidr = "10.99.0.0/24",
            ActiveStart = "10.99.0.100",
            ActiveEnd = "10.99.0.200",
            ActiveLeaseTime = 600,
            Options = [new DhcpOption { Code = 3, Value = "10.99.0.1" }, new DhcpOption { Code = 6, Value = "10.99.0.1" }, new DhcpOption { Code = 15, Value = "lab.example" }],
        };
        change?.Invoke(subnet);
        return subnet;
    }

    /// <summary>Stores an object (validated as the API would) and rebuilds the configuration.</summary>
    public async Task AddAsync(ModelBase model)
    {
        var result = await Store.CreateAsync(model, "test");
        Assert.True(result.IsSuccess, result.ToString());
        Reconfigure();
    }

    public async Task UpdateAsync(ModelBase model)
    {
        var result = await Store.SaveAsync(model, null, "test");
        Assert.True(result.IsSuccess, result.ToString());
        Reconfigure();
    }

    public void Reconfigure() => Engine.Configuration = DhcpConfiguration.Build(
        Store.List(ModelTypes.Subnets).Cast<Subnet>(), Store.List(ModelTypes.Reservations).Cast<Reservation>(), TemplateEngine.Shared);

    /// <summary>Handles one request and returns the reply (null when the server stays silent).</summary>
    public async Task<Reply?> SendAsync(PacketBuilder packet, Ingress? ingress = null, uint source = 0, int port = 68)
    {
        var bytes = packet.Build();
        return await SendRawAsync(bytes, ingress, source, port);
    }

    public async Task<Reply?> SendRawAsync(byte[] bytes, Ingress? ingress = null, uint source = 0, int port = 68)
    {
        Engine.Process(_context, bytes, bytes.Length, ingress ?? Eth0, source, port);
        await SettleAsync();
        Reply? last = null;
        while (Sender.Replies.TryDequeue(out var reply))
        {
            last = reply;
        }

        return last;
    }

    /// <summary>Handles a datagram without waiting (fuzzing).</summary>
    public void Process(byte[] bytes, int length) => Engine.Process(_context, bytes, length, Eth0, 0, 68);

    /// <summary>Waits for probes in flight and for every queued lease change to be stored.</summary>
    public async Task SettleAsync()
    {
        for (var i = 0; i < 500 && Engine.ProbesInFlight > 0; i++)
        {
            await Task.Delay(10);
        }

        await Persister.FlushAsync();
    }

    public Lease? StoredLease(string address) => Store.Get(ModelTypes.Leases, address) as Lease;

    public void Advance(TimeSpan by) => Time.Advance(by);

    public async ValueTask DisposeAsync()
    {
        await Engine.StopAsync();
        await Persister.DisposeAsync();
        Engine.Dispose();
        Counters.Dispose();
        await Store.DisposeAsync();
    }
}
