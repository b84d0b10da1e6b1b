using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;
using Underlay.Store;
using Underlay.Store.Events;
using Underlay.Templates;

namespace Underlay.Dhcp.Engine;

/// <summary>Probes an address before it is first offered (DRP: ICMP echo; a reply means someone uses it).</summary>
internal interface IAddressProber
{
    Task<bool> InUseAsync(uint address, CancellationToken cancellationToken);
}

/// <summary>
/// The packet path without sockets: parse, run the handler chain, build the reply, hand it to the ingress
/// sender (at once, or after the lease change is durable for ACKs). Called concurrently by every worker with its
/// own <see cref="DhcpContext"/>; shared state is the configuration snapshot (swapped whole) and the lease table
/// (its own lock).
/// </summary>
internal sealed class DhcpEngine : ILeaseHandlerHost, IDisposable
{
    private const uint Broadcast = 0xffffffff;

    /// <summary>One exhausted-pool event per subnet per this many milliseconds.</summary>
    private const long ExhaustedEventIntervalMs = 10_000;

    private readonly IDhcpHandler[] _chain;
    private readonly LeaseTable _leases;
    private readonly LeasePersister? _persister;
    private readonly ObjectStore? _store;
    private readonly IAddressProber? _prober;
    private readonly DhcpCounters _counters;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<DhcpContext> _contexts = new();
    private readonly ConcurrentDictionary<Task, byte> _probes = new();
    private readonly Dictionary<string, long> _lastExhausted = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private DhcpConfiguration _config = DhcpConfiguration.Empty;

    public DhcpEngine(DhcpServerOptions options, LeaseTable leases, LeasePersister? persister, ObjectStore? store, IBootDirectory directory,
        IAddressProber? prober, DhcpCounters counters, ILogger logger, TimeProvider time, TemplateEngine? templates = null)
    {
        _leases = leases;
        _persister = persister;
        _store = store;
        _prober = prober;
        _counters = counters;
        _logger = logger;
        _time = time;
        _chain = CreateChain(options, leases, this, directory, prober is not null, templates ?? TemplateEngine.Shared, logger);
    }

    public DhcpConfiguration Configuration
    {
        get => Volatile.Read(ref _config);
        set => Volatile.Write(ref _config, value);
    }

    public LeaseTable Leases => _leases;

    /// <summary>Probes started and not yet finished.</summary>
    public int ProbesInFlight => _probes.Count;

    /// <summary>
    /// The handler chain, in order: scope (subnet, reservation, server id) → lease state machine → machine and
    /// boot environment → configured options → PXE boot file. Each may stop the chain or decide the reply.
    /// </summary>
    internal static IDhcpHandler[] CreateChain(DhcpServerOptions options, LeaseTable leases, ILeaseHandlerHost host, IBootDirectory directory,
        bool probe, TemplateEngine templates, ILogger logger) =>
    [
        new ScopeHandler(options.StaticAddress is { } address ? OptionValues.FromIPAddress(address) : 0),
        new LeaseHandler(leases, host, probe),
        new MachineHandler(directory),
        new OptionsHandler(templates, logger),
        new PxeHandler(options.HttpPort),
    ];

    /// <summary>Handles one datagram received on <paramref name="ingress"/>. Never throws for bad input.</summary>
    public void Process(DhcpContext context, byte[] buffer, int length, Ingress ingress, uint sourceAddress, int sourcePort)
    {
        var request = context.Request;
        var status = request.Parse(buffer.AsSpan(0, length));
        if (status != ParseStatus.Ok)
        {
            _counters.CountMalformed(status);
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.Malformed(_logger, status.ToString(), length, ingress.InterfaceName, OptionValues.FormatAddress(sourceAddress));
            }

            return;
        }

        _counters.CountReceived(request.MessageType);
        context.Reset();
        context.Ingress = ingress;
        context.SourceAddress = sourceAddress;
        context.SourcePort = sourcePort;
        context.Config = Configuration;
        context.Now = _time.GetUtcNow().ToUnixTimeMilliseconds();

        var result = HandlerResult.Continue;
        foreach (var handler in _chain)
        {
            result = handler.Handle(context);
            if (result != HandlerResult.Continue)
            {
                if (context.PendingProbe is not null)
                {
                    // The probe takes a copy of the request and handles it again when it is done.
                    StashForProbe(context, buffer, length);
                }

                break;
            }
        }

        if (result == HandlerResult.Stop || context.ReplyType == DhcpMessageType.None)
        {
            _counters.CountIgnored();
            if (_logger.IsEnabled(LogLevel.Debug))
            {
                Log.NoReply(_logger, request.MessageType, context.Token, request.Xid, ingress.InterfaceName, context.Outcome ?? "NoReply");
            }

            return;
        }

