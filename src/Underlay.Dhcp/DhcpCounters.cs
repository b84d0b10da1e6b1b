using System.Diagnostics.Metrics;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp;

/// <summary>
/// Per-message-type counters (DRP's <c>drp_dhcp_requests_total{type}</c> / <c>replies_total{type}</c>) plus
/// drops by reason. Cheap to bump from any thread; exposed through <see cref="Meter"/> as observable counters so
/// a metrics exporter can scrape them, and as plain properties for tests.
/// </summary>
public sealed class DhcpCounters : IDisposable
{
    private readonly long[] _received = new long[9];
    private readonly long[] _sent = new long[9];
    private readonly long[] _malformed = new long[Enum.GetValues<ParseStatus>().Length];
    private long _ignored;
    private long _probes;
    private long _probesInUse;
    private long _exhausted;
    private long _sendErrors;

    public DhcpCounters()
    {
        Meter = new Meter("Underlay.Dhcp");
        Meter.CreateObservableCounter("underlay.dhcp.requests", ObserveReceived, description: "DHCP requests received, by message type");
        Meter.CreateObservableCounter("underlay.dhcp.replies", ObserveSent, description: "DHCP replies sent, by message type");
        Meter.CreateObservableCounter("underlay.dhcp.malformed", ObserveMalformed, description: "Datagrams dropped as malformed, by reason");
        Meter.CreateObservableCounter("underlay.dhcp.ignored", () => Ignored, description: "Valid requests answered with silence");
        Meter.CreateObservableCounter("underlay.dhcp.probes", () => Probes, description: "ICMP probes of new addresses");
        Meter.CreateObservableCounter("underlay.dhcp.probes_in_use", () => ProbesInUse, description: "Probes answered (address quarantined)");
        Meter.CreateObservableCounter("underlay.dhcp.pool_exhausted", () => Exhausted, description: "DISCOVERs that found no free address");
    }

    public Meter Meter { get; }

    public long Received(DhcpMessageType type) => Interlocked.Read(ref _received[(int)type]);

    public long Sent(DhcpMessageType type) => Interlocked.Read(ref _sent[(int)type]);

    public long Malformed(ParseStatus status) => Interlocked.Read(ref _malformed[(int)status]);

    /// <summary>All malformed datagrams, whatever the reason.</summary>
    public long MalformedTotal
    {
        get
        {
            long total = 0;
            for (var i = 1; i < _malformed.Length; i++)
            {
                total += Interlocked.Read(ref _malformed[i]);
            }

            return total;
        }
    }

    public long ReceivedTotal
    {
        get
        {
            long total = 0;
            for (var i = 0; i < _received.Length; i++)
            {
                total += Interlocked.Read(ref _received[i]);
            }

            return total;
        }
    }

    public long Ignored => Interlocked.Read(ref _ignored);

    public long Probes => Interlocked.Read(ref _probes);

    public long ProbesInUse => Interlocked.Read(ref _probesInUse);

    public long Exhausted => Interlocked.Read(ref _exhausted);

    public long SendErrors => Interlocked.Read(ref _sendErrors);

    internal void CountReceived(DhcpMessageType type) => Interlocked.Increment(ref _received[(int)type]);

    internal void CountSent(DhcpMessageType type) => Interlocked.Increment(ref _sent[(int)type]);

    internal void CountMalformed(ParseStatus status) => Interlocked.Increment(ref _malformed[(int)status]);

    internal void CountIgnored() => Interlocked.Increment(ref _ignored);

    internal void CountProbe(bool inUse)
    {
        Interlocked.Increment(ref _probes);
        if (inUse)
        {
            Interlocked.Increment(ref _probesInUse);
        }
    }

    internal void CountExhausted() => Interlocked.Increment(ref _exhausted);

    internal void CountSendError() => Interlocked.Increment(ref _sendErrors);

    private IEnumerable<Measurement<long>> ObserveReceived()
    {
        for (var i = 1; i < _received.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _received[i]), new KeyValuePair<string, object?>("type", ((DhcpMessageType)i).ToString()));
        }
    }

    private IEnumerable<Measurement<long>> ObserveSent()
    {
        for (var i = 1; i < _sent.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _sent[i]), new KeyValuePair<string, object?>("type", ((DhcpMessageType)i).ToString()));
        }
    }

    private IEnumerable<Measurement<long>> ObserveMalformed()
    {
        for (var i = 1; i < _malformed.Length; i++)
        {
            yield return new Measurement<long>(Interlocked.Read(ref _malformed[i]), new KeyValuePair<string, object?>("reason", ((ParseStatus)i).ToString()));
        }
    }

    public void Dispose() => Meter.Dispose();
}
