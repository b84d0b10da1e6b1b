using Microsoft.AspNetCore.Builder;

namespace Underlay.Server.Hosting;

/// <summary>Wires the DHCP and PXE/BINL services into underlayd.</summary>
internal static class DhcpModule
{
    public static void Register(WebApplicationBuilder builder, ServerContext context)
    {
        // The DHCP service registers here once Underlay.Dhcp provides it.
        _ = builder;
        _ = context;
    }
}
