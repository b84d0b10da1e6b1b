using System.Net;
using Microsoft.Extensions.Logging;
using Underlay.Boot.Archives;
using Underlay.Boot.Files;
using Underlay.Boot.Rendering;
using Underlay.Boot.Rules;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Boot;

/// <summary>How the boot file services are set up.</summary>
public sealed record BootOptions
{
    /// <summary>The boot file root (DRP's <c>tftpboot/</c>).</summary>
    public required string FileRoot { get; init; }

    public IPAddress? StaticIp { get; init; }

    public int StaticPort { get; init; } = 8091;

    public int ApiPort { get; init; } = 8092;

    public int SecureStaticPort { get; init; } = 8090;

    /// <summary>Where the iPXE package's loaders are looked for; null for Debian's location.</summary>
    public IReadOnlyList<string>? LoaderDirectories { get; init; }
}

/// <summary>
/// Boot's parts, built once by the composition root: the renderer (also what the workflow engine renders task
/// templates with), the virtual file system TFTP and HTTP serve, ISO/archive handling, and the rules and hook
/// that keep boot environments and machines consistent.
/// </summary>
public sealed partial class BootServices : IDisposable
{
    private const string Principal = "underlayd:boot";

    private readonly ObjectStore _store;
    private readonly ILogger _logger;

    private BootServices(ObjectStore store, BootOptions options, RenderTokenIssuer? tokens, ILoggerFactory loggers)
    {
        _store = store;
        _logger = loggers.CreateLogger("Underlay.Boot");
        Root = new FileRoot(options.FileRoot);
        Addresses = new ProvisionerAddresses(new ProvisionerEndpoints
        {
            StaticIp = options.StaticIp,
            StaticPort = options.StaticPort,
            ApiPort = options.ApiPort,
            SecureStaticPort = options.SecureStaticPort,
        });
        Renderer = new TemplateRenderer(store, Addresses, Root.Path, tokens);
        Assets = LoaderAssets.Locate(options.LoaderDirectories);
        Archives = new BootArchives(store, Root, loggers.CreateLogger<BootArchives>());
        Archives.AfterExplode = RevalidateAsync;
        Rules = new BootRules(Root, Archives);
        Files = new BootFileSystem(store, Renderer, Root, Assets, loggers.CreateLogger<BootFileSystem>());
    }

    public FileRoot Root { get; }

    public ProvisionerAddresses Addresses { get; }

    /// <summary>Renders templates with DRP's render data; see <see cref="TemplateRenderer"/>.</summary>
    public TemplateRenderer Renderer { get; }

    public LoaderAssets Assets { get; }

    public BootArchives Archives { get; }

    public BootRules Rules { get; }

    public BootFileSystem Files { get; }

    /// <summary>
    /// Builds the services and adds Boot's validation rules and write hook to the store. Rules apply to every write
    /// from now on; <see cref="StartAsync"/> applies them to what is already loaded.
    /// </summary>
    public static BootServices Create(ObjectStore store, BootOptions options, RenderTokenIssuer? tokens, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var services = new BootServices(store, options, tokens, loggers);
        store.Validator.AddRule(services.Rules);
        store.AddHook(new BootEnvChangeHook());
        return services;
    }

    /// <summary>
    /// Validates loaded templates, boot environments and machines with Boot's rules (the built-in packs loaded
    /// before the rules existed; files may have changed while the server was down), indexes the renders, and
    /// explodes ISOs already uploaded for environments that lack their kernel.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Assets.Missing.Count > 0)
        {
            LogLoadersMissing(string.Join(", ", Assets.Missing), string.Join(", ", Assets.Searched));
        }
        else
        {
            LogLoadersFound(Assets.Files.Count, string.Join(", ", Assets.Searched));
        }

        foreach (var type in new[] { ModelTypes.Templates, ModelTypes.BootEnvs, ModelTypes.Stages, ModelTypes.Tasks, ModelTypes.Machines })
        {
            await _store.RevalidateAsync(type, null, Principal, cancellationToken).ConfigureAwait(false);
        }

        Files.Start();
        await Archives.ExplodeMissingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How often boot environments are checked for files that appeared or vanished outside the API.</summary>
    public static readonly TimeSpan AvailabilityInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Runs until cancelled: keeps the render index current, explodes ISOs for new boot environments, and notices
    /// kernels copied into (or removed from) the file root by hand.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(Files.RunAsync(cancellationToken), ExplodeLoopAsync(cancellationToken), AvailabilityLoopAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// Validates boot environments again (their files may have changed behind the API's back), then the machines of
    /// those whose availability changed. Writes only what changed.
    /// </summary>
    public async Task RefreshAvailabilityAsync(CancellationToken cancellationToken)
    {
        var before = _store.List(ModelTypes.BootEnvs).ToDictionary(e => e.Key, e => e.Available, StringComparer.Ordinal);
        if (await _store.RevalidateAsync(ModelTypes.BootEnvs, null, Principal, cancellationToken).ConfigureAwait(false) == 0)
        {
            return;
        }

        var changed = _store.List(ModelTypes.BootEnvs)
            .Where(e => !before.TryGetValue(e.Key, out var was) || was != e.Available)
            .Select(e => e.Key)
            .ToHashSet(StringComparer.Ordinal);
        if (changed.Count > 0)
        {
            await _store.RevalidateAsync(ModelTypes.Machines, m => m is Machine machine && changed.Contains(machine.BootEnv), Principal, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ExplodeLoopAsync(CancellationToken cancellationToken)
    {
        using var changes = _store.Events.Subscribe(e => e.Type is "bootenvs" or "contents" && e.Principal != Principal, capacity: 1024);
        try
        {
            while (await changes.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (changes.Reader.TryRead(out _))
                {
                }

                await Archives.ExplodeMissingAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AvailabilityLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(AvailabilityInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await RefreshAvailabilityAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>After explodes: the boot environments (and their machines) may have become available.</summary>
    private async Task RevalidateAsync(IReadOnlyCollection<string> bootEnvs, CancellationToken cancellationToken)
    {
        await _store.RevalidateAsync(ModelTypes.BootEnvs, m => bootEnvs.Contains(m.Key), Principal, cancellationToken).ConfigureAwait(false);
        await _store.RevalidateAsync(ModelTypes.Machines, m => m is Machine machine && bootEnvs.Contains(machine.BootEnv), Principal, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        Files.Dispose();
        Archives.Dispose();
    }

    [LoggerMessage(4010, LogLevel.Warning, "Boot loaders {Missing} not found in {Directories}: install Debian's ipxe package (./underlay.sh serve does) or put them in the file root")]
    private partial void LogLoadersMissing(string missing, string directories);

    [LoggerMessage(4011, LogLevel.Information, "Serving {Count} boot loader files from {Directories}")]
    private partial void LogLoadersFound(int count, string directories);
}
