using Microsoft.Extensions.Logging;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Engine;
using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;
using Underlay.Dhcp.Transport;
using Underlay.Store;
using Underlay.Store.Events;
using Underlay.Templates;

namespace Underlay.Dhcp;

/// <summary>
/// The DHCPv4 server with PXE, proxy DHCP (BINL on 4011) and relay support.
/// <para>
/// Pieces: per-interface listeners (<see cref="DhcpListener"/>: one socket and a few worker threads each) feed
/// the <see cref="DhcpEngine"/>, whose handler chain decides every reply against an immutable configuration
/// snapshot (subnets and reservations) and the in-memory <see cref="LeaseTable"/>. Lease changes go to the
/// <see cref="LeasePersister"/>, which writes them through the store in batches; ACKs are sent once their batch
/// is durable. A background loop applies operators' changes (subnets, reservations, leases edited through the
/// API), rescans interfaces, and marks run-out leases EXPIRED.
/// </para>
/// </summary>
public sealed class DhcpServer : IAsyncDisposable
{
    private readonly DhcpServerOptions _options;
    private readonly ObjectStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Name, int Port), DhcpListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private LeasePersister? _persister;
    private DhcpEngine? _engine;
    private EventSubscription? _subscription;
    private Task? _changeLoop;
    private Task? _maintenanceLoop;

    public DhcpServer(DhcpServerOptions options, ObjectStore store, ILoggerFactory loggers, TimeProvider time)
    {
        _options = options;
        _store = store;
        _time = time;
        _logger = loggers.CreateLogger("Underlay.Dhcp");
    }

    public DhcpCounters Counters { get; } = new();

    internal DhcpEngine Engine => _engine ?? throw new InvalidOperationException("not started");

    internal LeasePersister Persister => _persister ?? throw new InvalidOperationException("not started");

    /// <summary>Loads leases and configuration, subscribes to changes, and starts listening.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _persister = new LeasePersister(_store, _logger);
        var leases = new LeaseTable(_persister);
        var prober = _options.ProbeTimeout > TimeSpan.Zero ? new IcmpProber(_options.ProbeTimeout) : null;
        Log.Probing(_logger, prober is null ? "off" : "on", (int)_options.ProbeTimeout.TotalMilliseconds);
        _engine = new DhcpEngine(_options, leases, _persister, _store, new StoreBootDirectory(_store, _persister), prober, Counters, _logger, _time);

        // Subscribe before loading, so no change made in between is missed (applying one twice is harmless).
        _subscription = SubscribeToChanges();
        LoadLeases(leases);
        Reconfigure();
        ScanInterfaces();
        _changeLoop = Task.Run(() => ChangeLoopAsync(_stop.Token), CancellationToken.None);
        _maintenanceLoop = Task.Run(() => MaintenanceLoopAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops listening, waits for probes, and flushes every queued lease change to the store.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_engine is null)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        lock (_listeners)
        {
            foreach (var listener in _listeners.Values)
            {
                listener.Dispose();
            }

            _listeners.Clear();
        }

        _subscription?.Dispose();
        await _engine.StopAsync().ConfigureAwait(false);
        foreach (var loop in new[] { _changeLoop, _maintenanceLoop })
        {
            if (loop is not null)
            {
                try
                {
                    await loop.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        if (_persister is not null)
        {
            await _persister.FlushAsync().ConfigureAwait(false);
            await _persister.DisposeAsync().ConfigureAwait(false);
        }

        Log.Stopped(_logger, Counters.ReceivedTotal, Counters.MalformedTotal, Counters.Sent(DhcpMessageType.Ack));
        _engine.Dispose();
        _engine = null;
    }

    private EventSubscription SubscribeToChanges() =>
        _store.Events.Subscribe(static e => e.Principal != LeasePersister.Principal && e.Type is "subnets" or "reservations" or "leases", capacity: 8192);

    private void LoadLeases(LeaseTable leases)
    {
        var loaded = 0;
        var dropped = 0;
        foreach (var model in _store.List(ModelTypes.Leases))
        {
            if (model is not Lease lease)
            {
                continue;
            }

            // DRP: a probe interrupted by a restart proves nothing; forget it.
            if (lease.State == LeaseStates.Probe && OptionValues.TryParseAddress(lease.Addr, out var address))
            {
                _persister!.Record(new LeaseRecord(address, lease.Token, LeaseState.Probe, 0, 0, 0, Deleted: true));
                dropped++;
                continue;
            }

            if (leases.Apply(lease))
            {
                loaded++;
            }
        }

        Log.LeasesLoaded(_logger, loaded, dropped);
    }

    private void Reconfigure()
    {
        var subnets = new List<Subnet>();
        foreach (var model in _store.List(ModelTypes.Subnets))
        {
            subnets.Add((Subnet)model);
        }

        var reservations = new List<Reservation>();
        foreach (var model in _store.List(ModelTypes.Reservations))
        {
            reservations.Add((Reservation)model);
        }

        var config = DhcpConfiguration.Build(subnets, reservations, TemplateEngine.Shared);
        foreach (var problem in config.Problems)
        {
            Log.ConfigurationProblem(_logger, problem);
        }

        Engine.Configuration = config;
        Log.ConfigurationLoaded(_logger, config.Subnets.Length, config.ByMac.Count);
    }

    private async Task ChangeLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var subscription = _subscription!;
            var reader = subscription.Reader;
            try
            {
                while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var reconfigure = false;
                    while (reader.TryRead(out var change))
                    {
                        reconfigure |= Apply(change);
                    }

                    if (reconfigure)
                    {
                        Reconfigure();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!subscription.Overflowed || cancellationToken.IsCancellationRequested)
            {
                return;
            }

            // Fell behind: start over from the store's current state.
            Log.EventsLost(_logger, 0);
            _subscription = SubscribeToChanges();
            LoadLeases(Engine.Leases);
            Reconfigure();
        }
    }

    /// <summary>Applies one operator change; true when the configuration must be rebuilt.</summary>
    private bool Apply(StoreEvent change)
    {
        if (change.Type != "leases")
        {
            return true;
        }

        if (change.Action == "delete")
        {
            if (OptionValues.TryParseAddress(change.Key, out var address))
            {
                Engine.Leases.Remove(address);
            }
        }
        else if (change.Object is Lease lease)
        {
            Engine.Leases.Apply(lease);
        }

        return false;
    }

    private async Task MaintenanceLoopAsync(CancellationToken cancellationToken)
    {
        var lastSweep = _time.GetUtcNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.InterfaceScanInterval < _options.SweepInterval ? _options.InterfaceScanInterval : _options.SweepInterval,
                    _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            ScanInterfaces();
            var now = _time.GetUtcNow();
            if (now - lastSweep >= _options.SweepInterval)
            {
                lastSweep = now;
                Engine.Leases.Sweep(now.ToUnixTimeMilliseconds());
            }
        }
    }

    /// <summary>Opens listeners on new interfaces, closes them on vanished ones, refreshes addresses.</summary>
    private void ScanInterfaces()
    {
        List<InterfaceInfo> interfaces;
        try
        {
            interfaces = InterfaceInfo.Scan();
        }
        catch (Exception e) when (e is System.Net.NetworkInformation.NetworkInformationException or IOException or UnauthorizedAccessException)
        {
            Log.InterfaceScanFailed(_logger, e.Message);
            return;
        }

        lock (_listeners)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            var wanted = new HashSet<(string, int)>();
            foreach (var nic in interfaces)
            {
                var selected = _options.Interfaces.Count > 0 ? _options.Interfaces.Contains(nic.Name) : !nic.IsLoopback;
                if (!selected)
                {
                    continue;
                }

                if (_options.EnableDhcp)
                {
                    Ensure(nic, _options.Port, binl: false, wanted);
                }

                if (_options.EnableBinl)
                {
                    Ensure(nic, _options.BinlPort, binl: true, wanted);
                }
            }

            foreach (var key in _listeners.Keys.ToList())
            {
                if (!wanted.Contains(key))
                {
                    _listeners[key].Dispose();
                    _listeners.Remove(key);
                }
            }
        }
    }

    private void Ensure(InterfaceInfo nic, int port, bool binl, HashSet<(string, int)> wanted)
    {
        var key = (nic.Name, port);
        if (_listeners.TryGetValue(key, out var existing))
        {
            if (existing.Interface.Index == nic.Index)
            {
                wanted.Add(key);
                if (!existing.Interface.Addresses.AsSpan().SequenceEqual(nic.Addresses))
                {
                    existing.UpdateAddresses(nic);
                }

                return;
            }

            // Same name, new interface (deleted and re-created): reopen.
            existing.Dispose();
            _listeners.Remove(key);
        }

        try
        {
            _listeners[key] = DhcpListener.Start(nic, port, binl, binl ? 1 : _options.Workers, Engine, Counters, _logger);
            wanted.Add(key);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            Log.ListenFailed(_logger, nic.Name, port, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        Counters.Dispose();
        _stop.Dispose();
    }
}
