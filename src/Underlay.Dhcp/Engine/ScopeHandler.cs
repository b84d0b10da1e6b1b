using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Engine;

/// <summary>
/// Finds the network the client is on and who we are on it. DRP order: the ingress interface's address; giaddr
/// for relayed requests (RFC 2131 §4.3.1); option 82 sub-option 5, link selection (RFC 3527), over both.
/// Sub-option 11 (RFC 5107) overrides the server identifier.
/// </summary>
internal sealed class ScopeHandler : IDhcpHandler
{
    private readonly uint _staticAddress;

    public ScopeHandler(uint staticAddress) => _staticAddress = staticAddress;

    public HandlerResult Handle(DhcpContext context)
    {
        var config = context.Config;
        if (config.IsEmpty)
        {
            // DRP: safe by default, nobody is answered until a subnet or reservation exists.
            context.Outcome = "NoConfiguration";
            return HandlerResult.Stop;
        }

        var request = context.Request;
        var giaddr = request.GiAddr;
        uint link = 0;
        uint serverIdOverride = 0;
        if (request.TryGetOption(OptionCode.RelayAgentInformation, out var relayInfo))
        {
            link = RelayAgentInformation.ReadAddress(relayInfo, RelayAgentInformation.LinkSelection);
            serverIdOverride = RelayAgentInformation.ReadAddress(relayInfo, RelayAgentInformation.ServerIdentifierOverride);
        }

        if (link == 0)
        {
            link = giaddr;
        }

        var subnet = config.SubnetFor(link);
        if (link == 0)
        {
            foreach (var (address, _) in context.Ingress.Addresses)
            {
                if (config.SubnetFor(address) is { } onInterface)
                {
                    subnet = onInterface;
                    link = address;
                    break;
                }
            }
        }

        context.Subnet = subnet;
        context.LinkAddress = link;

        // A reservation counts on its own network, or anywhere when it lies outside every subnet (DRP: it then
        // carries its own option 1).
        if (config.ByMac.TryGetValue(request.Mac, out var reservation) && (reservation.Subnet is null || ReferenceEquals(reservation.Subnet, subnet)))
        {
            context.Reservation = reservation;
        }

        var local = context.Ingress.AddressFor(subnet, link);
        if (local == 0)
        {
            local = _staticAddress;
        }

        context.LocalAddress = local;
        context.ServerId = serverIdOverride != 0 ? serverIdOverride : local;
        context.Via = giaddr != 0 ? giaddr : local;
        if (subnet is null && context.Reservation is null)
        {
            context.Outcome = "NoSubnet";
            return HandlerResult.Stop;
        }

        return HandlerResult.Continue;
    }
}
