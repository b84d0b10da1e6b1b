using System.Net.NetworkInformation;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Engine;

/// <summary>
/// DRP's probe: one ICMP echo to the address; any reply within the timeout means the address is in use. .NET's
/// <see cref="Ping"/> uses a raw ICMP socket when the process is root (as the DHCP server is, for port 67).
/// </summary>
internal sealed class IcmpProber : IAddressProber
{
    private static readonly byte[] Payload = new byte[16];
    private readonly TimeSpan _timeout;

    public IcmpProber(TimeSpan timeout) => _timeout = timeout;

    public async Task<bool> InUseAsync(uint address, CancellationToken cancellationToken)
    {
        using var ping = new Ping();
        var reply = await ping.SendPingAsync(OptionValues.ToIPAddress(address), _timeout, Payload, new PingOptions(64, dontFragment: true), cancellationToken)
            .ConfigureAwait(false);
        return reply.Status == IPStatus.Success;
    }
}
