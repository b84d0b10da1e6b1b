using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Engine;

/// <summary>What the lease handler needs from the engine around it.</summary>
internal interface ILeaseHandlerHost
{
    /// <summary>ICMP-probes <paramref name="address"/> in the background, then handles the request again.</summary>
    void StartProbe(DhcpContext context, uint address);

    /// <summary>Announces (rate-limited) that a subnet has no address left.</summary>
    void PoolExhausted(DhcpContext context);
}

/// <summary>
/// The RFC 2131 state machine: DISCOVER → OFFER, REQUEST in SELECTING / INIT-REBOOT / RENEWING / REBINDING,
/// DECLINE, RELEASE, INFORM; proxy DHCP and the BINL port. Lease decisions are the <see cref="LeaseTable"/>'s.
/// </summary>
internal sealed class LeaseHandler : IDhcpHandler
{
    /// <summary>DRP: the lease time when neither a reservation nor a subnet says otherwise.</summary>
    private const int DefaultLeaseSeconds = 7200;

    /// <summary>A request is re-handled at most this many times after probes found its address in use.</summary>
    private const int MaxProbeAttempts = 4;

    private readonly LeaseTable _leases;
    private readonly ILeaseHandlerHost _host;
    private readonly bool _probe;

    public LeaseHandler(LeaseTable leases, ILeaseHandlerHost host, bool probe)
    {
        _leases = leases;
        _host = host;
        _probe = probe;
    }

    public HandlerResult Handle(DhcpContext context)
    {
        var request = context.Request;
        if (context.Ingress.Binl)
        {
            return HandleBinl(context);
        }

        if (context.Subnet is { Enabled: false } && context.Reservation is null)
        {
            // A disabled subnet answers nothing (its reservations still are, as in DRP).
            context.Outcome = "SubnetDisabled";
            return HandlerResult.Stop;
        }

        if (context.Subnet is { Proxy: true })
        {
            return HandleProxy(context);
        }

        switch (request.MessageType)
        {
            case DhcpMessageType.Discover:
                return HandleDiscover(context);
            case DhcpMessageType.Request:
                return HandleRequest(context);
            case DhcpMessageType.Decline:
                // RFC 2131 §4.3.3: the client found the address in use; option 50 names it.
                context.Outcome = _leases.Decline(request.RequestedAddress, request.Mac, context.Now) ? "Declined" : "DeclineIgnored";
                return HandlerResult.Stop;
            case DhcpMessageType.Release:
                // RFC 2131 §4.3.4: ciaddr names the released address; no reply.
                context.Outcome = _leases.Release(request.CiAddr, request.Mac, context.Now) ? "Released" : "ReleaseIgnored";
                return HandlerResult.Stop;
            case DhcpMessageType.Inform:
                // RFC 2131 §4.3.5: configuration only; no lease, no yiaddr, no lease time.
                context.ReplyType = DhcpMessageType.Ack;
                context.CiAddr = request.CiAddr;
                return HandlerResult.Continue;
            default:
                context.Outcome = "NotHandled";
                return HandlerResult.Stop;
        }
    }

    private HandlerResult HandleDiscover(DhcpContext context)
    {
        var request = context.Request;
        var probe = _probe && context.ProbeAttempt < MaxProbeAttempts;
        var result = _leases.Offer(context.Config, context.Subnet, context.Reservation, request.Mac, context.Token, request.RequestedAddress,
            context.Via, context.Now, probe);
        switch (result.Outcome)
        {
            case OfferOutcome.Offered:
                context.ReplyType = DhcpMessageType.Offer;
                context.YiAddr = result.Address;
                context.LeaseSeconds = LeaseSeconds(context);
                return HandlerResult.Continue;
            case OfferOutcome.NeedsProbe:
                context.Outcome = "Probing";
                _host.StartProbe(context, result.Address);
                return HandlerResult.Stop;
            case OfferOutcome.InFlight:
                context.Outcome = "InFlight";
                return HandlerResult.Stop;
            case OfferOutcome.Exhausted:
                // DRP: pool exhausted means silence (and an event for the operator), never a failure.
                context.Outcome = "Exhausted";
                _host.PoolExhausted(context);
                return HandlerResult.Stop;
            default:
                context.Outcome = "NoPool";
                return HandlerResult.Stop;
        }
    }

