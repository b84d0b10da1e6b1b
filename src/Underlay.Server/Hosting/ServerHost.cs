using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Underlay.Api;
using Underlay.Api.Auth;
using Underlay.Boot.Rendering;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Validation;
using Underlay.Store;
using Underlay.Store.Content;
using Underlay.Store.Events;
using Underlay.Store.Persistence;
using Underlay.Workflow;

namespace Underlay.Server.Hosting;

/// <summary>The composition root: builds every service from <see cref="ServerOptions"/> and runs them until stopped.</summary>
internal static partial class ServerHost
{
    public static string Version => typeof(ServerHost).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public static async Task<int> RunAsync(ServerOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.DataDirectory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(options.DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            console.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("UNDERLAY_LOG_LEVEL"), true, out var level) ? level : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var certificate = TlsCertificates.LoadOrCreate(options, out var certificatePath);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Request bodies are bounded per endpoint (objects, content packs); uploads stream without a global cap.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
            kestrel.Listen(options.ListenAddress, options.ApiPort, listen => listen.UseHttps(certificate));
            if (!options.DisableProvisioner)
            {
                kestrel.Listen(options.ListenAddress, options.StaticPort);
            }
        });

        builder.Services.AddUnderlayApi();
        var time = TimeProvider.System;
        var loggerFactory = LoggerFactory.Create(logging =>
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                console.UseUtcTimestamp = true;
            });
            logging.SetMinimumLevel(level is LogLevel.None ? LogLevel.Information : level);
        });

        var store = new ObjectStore(CreatePersistence(options), new ModelValidator(new ParamSchemas()), new EventBus(), time, loggerFactory.CreateLogger<ObjectStore>());
        store.AddHook(new SecretsHook());
        store.AddHook(new MachineRules());
        store.AddHook(new JobRules());
        var builtIn = ContentDirectory.LoadAll(options.ResolvedContentDirectory);
        await store.OpenAsync(builtIn, cancellationToken).ConfigureAwait(false);
        await Bootstrap.RunAsync(store, options, Console.Out, cancellationToken).ConfigureAwait(false);

        var tokens = new TokenService(TokenService.LoadOrCreateKey(Path.Combine(options.SecretsDirectory, "token-key")), time);
        var started = time.GetUtcNow().UtcDateTime;
        TemplateRenderer? renderer = null;
        var apiServices = new ApiServices(store, tokens, () => new Info
        {
            Version = Version,
            Id = Environment.MachineName,
            Address = options.StaticIp?.ToString() ?? "",
            ApiPort = options.ApiPort,
            FilePort = options.StaticPort,
            TftpPort = options.TftpPort,
            DhcpPort = options.DhcpPort,
            BinlPort = options.BinlPort,
            TftpEnabled = !options.DisableTftp,
            DhcpEnabled = !options.DisableDhcp,
            BinlEnabled = !options.DisablePxe,
            ProvisionerEnabled = !options.DisableProvisioner,
            Arch = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant() switch { "x64" => "amd64", var other => other },
            Os = "linux",
            Store = store.Description,
            StartedAt = started,
            Features = ["api-v3", "sane-exit-codes", "job-exit-states", "fsm-runner", "workflows", "default-workflow", "roles", "sprig", "json-patch"],
        }, time)
        {
            JobLogs = new JobLogs(options.JobLogDirectory),
            JobActions = new JobActionRenderer(() => renderer ?? throw new InvalidOperationException("the boot renderer is not built yet")),
        };

        var context = new ServerContext(options, store, loggerFactory, time);
        DhcpModule.Register(builder, context);
        BootModule.Register(builder, context);

        var app = builder.Build();
        renderer = app.Services.GetRequiredService<TemplateRenderer>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.MapUnderlayApi(apiServices, $"*:{options.ApiPort}");
        BootModule.Map(app, context);

        var logger = loggerFactory.CreateLogger("underlayd");
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        LogStarted(logger, Version, options.ApiPort, options.StaticPort, store.Description, certificatePath);
        try
        {
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await store.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            loggerFactory.Dispose();
            certificate.Dispose();
        }

        return 0;
    }

    private static IStorePersistence CreatePersistence(ServerOptions options) => options.Store switch
    {
        "memory:" or "memory" => new MemoryPersistence(),
        "sqlite" => new SqlitePersistence(Path.Combine(options.DataDirectory, "underlay.db")),
        var spec when spec.StartsWith("sqlite:", StringComparison.Ordinal) => new SqlitePersistence(spec["sqlite:".Length..]),
        var spec => throw new ArgumentException($"unsupported --store '{spec}' (use sqlite, sqlite:PATH or memory:)"),
    };

    [LoggerMessage(1, LogLevel.Information, "underlayd {Version} ready: API https://*:{ApiPort}/api/v3, boot files http://*:{StaticPort}, store {Store}, certificate {Certificate}")]
    private static partial void LogStarted(ILogger logger, string version, int apiPort, int staticPort, string store, string certificate);
}