        var replyLength = BuildReply(context);
        var (address, port) = Destination(context);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.Replying(_logger, context.ReplyType, request.MessageType, context.Token, request.Xid, ingress.InterfaceName,
                OptionValues.FormatAddress(context.YiAddr), OptionValues.FormatAddress(address), port);
        }

        if (context.AfterCommit && _persister is not null)
        {
            var copy = ArrayPool<byte>.Shared.Rent(replyLength);
            context.Reply.AsSpan(0, replyLength).CopyTo(copy);
            _persister.AfterCommit(new DeferredReply(this, ingress.Sender, copy, replyLength, address, port, context.ReplyType));
            return;
        }

        Send(ingress.Sender, context.Reply.AsSpan(0, replyLength), address, port, context.ReplyType);
    }

    /// <summary>
    /// Writes the reply. DRP's order: 53, 54, 51, then the options asked for in option 55 in 55's order (all
    /// set options in code order when there is no 55), then PXE options a proxy reply must carry, then 82
    /// echoed (RFC 3046 §2.2), then 58/59 (RFC 2131 §4.4.5: T1 = 50 %, T2 = 87.5 % is the default; DRP sends 75 %).
    /// </summary>
    internal static int BuildReply(DhcpContext context)
    {
        var request = context.Request;
        var type = context.ReplyType;
        var nak = type == DhcpMessageType.Nak;

        // RFC 2131 §4.3.2: a relayed NAK goes to the relay with the broadcast bit set; proxy offers are broadcast (DRP).
        var broadcast = (nak && request.GiAddr != 0) || (context.Proxy && type == DhcpMessageType.Offer);
        var writer = new DhcpWriter(context.Reply, request.MaxReplySize);
        writer.WriteHeader(request.Header, nak ? 0 : context.CiAddr, context.YiAddr, nak ? 0 : context.SiAddr, broadcast);
        if (!nak)
        {
            if (context.ServerNameLength > 0)
            {
                writer.WriteServerName(context.ServerName.AsSpan(0, context.ServerNameLength));
            }

            if (context.FileNameLength > 0)
            {
                writer.WriteFileName(context.FileName.AsSpan(0, context.FileNameLength));
            }
        }

        writer.WriteOption(OptionCode.MessageType, (byte)type);
        writer.WriteOptionUInt32(OptionCode.ServerIdentifier, context.ServerId);
        var lease = context.LeaseSeconds > 0 && !nak && !context.Proxy;
        if (lease)
        {
            writer.WriteOptionUInt32(OptionCode.LeaseTime, (uint)context.LeaseSeconds);
        }

        if (!nak)
        {
            var options = context.Options;
            if (request.TryGetOption(OptionCode.ParameterRequestList, out var requested))
            {
                Span<bool> written = stackalloc bool[256];
                foreach (var code in requested)
                {
                    if (!written[code] && !IsSpecial(code) && options.Has(code))
                    {
                        written[code] = true;
                        writer.WriteOption(code, options.Get(code));
                    }
                }

                if (context.Proxy || context.Options.Has(OptionCode.VendorClass))
                {
                    // PXE options the client did not list but must see.
                    foreach (var code in (ReadOnlySpan<byte>)[OptionCode.VendorClass, OptionCode.VendorSpecific, OptionCode.ClientMachineId])
                    {
                        if (!written[code] && options.Has(code))
                        {
                            written[code] = true;
                            writer.WriteOption(code, options.Get(code));
                        }
                    }
                }
            }
            else
            {
                for (var code = 1; code < 255; code++)
                {
                    if (!IsSpecial((byte)code) && options.Has((byte)code))
                    {
                        writer.WriteOption((byte)code, options.Get((byte)code));
                    }
                }
            }
        }

        if (request.TryGetOption(OptionCode.RelayAgentInformation, out var relayInfo))
        {
            writer.WriteOption(OptionCode.RelayAgentInformation, relayInfo);
        }

        if (lease)
        {
            writer.WriteOptionUInt32(OptionCode.RenewalTime, (uint)(context.LeaseSeconds / 2));
            writer.WriteOptionUInt32(OptionCode.RebindingTime, (uint)(context.LeaseSeconds * 3L / 4));
        }

        return writer.Finish();
    }

    private static bool IsSpecial(byte code) => code is OptionCode.Pad or OptionCode.End or OptionCode.MessageType or OptionCode.ServerIdentifier
        or OptionCode.LeaseTime or OptionCode.RenewalTime or OptionCode.RebindingTime or OptionCode.RelayAgentInformation or OptionCode.Overload;

    /// <summary>
    /// RFC 2131 §4.1: relayed → giaddr:67; NAK → broadcast; ciaddr set → unicast to ciaddr:68; otherwise
    /// broadcast (unicasting to yiaddr would need an ARP entry for a client without an address; DRP broadcasts
    /// too). BINL (4011) replies go back to the sender.
    /// </summary>
    internal static (uint Address, int Port) Destination(DhcpContext context)
    {
        var request = context.Request;
        if (context.Ingress.Binl)
        {
            return (context.SourceAddress != 0 ? context.SourceAddress : Broadcast, context.SourcePort);
        }

        if (request.GiAddr != 0)
        {
            return (request.GiAddr, BootpLayout.ServerPort);
        }

        if (context.ReplyType == DhcpMessageType.Nak)
        {
            return (Broadcast, BootpLayout.ClientPort);
        }

        if (request.CiAddr != 0)
        {
            return (request.CiAddr, BootpLayout.ClientPort);
        }

        return (Broadcast, BootpLayout.ClientPort);
    }

    private void Send(IReplySender sender, ReadOnlySpan<byte> reply, uint address, int port, DhcpMessageType type)
    {
        try
        {
            sender.Send(reply, address, port);
            _counters.CountSent(type);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _counters.CountSendError();
            Log.SendFailed(_logger, sender.InterfaceName, OptionValues.FormatAddress(address), port, e.Message);
        }
    }

    // ---- probes ----------------------------------------------------------------------------------------

    /// <summary>Takes note of the probe; it starts when the chain has stopped (<see cref="StashForProbe"/>).</summary>
    void ILeaseHandlerHost.StartProbe(DhcpContext context, uint address)
    {
        if (_prober is null)
        {
            return;
        }

        _counters.CountProbe(inUse: false);
        var probe = new PendingProbe(context.Ingress, context.SourceAddress, context.SourcePort, address, context.Request.Mac, context.ProbeAttempt);
        context.PendingProbe = probe;
    }

    private void StashForProbe(DhcpContext context, byte[] buffer, int length)
    {
        if (context.PendingProbe is not { } probe)
        {
            return;
        }

        context.PendingProbe = null;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        buffer.AsSpan(0, length).CopyTo(copy);
        var task = RunProbeAsync(probe, copy, length);
        _probes.TryAdd(task, 0);
        _ = task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _probes,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task RunProbeAsync(PendingProbe probe, byte[] request, int length)
    {
        try
        {
            bool inUse;
            try
            {
                inUse = await _prober!.InUseAsync(probe.Address, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A probe that cannot run must not stop the offer (DRP offers when its pinger fails).
                Log.ProbeFailed(_logger, OptionValues.FormatAddress(probe.Address), e.Message);
                inUse = false;
            }

            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            _leases.CompleteProbe(probe.Address, probe.Mac, inUse, now);
            if (inUse)
            {
                _counters.CountProbe(inUse: true);
                Log.AddressInUse(_logger, OptionValues.FormatAddress(probe.Address), OptionValues.FormatMac(probe.Mac), probe.Ingress.InterfaceName);
            }

            // Handle the DISCOVER again: it now finds the OFFER (or, after a quarantine, picks another address).
            var context = RentContext();
            try
            {
                context.ProbeAttempt = probe.Attempt + 1;
                Process(context, request, length, probe.Ingress, probe.SourceAddress, probe.SourcePort);
            }
            finally
            {
                context.ProbeAttempt = 0;
                context.PendingProbe = null;
                _contexts.Enqueue(context);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(request);
        }
    }

    private DhcpContext RentContext() => _contexts.TryDequeue(out var context) ? context : new DhcpContext();

    /// <summary>Stops probes in flight and waits for them (bounded by the probe timeout).</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_probes.Keys).ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();

    void ILeaseHandlerHost.PoolExhausted(DhcpContext context)
    {
        _counters.CountExhausted();
        var subnet = context.Subnet?.Name ?? "";
        lock (_lastExhausted)
        {
            if (_lastExhausted.TryGetValue(subnet, out var last) && context.Now - last < ExhaustedEventIntervalMs)
            {
                return;
            }

            _lastExhausted[subnet] = context.Now;
        }

        Log.PoolExhausted(_logger, subnet, context.Token, context.Ingress.InterfaceName);
        if (_store is null)
        {
            return;
        }

        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("Subnet", subnet);
            json.WriteString("Mac", context.Token);
            json.WriteString("Interface", context.Ingress.InterfaceName);
            json.WriteEndObject();
        }

        using var document = JsonDocument.Parse(stream.ToArray());
        _store.PublishEvent(new StoreEvent(DateTimeOffset.FromUnixTimeMilliseconds(context.Now).UtcDateTime, "dhcp", "exhausted", subnet,
            LeasePersister.Principal, null, null, document.RootElement.Clone()));
    }

    internal sealed record PendingProbe(Ingress Ingress, uint SourceAddress, int SourcePort, uint Address, ulong Mac, int Attempt);

    /// <summary>An ACK waiting for its lease to be durable.</summary>
    private sealed class DeferredReply : IAfterCommit
    {
        private readonly DhcpEngine _engine;
        private readonly IReplySender _sender;
        private readonly byte[] _buffer;
        private readonly int _length;
        private readonly uint _address;
        private readonly int _port;
        private readonly DhcpMessageType _type;

        public DeferredReply(DhcpEngine engine, IReplySender sender, byte[] buffer, int length, uint address, int port, DhcpMessageType type)
        {
            _engine = engine;
            _sender = sender;
            _buffer = buffer;
            _length = length;
            _address = address;
            _port = port;
            _type = type;
        }

        public void Run(bool committed)
        {
            // Sent even when the commit failed: the lease is in memory and the client needs an answer; the
            // failure is logged by the persister (and the store refuses further writes until restarted).
            _engine.Send(_sender, _buffer.AsSpan(0, _length), _address, _port, _type);
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
