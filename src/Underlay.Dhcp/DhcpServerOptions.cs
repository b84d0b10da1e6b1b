using System.Net;

namespace Underlay.Dhcp;

/// <summary>How the DHCP server runs; fixed for the server's lifetime.</summary>
public sealed record DhcpServerOptions
{
    /// <summary>RFC 2131 §4.1: servers listen on UDP 67.</summary>
    public int Port { get; init; } = 67;

    /// <summary>PXE spec: the boot server (proxy DHCP follow-up REQUESTs) listens on UDP 4011.</summary>
    public int BinlPort { get; init; } = 4011;

    public bool EnableDhcp { get; init; } = true;

    /// <summary>Answer proxy-DHCP REQUESTs on <see cref="BinlPort"/>.</summary>
    public bool EnableBinl { get; init; } = true;

    /// <summary>Interfaces to serve; empty means every interface except loopback.</summary>
    public IReadOnlyList<string> Interfaces { get; init; } = [];

    /// <summary>Threads receiving and handling packets per interface (each handles its packet start to finish).</summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <summary>
    /// How long an ICMP echo probe of a never-used address waits for an answer before the address is offered
    /// (DRP probes for 3 s). <see cref="TimeSpan.Zero"/> turns probing off. The default, 500 ms, is ample on a
    /// LAN: a host that owns the address answers within milliseconds, and the kernel's ARP resolution for an
    /// absent one takes longer than this anyway.
    /// </summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Our address when the ingress interface has none that fits (DRP's static IP).</summary>
    public IPAddress? StaticAddress { get; init; }

    /// <summary>The HTTP boot-file port, for <c>http://server:PORT/default.ipxe</c> and UEFI HTTP boot URLs.</summary>
    public int HttpPort { get; init; } = 8091;

    /// <summary>How often interfaces are re-read (addresses change, interfaces come and go).</summary>
    public TimeSpan InterfaceScanInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often leases whose time ran out are marked EXPIRED.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(10);
}
