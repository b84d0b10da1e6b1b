using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Underlay.Boot.Rendering;

/// <summary>The ports and fixed address renders advertise (<c>.ProvisionerURL</c>, <c>.ApiURL</c>...).</summary>
public sealed record ProvisionerEndpoints
{
    /// <summary>Used when the address a client reached is unknown (<c>--static-ip</c>).</summary>
    public IPAddress? StaticIp { get; init; }

    /// <summary>DRP's HTTP boot-file port.</summary>
    public int StaticPort { get; init; } = 8091;

    /// <summary>DRP's HTTPS boot-file port (v4.7+), named by <c>.SecureProvisionerURL</c>.</summary>
    public int SecureStaticPort { get; init; } = 8090;

    /// <summary>DRP's API port.</summary>
    public int ApiPort { get; init; } = 8092;
}

/// <summary>
/// Which server address each client can reach (DRP's per-connection cache, DRP-REFERENCE §1.2): every DHCP, TFTP
/// and HTTP exchange records the local address it arrived on for the remote address, and renders for that
/// client — or for a machine with that address — use it for <c>.ProvisionerAddress</c>.
/// </summary>
public sealed class ProvisionerAddresses
{
    /// <summary>Bounds the cache; a full cache starts over (it refills from the next requests).</summary>
    private const int Capacity = 65536;

    private readonly ConcurrentDictionary<IPAddress, IPAddress> _reached = new();
    private readonly Lazy<IPAddress> _fallback = new(FindInterfaceAddress);

    public ProvisionerAddresses(ProvisionerEndpoints endpoints) => Endpoints = endpoints;

    public ProvisionerEndpoints Endpoints { get; }

    /// <summary>Records that <paramref name="remote"/> reached this server at <paramref name="local"/>.</summary>
    public void Remember(IPAddress? remote, IPAddress? local)
    {
        if (remote is null || local is null || !IsUsable(local))
        {
            return;
        }

        remote = Normalize(remote);
        local = Normalize(local);
        if (_reached.TryGetValue(remote, out var known) && known.Equals(local))
        {
            return;
        }

        if (_reached.Count >= Capacity)
        {
            _reached.Clear();
        }

        _reached[remote] = local;
    }

    /// <summary>
    /// The address to put in a render: the local address of this request; else <c>--static-ip</c>; else the address
    /// the client (or the machine's address) last reached; else the first address of an interface that is up.
    /// </summary>
    public IPAddress For(IPAddress? local, IPAddress? remote, string? machineAddress)
    {
        if (local is not null && IsUsable(local))
        {
            return Normalize(local);
        }

        if (Endpoints.StaticIp is { } staticIp)
        {
            return staticIp;
        }

        if (remote is not null && _reached.TryGetValue(Normalize(remote), out var reached))
        {
            return reached;
        }

        if (IPAddress.TryParse(machineAddress, out var address) && _reached.TryGetValue(address, out reached))
        {
            return reached;
        }

        return _fallback.Value;
    }

    /// <summary>An address as a URL host: IPv6 in brackets.</summary>
    public static string UrlHost(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    public string FileUrl(IPAddress address) => string.Create(CultureInfo.InvariantCulture, $"http://{UrlHost(address)}:{Endpoints.StaticPort}");

    public string SecureFileUrl(IPAddress address) => string.Create(CultureInfo.InvariantCulture, $"https://{UrlHost(address)}:{Endpoints.SecureStaticPort}");

    public string ApiUrl(IPAddress address) => string.Create(CultureInfo.InvariantCulture, $"https://{UrlHost(address)}:{Endpoints.ApiPort}");

    private static bool IsUsable(IPAddress address) =>
        !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.None);

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static IPAddress FindInterfaceAddress()
    {
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                {
                    continue;
                }

                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    if (unicast.Address.AddressFamily == AddressFamily.InterNetwork)
                    {
                        return unicast.Address;
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
        }

        return IPAddress.Loopback;
    }
}
