using Underlay.Core.Models;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Leases;

internal enum LeaseState : byte
{
    Probe,
    Offer,
    Ack,
    Expired,
    Invalid,
}

/// <summary>One address's lease. Mutable, and only ever touched under the table's lock.</summary>
internal sealed class LeaseEntry
{
    public uint Address;
    public ulong Mac;
    public string Token = "";
    public LeaseState State;
    public long ExpiresMs;
    public uint Via;
    public int Duration;

    public bool IsExpired(long now) => ExpiresMs <= now;

    /// <summary>The address may go to another client: the lease ran out (an INVALID one after its quarantine).</summary>
    public bool IsReusable(long now) => State != LeaseState.Probe && (State == LeaseState.Expired || IsExpired(now));

    public LeaseRecord ToRecord(bool deleted = false) => new(Address, Token, State, ExpiresMs, Via, Duration, deleted);
}

/// <summary>A lease as it goes to the store: a value copied under the lock.</summary>
internal readonly record struct LeaseRecord(uint Address, string Token, LeaseState State, long ExpiresMs, uint Via, int Duration, bool Deleted)
{
    public static string StateName(LeaseState state) => state switch
    {
        LeaseState.Probe => LeaseStates.Probe,
        LeaseState.Offer => LeaseStates.Offer,
        LeaseState.Ack => LeaseStates.Ack,
        LeaseState.Expired => LeaseStates.Expired,
        _ => LeaseStates.Invalid,
    };

    public static bool TryParseState(string name, out LeaseState state)
    {
        switch (name)
        {
            case LeaseStates.Probe: state = LeaseState.Probe; return true;
            case LeaseStates.Offer: state = LeaseState.Offer; return true;
            case LeaseStates.Ack: state = LeaseState.Ack; return true;
            case LeaseStates.Expired: state = LeaseState.Expired; return true;
            case LeaseStates.Invalid: state = LeaseState.Invalid; return true;
            default: state = LeaseState.Expired; return false;
        }
    }
}

/// <summary>Receives every lease change, in the order the table made them (the persister, or a test's list).</summary>
internal interface ILeaseJournal
{
    void Record(in LeaseRecord record);
}

internal enum OfferOutcome : byte
{
    /// <summary>An address is held for the client (state OFFER).</summary>
    Offered,

    /// <summary>A never-used address is held in state PROBE; ICMP-probe it before offering.</summary>
    NeedsProbe,

    /// <summary>A probe for this client is already running; stay silent (the client will retransmit).</summary>
    InFlight,

    /// <summary>The subnet has no address left.</summary>
    Exhausted,

    /// <summary>No subnet serves the client (disabled, OnlyReservations, or none at all).</summary>
    Refused,
}

internal readonly record struct OfferResult(OfferOutcome Outcome, uint Address);

internal enum RequestKind : byte
{
    /// <summary>RFC 2131 §4.3.2: option 54 present, answering an OFFER.</summary>
    Selecting,

    /// <summary>Option 50 present, no 54, ciaddr zero: verifying a remembered lease after a reboot.</summary>
    InitReboot,

    /// <summary>ciaddr set: extending a lease (unicast RENEWING or broadcast REBINDING).</summary>
    Renewing,
}

internal enum RequestOutcome : byte
{
    Ack,
    Nak,
    Ignore,
}

/// <summary>
/// The authoritative lease table, in memory. Every decision (which address a client gets, whether a REQUEST is
/// ACKed) is made under one lock, so two DISCOVERs can never be given the same address; the lock is held for
/// dictionary work only (never for I/O), so it is short. Each change is handed to an <see cref="ILeaseJournal"/>
/// that persists it in the background.
/// </summary>
internal sealed class LeaseTable
{
    /// <summary>DRP: an offered address is held for 60 s from the DISCOVER.</summary>
    public const int OfferHoldMs = 60_000;

    /// <summary>DRP: an address that answered a probe, or was declined, is quarantined for 10 minutes.</summary>
    public const int QuarantineMs = 10 * 60_000;