    private HandlerResult HandleRequest(DhcpContext context)
    {
        var request = context.Request;
        var serverId = request.ServerIdentifier;
        var requested = request.RequestedAddress;
        var ciaddr = request.CiAddr;
        RequestKind kind;
        if (request.HasOption(OptionCode.ServerIdentifier))
        {
            // RFC 2131 §4.3.2 SELECTING: a REQUEST naming another server means the client declined our offer.
            if (!IsOurs(context, serverId))
            {
                context.Outcome = "OtherServer";
                return HandlerResult.Stop;
            }

            kind = RequestKind.Selecting;
        }
        else
        {
            kind = requested != 0 && ciaddr == 0 ? RequestKind.InitReboot : RequestKind.Renewing;
        }

        var address = requested != 0 ? requested : ciaddr;
        if (address == 0)
        {
            return Nak(context);
        }

        var seconds = LeaseSeconds(context);
        switch (_leases.Request(context.Config, context.Subnet, context.Reservation, request.Mac, context.Token, address, kind, seconds, context.Via, context.Now))
        {
            case RequestOutcome.Ack:
                context.ReplyType = DhcpMessageType.Ack;
                context.YiAddr = address;
                context.CiAddr = ciaddr;
                context.LeaseSeconds = seconds;
                context.AfterCommit = true;
                return HandlerResult.Continue;
            case RequestOutcome.Nak:
                return Nak(context);
            default:
                context.Outcome = kind == RequestKind.InitReboot ? "InitRebootUnknown" : "NoLease";
                return HandlerResult.Stop;
        }
    }

    /// <summary>Proxy DHCP (DRP's FAKE lease): PXE clients get boot options without an address; nothing else is answered.</summary>
    private static HandlerResult HandleProxy(DhcpContext context)
    {
        if (context.Request.MessageType != DhcpMessageType.Discover)
        {
            context.Outcome = "ProxySubnet";
            return HandlerResult.Stop;
        }

        if (!context.IsPxeClient && !context.IsHttpClient)
        {
            context.Outcome = "NotPxe";
            return HandlerResult.Stop;
        }

        context.ReplyType = DhcpMessageType.Offer;
        context.Proxy = true;
        return HandlerResult.Continue;
    }

    /// <summary>PXE spec §2.2.4 / DRP's BINL handler: the client's REQUEST to 4011 is ACKed with boot options, yiaddr = ciaddr.</summary>
    private static HandlerResult HandleBinl(DhcpContext context)
    {
        var request = context.Request;
        if (request.MessageType is not (DhcpMessageType.Request or DhcpMessageType.Inform) || !(context.IsPxeClient || context.IsHttpClient))
        {
            context.Outcome = "NotBinl";
            return HandlerResult.Stop;
        }

        if (context.Subnet is not { Proxy: true })
        {
            context.Outcome = "NotProxySubnet";
            return HandlerResult.Stop;
        }

        context.ReplyType = DhcpMessageType.Ack;
        context.YiAddr = request.CiAddr;
        context.Proxy = true;
        return HandlerResult.Continue;
    }

    private static HandlerResult Nak(DhcpContext context)
    {
        context.ReplyType = DhcpMessageType.Nak;
        context.YiAddr = 0;
        return HandlerResult.Reply;
    }

    private static bool IsOurs(DhcpContext context, uint serverId)
    {
        if (serverId == context.ServerId || serverId == context.LocalAddress)
        {
            return true;
        }

        foreach (var (address, _) in context.Ingress.Addresses)
        {
            if (address == serverId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>DRP: reservation Duration, else ReservedLeaseTime for reserved clients, else ActiveLeaseTime, else 7200 s.</summary>
    private static int LeaseSeconds(DhcpContext context)
    {
        if (context.Reservation is { } reservation)
        {
            return reservation.Duration > 0 ? reservation.Duration : context.Subnet?.ReservedLeaseTime ?? DefaultLeaseSeconds;
        }

        return context.Subnet?.ActiveLeaseTime ?? DefaultLeaseSeconds;
    }
}
