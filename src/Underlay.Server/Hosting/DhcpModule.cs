using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
        }, context.Store, new MinimumLevelLoggerFactory(context.LoggerFactory, MinimumLevel()), context.Time);
        builder.Services.AddSingleton(server.Counters);
        builder.Services.AddSingleton<IHostedService>(new DhcpHostedService(server));
    }

    /// <summary>
    /// UNDERLAY_LOG_LEVEL, Information when unset. The shared factory can come up at Trace when the variable is
    /// unset, and per-packet Debug lines would then cost more than the packets; DHCP applies the level itself.
    /// </summary>
    private static LogLevel MinimumLevel() =>
        Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("UNDERLAY_LOG_LEVEL"), ignoreCase: true, out var level) ? level : LogLevel.Information;

    private sealed class MinimumLevelLoggerFactory(ILoggerFactory inner, LogLevel minimum) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new MinimumLevelLogger(inner.CreateLogger(categoryName), minimum);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
            // The inner factory belongs to the host.
        }
    }

    private sealed class MinimumLevelLogger(ILogger inner, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }

    /// <summary>Runs the DHCP server with the host; the server flushes its lease writes on stop.</summary>
    private sealed class DhcpHostedService(DhcpServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);
    }
}