    private readonly object _gate = new();
    private readonly Dictionary<uint, LeaseEntry> _byAddress = [];
    private readonly Dictionary<ulong, LeaseEntry> _byMac = [];
    private readonly Dictionary<string, PoolCursor> _cursors = new(StringComparer.Ordinal);
    private readonly ILeaseJournal _journal;
    private long _removals;

    public LeaseTable(ILeaseJournal journal) => _journal = journal;

    public int Count
    {
        get { lock (_gate) { return _byAddress.Count; } }
    }

    /// <summary>A copy of the lease for <paramref name="address"/>.</summary>
    public bool TryGet(uint address, out LeaseRecord record)
    {
        lock (_gate)
        {
            if (_byAddress.TryGetValue(address, out var entry))
            {
                record = entry.ToRecord();
                return true;
            }
        }

        record = default;
        return false;
    }

    /// <summary>Copies of every lease (tests, diagnostics).</summary>
    public List<LeaseRecord> Snapshot()
    {
        lock (_gate)
        {
            var list = new List<LeaseRecord>(_byAddress.Count);
            foreach (var entry in _byAddress.Values)
            {
                list.Add(entry.ToRecord());
            }

            return list;
        }
    }

    /// <summary>
    /// DISCOVER: holds an address for <paramref name="mac"/>. Reservations win; then the client's current lease
    /// in the subnet; then the subnet's pickers in order.
    /// </summary>
    public OfferResult Offer(DhcpConfiguration config, CompiledSubnet? subnet, CompiledReservation? reservation, ulong mac, string token,
        uint hint, uint via, long now, bool probe)
    {
        lock (_gate)
        {
            if (reservation is not null)
            {
                _byAddress.TryGetValue(reservation.Address, out var held);
                if (held is null || held.Mac == mac || held.IsReusable(now))
                {
                    var entry = held ?? NewEntry(reservation.Address);
                    Hold(entry, mac, token, via, now, LeaseState.Offer);
                    return new OfferResult(OfferOutcome.Offered, entry.Address);
                }

                // DRP: the reserved address is still leased to someone else; fall through to the subnet's pool
                // until that lease runs out.
            }

            if (subnet is null || !subnet.Enabled)
            {
                return new OfferResult(OfferOutcome.Refused, 0);
            }

            if (_byMac.TryGetValue(mac, out var current) && subnet.Contains(current.Address) && current.State != LeaseState.Invalid &&
                !ReservedForOther(config, current.Address, mac))
            {
                if (current.State == LeaseState.Probe)
                {
                    return new OfferResult(OfferOutcome.InFlight, current.Address);
                }

                Hold(current, mac, token, via, now, LeaseState.Offer);
                return new OfferResult(OfferOutcome.Offered, current.Address);
            }

            if (subnet.OnlyReservations)
            {
                return new OfferResult(OfferOutcome.Refused, 0);
            }

            foreach (var picker in subnet.Pickers)
            {
                LeaseEntry? picked = picker switch
                {
                    PickerKind.Hint => PickHint(config, subnet, mac, hint, now),
                    PickerKind.NextFree => PickNextFree(config, subnet),
                    _ => PickMostExpired(config, subnet, mac, now),
                };
                if (picked is null)
                {
                    continue;
                }

                // Only an address nobody ever held is probed (DRP); a reused one was ours to begin with.
                var fresh = picked.Token.Length == 0 && picked.State == LeaseState.Probe;
                var state = fresh && probe ? LeaseState.Probe : LeaseState.Offer;
                Hold(picked, mac, token, via, now, state);
                return new OfferResult(state == LeaseState.Probe ? OfferOutcome.NeedsProbe : OfferOutcome.Offered, picked.Address);
            }

            return new OfferResult(OfferOutcome.Exhausted, 0);
        }
    }

