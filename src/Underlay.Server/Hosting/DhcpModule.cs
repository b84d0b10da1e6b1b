using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Underlay.Dhcp;

namespace Underlay.Server.Hosting;

/// <summary>Wires the DHCP and PXE/BINL services into underlayd.</summary>
internal static class DhcpModule
{
    public static void Register(WebApplicationBuilder builder, ServerContext context)
    {
        var options = context.Options;
        if (options.DisableDhcp && options.DisablePxe)
        {
            return;
        }

        var server = new DhcpServer(new DhcpServerOptions
        {
            Port = options.DhcpPort,
            BinlPort = options.BinlPort,
            EnableDhcp = !options.DisableDhcp,
            EnableBinl = !options.DisablePxe,
            Interfaces = options.DhcpInterfaces,
            StaticAddress = options.StaticIp,
            HttpPort = options.StaticPort,
            ProbeTimeout = TimeSpan.FromMilliseconds(options.DhcpProbeTimeoutMs),
            Workers = options.DhcpWorkers > 0 ? options.DhcpWorkers : new DhcpServerOptions().Workers,
        }, context.Store, context.LoggerFactory, context.Time);
        builder.Services.AddSingleton(server.Counters);
        builder.Services.AddSingleton<IHostedService>(new DhcpHostedService(server));
    }

    /// <summary>Runs the DHCP server with the host; the server flushes its lease writes on stop.</summary>
    private sealed class DhcpHostedService(DhcpServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
    }
}