    /// <summary>Ends a probe: an answer quarantines the address (INVALID), silence makes it an OFFER.</summary>
    public bool CompleteProbe(uint address, ulong mac, bool inUse, long now)
    {
        lock (_gate)
        {
            if (!_byAddress.TryGetValue(address, out var entry) || entry.Mac != mac || entry.State != LeaseState.Probe)
            {
                return false;
            }

            if (inUse)
            {
                Quarantine(entry, now);
                return false;
            }

            entry.State = LeaseState.Offer;
            _journal.Record(entry.ToRecord());
            return true;
        }
    }

    /// <summary>REQUEST in any state (RFC 2131 §4.3.2); on ACK the lease runs for <paramref name="leaseSeconds"/>.</summary>
    public RequestOutcome Request(DhcpConfiguration config, CompiledSubnet? subnet, CompiledReservation? reservation, ulong mac, string token,
        uint address, RequestKind kind, int leaseSeconds, uint via, long now)
    {
        lock (_gate)
        {
            _byAddress.TryGetValue(address, out var entry);
            var ours = entry is not null && entry.Mac == mac && entry.State is not (LeaseState.Invalid or LeaseState.Probe);
            if (ours)
            {
                // Reservations win: a client that now has a reservation elsewhere is sent back to INIT.
                if (reservation is not null && reservation.Address != address && kind != RequestKind.Selecting)
                {
                    return RequestOutcome.Nak;
                }

                Bind(entry!, leaseSeconds, via, now);
                return RequestOutcome.Ack;
            }

            if (kind == RequestKind.Selecting)
            {
                // RFC 2131 §4.3.2: the client answers our OFFER, but the address is no longer held for it.
                return RequestOutcome.Nak;
            }

            var takenByOther = entry is not null && entry.Mac != mac && !entry.IsReusable(now);
            if (takenByOther || ReservedForOther(config, address, mac) || (reservation is not null && reservation.Address != address))
            {
                return RequestOutcome.Nak;
            }

            if (kind == RequestKind.InitReboot)
            {
                // RFC 2131 §4.3.2 INIT-REBOOT: NAK an address on the wrong network; with no record of the client, stay silent.
                if (subnet is not null && !subnet.Contains(address))
                {
                    return RequestOutcome.Nak;
                }

                if (_byMac.TryGetValue(mac, out var remembered) && remembered.Address != address && subnet is not null && subnet.Contains(remembered.Address))
                {
                    return RequestOutcome.Nak;
                }

                if (reservation is null || reservation.Address != address)
                {
                    return RequestOutcome.Ignore;
                }
            }

            // RENEWING/REBINDING for an address we have no lease for (e.g. after the lease table was lost):
            // grant it if it is ours to give, otherwise NAK so the client starts over.
            if (reservation is not null && reservation.Address == address)
            {
                var reserved = entry ?? NewEntry(address);
                Hold(reserved, mac, token, via, now, LeaseState.Offer);
                Bind(reserved, leaseSeconds, via, now);
                return RequestOutcome.Ack;
            }

            // Not ours to judge (another server's client rebinding, a pool we do not hand out): stay silent.
            if (subnet is null || !subnet.Enabled || subnet.OnlyReservations || !subnet.InRange(address))
            {
                return RequestOutcome.Ignore;
            }

            var granted = entry ?? NewEntry(address);
            Hold(granted, mac, token, via, now, LeaseState.Offer);
            Bind(granted, leaseSeconds, via, now);
            return RequestOutcome.Ack;
        }
    }

    /// <summary>RELEASE (RFC 2131 §4.4.6): honoured only from the lease's owner; the address becomes reusable.</summary>
    public bool Release(uint address, ulong mac, long now)
    {
        lock (_gate)
        {
            if (!_byAddress.TryGetValue(address, out var entry) || entry.Mac != mac || entry.State is LeaseState.Invalid or LeaseState.Probe)
            {
                return false;
            }

            entry.State = LeaseState.Expired;
            entry.ExpiresMs = now;
            _journal.Record(entry.ToRecord());
            return true;
        }
    }

    /// <summary>DECLINE (RFC 2131 §4.3.3): the client found the address in use; quarantine it.</summary>
    public bool Decline(uint address, ulong mac, long now)
    {
        lock (_gate)
        {
            if (!_byAddress.TryGetValue(address, out var entry) || entry.Mac != mac)
            {
                return false;
            }

            Quarantine(entry, now);
            return true;
        }
    }

    /// <summary>Marks leases whose time ran out EXPIRED (so the API shows it) and drops stale probes.</summary>
    public int Sweep(long now)
    {
        var changed = 0;
        lock (_gate)
        {
            List<LeaseEntry>? stale = null;
            foreach (var entry in _byAddress.Values)
            {
                if (!entry.IsExpired(now))
                {
                    continue;
                }

                switch (entry.State)
                {
                    case LeaseState.Offer or LeaseState.Ack or LeaseState.Invalid:
                        entry.State = LeaseState.Expired;
                        _journal.Record(entry.ToRecord());
                        changed++;
                        break;
                    case LeaseState.Probe:
                        (stale ??= []).Add(entry);
                        break;
                }
            }

            if (stale is not null)
            {
                foreach (var entry in stale)
                {
                    RemoveLocked(entry);
                    _journal.Record(entry.ToRecord(deleted: true));
                    changed++;
                }
            }
        }

        return changed;
    }

    /// <summary>Loads a stored lease at start, or applies an operator's change made through the API.</summary>
    public bool Apply(Lease lease)
    {
        if (!OptionValues.TryParseAddress(lease.Addr, out var address) || !OptionValues.TryParseMac(lease.Token, out var mac) ||
            !LeaseRecord.TryParseState(lease.State, out var state))
        {
            return false;
        }

        lock (_gate)
        {
            if (_byAddress.TryGetValue(address, out var existing))
            {
                RemoveLocked(existing);
            }

            var entry = new LeaseEntry
            {
                Address = address,
                Mac = mac,
                Token = OptionValues.FormatMac(mac),
                State = state,
                ExpiresMs = new DateTimeOffset(DateTime.SpecifyKind(lease.ExpireTime, DateTimeKind.Utc)).ToUnixTimeMilliseconds(),
                Via = OptionValues.TryParseAddress(lease.Via, out var via) ? via : 0,
                Duration = lease.Duration,
            };
            _byAddress[address] = entry;
            if (state != LeaseState.Invalid)
            {
                _byMac[mac] = entry;
            }
        }

        return true;
    }

    /// <summary>An operator deleted the lease: forget it (the address becomes never-used again).</summary>
    public bool Remove(uint address)
    {
        lock (_gate)
        {
            if (!_byAddress.TryGetValue(address, out var entry))
            {
                return false;
            }

            RemoveLocked(entry);
            return true;
        }
    }

    private LeaseEntry? PickHint(DhcpConfiguration config, CompiledSubnet subnet, ulong mac, uint hint, long now)
    {
        if (hint == 0 || !subnet.InRange(hint) || ReservedForOther(config, hint, mac))
        {
            return null;
        }

        if (!_byAddress.TryGetValue(hint, out var entry))
        {
            return NewEntry(hint);
        }

        return entry.Mac == mac && entry.State != LeaseState.Invalid && entry.State != LeaseState.Probe || entry.IsReusable(now) ? entry : null;
    }

    private LeaseEntry? PickNextFree(DhcpConfiguration config, CompiledSubnet subnet)
    {
        if (!subnet.InRange(subnet.ActiveStart))
        {
            return null;
        }

        if (!_cursors.TryGetValue(subnet.Name, out var cursor) || cursor.Start != subnet.ActiveStart || cursor.End != subnet.ActiveEnd)
        {
            cursor = new PoolCursor { Start = subnet.ActiveStart, End = subnet.ActiveEnd, Next = subnet.ActiveStart, FullAtRemovals = -1 };
            _cursors[subnet.Name] = cursor;
        }

        // Nothing was freed since the last full scan found no address: the pool is still full.
        if (cursor.FullAtRemovals == _removals)
        {
            return null;
        }

        var size = (ulong)subnet.ActiveEnd - subnet.ActiveStart + 1;
        var address = cursor.Next;
        for (ulong n = 0; n < size; n++)
        {
            if (address < subnet.ActiveStart || address > subnet.ActiveEnd)
            {
                address = subnet.ActiveStart;
            }

            if (!_byAddress.ContainsKey(address) && !config.ByAddress.ContainsKey(address) && !IsNetworkOrBroadcast(subnet, address))
            {
                cursor.Next = address == subnet.ActiveEnd ? subnet.ActiveStart : address + 1;
                return NewEntry(address);
            }

            address = address == subnet.ActiveEnd ? subnet.ActiveStart : address + 1;
        }

        cursor.FullAtRemovals = _removals;
        return null;
    }

    private LeaseEntry? PickMostExpired(DhcpConfiguration config, CompiledSubnet subnet, ulong mac, long now)
    {
        LeaseEntry? oldest = null;
        foreach (var entry in _byAddress.Values)
        {
            if (subnet.InRange(entry.Address) && entry.IsReusable(now) && !ReservedForOther(config, entry.Address, mac) &&
                (oldest is null || entry.ExpiresMs < oldest.ExpiresMs))
            {
                oldest = entry;
            }
        }

        return oldest;
    }

    private static bool IsNetworkOrBroadcast(CompiledSubnet subnet, uint address) =>
        subnet.Mask != uint.MaxValue && subnet.Mask != uint.MaxValue - 1 && (address == subnet.Network || address == (subnet.Network | ~subnet.Mask));

    private static bool ReservedForOther(DhcpConfiguration config, uint address, ulong mac) =>
        config.ByAddress.TryGetValue(address, out var reservation) && reservation.Mac != mac;

    /// <summary>A placeholder for an address nobody held; it joins the table when <see cref="Hold"/> takes it.</summary>
    private static LeaseEntry NewEntry(uint address) => new() { Address = address, State = LeaseState.Probe };

    private void Hold(LeaseEntry entry, ulong mac, string token, uint via, long now, LeaseState state)
    {
        if (entry.Mac != mac || entry.Token.Length == 0)
        {
            if (entry.Token.Length > 0 && _byMac.TryGetValue(entry.Mac, out var previousOwner) && ReferenceEquals(previousOwner, entry))
            {
                _byMac.Remove(entry.Mac);
            }

            entry.Mac = mac;
            entry.Token = token;
        }

        _byAddress[entry.Address] = entry;
        _byMac[mac] = entry;
        entry.Via = via;

        // Re-offering to a client whose lease is still bound keeps it bound (a DISCOVER does not shorten a lease).
        if (entry.State == LeaseState.Ack && !entry.IsExpired(now) && state == LeaseState.Offer)
        {
            _journal.Record(entry.ToRecord());
            return;
        }

        entry.State = state;
        entry.ExpiresMs = now + OfferHoldMs;
        _journal.Record(entry.ToRecord());
    }

    private void Bind(LeaseEntry entry, int leaseSeconds, uint via, long now)
    {
        entry.State = LeaseState.Ack;
        entry.Duration = leaseSeconds;
        entry.ExpiresMs = now + (leaseSeconds * 1000L);
        entry.Via = via;
        _byMac[entry.Mac] = entry;
        _journal.Record(entry.ToRecord());
    }

    private void Quarantine(LeaseEntry entry, long now)
    {
        entry.State = LeaseState.Invalid;
        entry.ExpiresMs = now + QuarantineMs;
        if (_byMac.TryGetValue(entry.Mac, out var owner) && ReferenceEquals(owner, entry))
        {
            _byMac.Remove(entry.Mac);
        }

        _journal.Record(entry.ToRecord());
    }

    private void RemoveLocked(LeaseEntry entry)
    {
        _byAddress.Remove(entry.Address);
        if (_byMac.TryGetValue(entry.Mac, out var owner) && ReferenceEquals(owner, entry))
        {
            _byMac.Remove(entry.Mac);
        }

        _removals++;
    }

    private sealed class PoolCursor
    {
        public uint Start;
        public uint End;
        public uint Next;
        public long FullAtRemovals;
    }
}
