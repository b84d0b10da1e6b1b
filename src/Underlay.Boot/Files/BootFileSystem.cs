using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Underlay.Boot.Rendering;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store;
using Underlay.Store.Events;

namespace Underlay.Boot.Files;

/// <summary>Who asks for a boot file, and over what.</summary>
/// <param name="Protocol"><c>tftp</c> or <c>http</c>.</param>
/// <param name="Remote">The client.</param>
/// <param name="Local">The server address the request arrived on (renders advertise it).</param>
public sealed record BootFileRequest(string Protocol, IPAddress? Remote, IPAddress? Local);

public enum BootFileKind
{
    /// <summary>A render, in <see cref="BootFile.Content"/>.</summary>
    Rendered,

    /// <summary>A file on disk at <see cref="BootFile.FullPath"/> (file root or loader asset).</summary>
    Physical,

    NotFound,

    /// <summary>The path is not allowed (<c>..</c>, a link leaving the root).</summary>
    Forbidden,

    /// <summary>The render failed (a missing required param, a template error); <see cref="BootFile.Message"/> says why.</summary>
    Failed,
}

/// <summary>What a path resolved to.</summary>
public sealed record BootFile(BootFileKind Kind, string Path, byte[]? Content = null, string? FullPath = null, long Length = 0, DateTime LastWriteUtc = default, string? Message = null)
{
    public static BootFile NotFound(string path) => new(BootFileKind.NotFound, path, Message: "File not found");
}

/// <summary>
/// The boot file space TFTP and HTTP serve (DRP-REFERENCE §1.2, §2.3). A path resolves, in order, to:
/// <list type="number">
/// <item>a render of a known machine's boot environment templates at their rendered paths
/// (<c>pxelinux.cfg/01-&lt;mac&gt;</c>, <c>&lt;mac&gt;.ipxe</c>, <c>&lt;ip&gt;.ipxe</c>, <c>grub/&lt;mac&gt;.cfg</c>,
/// <c>machines/&lt;uuid&gt;/…</c>), rendered per MAC when the path uses <c>.Machine.MacAddr</c>;</item>
/// <item>a render of the <c>unknownBootEnv</c>'s templates without a machine (<c>default.ipxe</c>,
/// <c>pxelinux.cfg/default</c>, <c>grub/grub.cfg</c>);</item>
/// <item><c>machines/&lt;uuid&gt;/metadata.cpio</c> of a known machine, generated (<see cref="MachineMetadata"/>);</item>
/// <item>a regular file under the file root;</item>
/// <item>a loader binary from the iPXE package (<c>ipxe.pxe</c>, <c>ipxe.efi</c>...).</item>
/// </list>
/// Renders are produced per request from the live store and never written to disk. Only the path → owner index is
/// kept, rebuilt from store events: each machine owns an immutable set of renders swapped with one reference
/// write, so a machine's files change together (DRP deregisters the old renders and registers the new ones), and a
/// lookup drains pending events first, so a path reflects every write acknowledged before the request.
/// </summary>
public sealed partial class BootFileSystem : IDisposable
{
    /// <summary>How deep Link templates may point at each other.</summary>
    private const int MaxLinkDepth = 4;

    private readonly ObjectStore _store;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, Guid> _byPath = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, MachineRenders> _machines = new();
    private volatile RenderSet _fallback = RenderSet.Empty;
    private EventSubscription? _events;

    // True while a thread applies events it has already taken off the queue: a request that finds the queue empty
    // must still wait for them, or it could answer from the index as it was before a change it was told about.
    private bool _draining;
    private bool _pathsUseParams;

    public BootFileSystem(ObjectStore store, TemplateRenderer renderer, FileRoot root, LoaderAssets assets, ILogger logger)
    {
        _store = store;
        Renderer = renderer;
        Root = root;
        Assets = assets;
        _logger = logger;
    }

    public TemplateRenderer Renderer { get; }

    public FileRoot Root { get; }

    public LoaderAssets Assets { get; }

    /// <summary>Every rendered path currently registered (machines' and the fallbacks), for diagnostics and tests.</summary>
    public IReadOnlyCollection<string> RenderedPaths
    {
        get
        {
            EnsureCurrent();
            return [.. _byPath.Keys, .. _fallback.Entries.Keys];
        }
    }

    /// <summary>Subscribes to store changes and indexes every machine; call once, before serving.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _events = Subscribe();
            RebuildAll();
        }
    }

    /// <summary>Keeps the index current without requests (the request path also drains, so this is only about latency).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var events = Volatile.Read(ref _events);
            if (events is null)
            {
                return;
            }

            try
            {
                if (!await events.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && !events.Overflowed)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            EnsureCurrent();
        }
    }

    /// <summary>Resolves a requested path (a TFTP file name or an HTTP path) to a boot file.</summary>
    public BootFile Open(string requested, BootFileRequest request)
    {
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(request);
        if (!FileRoot.TryNormalize(requested, out var path, out var error))
        {
            return new BootFile(BootFileKind.Forbidden, requested, Message: error);
        }

        Renderer.Addresses.Remember(request.Remote, request.Local);
        EnsureCurrent();
        return Resolve(path, request, 0);
    }

    private BootFile Resolve(string path, BootFileRequest request, int depth)
    {
        if (_byPath.TryGetValue(path, out var owner) && _machines.TryGetValue(owner, out var set) && set.Renders.Entries.TryGetValue(path, out var entry))
        {
            return Render(path, set.Machine, set.Renders.Env!, entry, request, depth);
        }

        var fallback = _fallback;
        if (fallback.Entries.TryGetValue(path, out entry))
        {
            return Render(path, null, fallback.Env!, entry, request, depth);
        }

        // A known machine's metadata overlay is generated, never a file: it must follow the machine's params.
        if (MachineMetadata.TryParsePath(path, out var uuid) && _store.Get(ModelTypes.Machines, uuid.ToString()) is Machine known)
        {
            var overlay = MachineMetadata.Build(known, Renderer.Params);
            return new BootFile(BootFileKind.Rendered, path, Content: overlay, Length: overlay.Length);
        }

        var found = Root.Find(path);
        if (found.Exists)
        {
            return new BootFile(BootFileKind.Physical, path, FullPath: found.FullPath, Length: found.Length, LastWriteUtc: found.LastWriteUtc);
        }

        if (found.Refusal is { } refusal)
        {
            return new BootFile(BootFileKind.Forbidden, path, Message: refusal);
        }

        if (Assets.Find(path) is { } asset)
        {
            var info = new FileInfo(asset);
            if (info.Exists)
            {
                return new BootFile(BootFileKind.Physical, path, FullPath: asset, Length: info.Length, LastWriteUtc: info.LastWriteTimeUtc);
            }
        }

        return BootFile.NotFound(path);
    }

    private BootFile Render(string path, Machine? machine, BootEnv env, RenderEntry entry, BootFileRequest request, int depth)
    {
        var context = new RenderContext
        {
            Machine = machine,
            BootEnv = env,
            MacAddress = entry.Mac,
            RemoteAddress = request.Remote,
            LocalAddress = request.Local,
            TemplatePath = "/" + path,
        };
        var target = RenderTarget.For(env);
        if (machine is not null && Renderer.MissingRequiredParams(context, target) is { Count: > 0 } missing)
        {
            var message = string.Join("; ", missing);
            LogRenderFailed(path, message);
            return new BootFile(BootFileKind.Failed, path, Message: message);
        }

        if (entry.Template.Link.Length > 0 && entry.Template.ID.Length == 0 && entry.Template.Contents.Length == 0)
        {
            var link = Renderer.RenderLink(context, target, entry.Template);
            if (!link.IsSuccess)
            {
                LogRenderFailed(path, link.Error!);
                return new BootFile(BootFileKind.Failed, path, Message: link.Error);
            }

            var linked = link.Text!.TrimStart('/');
            if (depth >= MaxLinkDepth || linked == path)
            {
                return new BootFile(BootFileKind.Failed, path, Message: $"link {path} -> {linked} goes around in circles");
            }

            var resolved = Resolve(linked, request, depth + 1);
            return resolved with { Path = path };
        }

        var outcome = Renderer.Render(context, target, entry.Template);
        if (!outcome.IsSuccess)
        {
            LogRenderFailed(path, outcome.Error!);
            return new BootFile(BootFileKind.Failed, path, Message: outcome.Error);
        }

        var bytes = Encoding.UTF8.GetBytes(outcome.Text!);
        return new BootFile(BootFileKind.Rendered, path, Content: bytes, Length: bytes.Length);
    }

    /// <summary>Announces a served file (DRP's <c>tftp.serve.&lt;file&gt;</c> / <c>static.serve.&lt;url&gt;</c> events).</summary>
    public void PublishServed(string type, string path, IPAddress? remote, long bytes, string outcome)
    {
        if (_store.Events.SubscriberCount <= 1)
        {
            // Only our own index subscription listens: building the payload would be wasted per request.
            return;
        }

        var data = JsonSerializer.SerializeToElement(new Dictionary<string, string>
        {
            ["Path"] = path,
            ["Remote"] = remote?.ToString() ?? "",
            ["Bytes"] = bytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Outcome"] = outcome,
        }, Underlay.Core.Json.UnderlayJsonContext.Default.DictionaryStringString);
        _store.PublishEvent(new StoreEvent(_store.Time.GetUtcNow().UtcDateTime, type, "serve", path, "", null, null, data));
    }

    // ---- the index ---------------------------------------------------------------------------------------------

    private EventSubscription Subscribe() =>
        _store.Events.Subscribe(e => e.Type is "machines" or "bootenvs" or "prefs" or "profiles" or "params" or "stages" or "contents", capacity: 65536);

    /// <summary>Applies every pending store event; the lock makes concurrent requests wait for one drainer.</summary>
    private void EnsureCurrent()
    {
        var events = Volatile.Read(ref _events);
        if (events is null || (!events.Overflowed && events.Reader.Count == 0 && !Volatile.Read(ref _draining)))
        {
            // Nothing pending, and no other thread holds events it has read but not applied yet.
            return;
        }

        lock (_gate)
        {
            Volatile.Write(ref _draining, true);
            try
            {
                DrainLocked();
            }
            finally
            {
                Volatile.Write(ref _draining, false);
            }
        }
    }

    /// <summary>Applies the pending events; the caller holds <see cref="_gate"/>.</summary>
    private void DrainLocked()
    {
        var events = _events!;
        if (events.Overflowed)
        {
            // Events were lost: start over from the store as it is.
            events.Dispose();
            _events = Subscribe();
            LogIndexOverflow();
            RebuildAll();
            return;
        }

        var machines = new HashSet<string>(StringComparer.Ordinal);
        var bootenvs = new HashSet<string>(StringComparer.Ordinal);
        var all = false;
        var fallback = false;
        while (events.Reader.TryRead(out var change))
        {
            switch (change.Type)
            {
                case "machines":
                    machines.Add(change.Key);
                    break;
                case "bootenvs":
                    bootenvs.Add(change.Key);
                    fallback = true;
                    break;
                case "prefs":
                    fallback = true;
                    break;
                case "contents":
                    all = true;
                    break;
                default:
                    // profiles, params, stages: paths only change if some path template reads params.
                    all |= _pathsUseParams;
                    fallback = true;
                    break;
            }
        }

        if (all)
        {
            RebuildAll();
            return;
        }

        if (bootenvs.Count > 0)
        {
            _pathsUseParams = PathsUseParams();
            foreach (var machine in _store.List(ModelTypes.Machines).Cast<Machine>())
            {
                if (bootenvs.Contains(machine.BootEnv))
                {
                    machines.Add(machine.Key);
                }
            }
        }

        foreach (var key in machines)
        {
            UpdateMachine(key);
        }

        if (fallback)
        {
            _fallback = BuildFallback();
        }
    }

    private void RebuildAll()
    {
        _pathsUseParams = PathsUseParams();
        var seen = new HashSet<Guid>();
        foreach (var machine in _store.List(ModelTypes.Machines).Cast<Machine>())
        {
            seen.Add(machine.Uuid);
            Apply(machine.Uuid, BuildMachine(machine));
        }

        foreach (var stale in _machines.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            Apply(stale, null);
        }

        _fallback = BuildFallback();
        LogIndexBuilt(_machines.Count, _byPath.Count, _fallback.Entries.Count);
    }

    private void UpdateMachine(string key)
    {
        if (!Guid.TryParse(key, out var uuid))
        {
            return;
        }

        Apply(uuid, _store.Get(ModelTypes.Machines, key) is Machine machine ? BuildMachine(machine) : null);
    }

    /// <summary>
    /// Swaps a machine's renders: new paths are added to the path map first, then the set is replaced with one
    /// write, then paths the new set lacks are removed — a lookup sees the old set or the new one, never a mix.
    /// </summary>
    private void Apply(Guid uuid, MachineRenders? renders)
    {
        _machines.TryGetValue(uuid, out var old);
        if (renders is not null)
        {
            foreach (var path in renders.Renders.Entries.Keys)
            {
                if (_byPath.TryGetValue(path, out var other) && other != uuid && _machines.TryGetValue(other, out var otherSet))
                {
                    LogPathCollision(path, otherSet.Machine.Name, renders.Machine.Name);
                }

                _byPath[path] = uuid;
            }

            _machines[uuid] = renders;
        }
        else
        {
            _machines.TryRemove(uuid, out _);
        }

        if (old is null)
        {
            return;
        }

        foreach (var path in old.Renders.Entries.Keys)
        {
            if (renders?.Renders.Entries.ContainsKey(path) != true)
            {
                _byPath.TryRemove(new KeyValuePair<string, Guid>(path, uuid));
            }
        }
    }

    /// <summary>
    /// The paths a machine's boot environment renders to. Nothing for a machine without a boot environment, or
    /// whose environment is missing, unavailable (no kernel yet) or only for unknown machines.
    /// </summary>
    private MachineRenders? BuildMachine(Machine machine)
    {
        if (_store.Get(ModelTypes.BootEnvs, machine.BootEnv.OrEmpty()) is not BootEnv env || !env.Available || env.OnlyUnknown)
        {
            return null;
        }

        var renders = BuildSet(env, machine);
        return renders.Entries.Count == 0 ? null : new MachineRenders(machine, renders);
    }

    private RenderSet BuildFallback()
    {
        var name = _store.Get(ModelTypes.Prefs, "unknownBootEnv") is Pref pref ? pref.Val : "";
        if (_store.Get(ModelTypes.BootEnvs, name) is not BootEnv env || !env.OnlyUnknown || !env.Available)
        {
            return RenderSet.Empty;
        }

        return BuildSet(env, null);
    }

    private RenderSet BuildSet(BootEnv env, Machine? machine)
    {
        var entries = new Dictionary<string, RenderEntry>(StringComparer.Ordinal);
        var target = RenderTarget.For(env);
        List<string> macs = machine is { HardwareAddrs.Count: > 0 } ? machine.HardwareAddrs : [""];
        foreach (var template in target.Templates)
        {
            // A path that does not name the MAC is the same for every NIC: render it once.
            List<string> perMac = template.Path.Contains("MacAddr", StringComparison.Ordinal) ? macs : [macs[0]];
            foreach (var mac in perMac)
            {
                var outcome = Renderer.RenderPath(new RenderContext { Machine = machine, BootEnv = env, MacAddress = mac }, target, template);
                if (!outcome.IsSuccess)
                {
                    LogPathFailed(env.Name, template.Name, machine?.Name ?? "(unknown machine)", outcome.Error!);
                    continue;
                }

                var path = outcome.Text!.TrimStart('/');
                if (IsServable(path))
                {
                    entries.TryAdd(path, new RenderEntry(template, mac));
                }
            }
        }

        return new RenderSet(env, entries);
    }

    /// <summary>
    /// A rendered path is registered only if every segment names something: a machine without an address renders
    /// <c>{{.Machine.Address}}.ipxe</c> as <c>.ipxe</c> and <c>pxelinux.cfg/{{.Machine.HexAddress}}</c> as a directory.
    /// </summary>
    private static bool IsServable(string path) =>
        path.Length > 0 && !path.EndsWith('/') && path.Split('/').All(segment => segment.Length > 0 && segment[0] != '.');

    private bool PathsUseParams() =>
        _store.List(ModelTypes.BootEnvs).Cast<BootEnv>().Any(env => env.Templates.OrEmpty().Any(t => t?.Path?.Contains("Param", StringComparison.Ordinal) == true));

    public void Dispose()
    {
        lock (_gate)
        {
            _events?.Dispose();
            _events = null;
        }
    }

    [LoggerMessage(4000, LogLevel.Information, "Boot file index built: {Machines} machines with renders, {Paths} machine paths, {Fallbacks} fallback paths")]
    private partial void LogIndexBuilt(int machines, int paths, int fallbacks);

    [LoggerMessage(4001, LogLevel.Warning, "Boot file index missed store events (subscriber overflow); rebuilt from the store")]
    private partial void LogIndexOverflow();

    [LoggerMessage(4002, LogLevel.Warning, "Rendering {Path} failed: {Error}")]
    private partial void LogRenderFailed(string path, string error);

    [LoggerMessage(4003, LogLevel.Debug, "Path of template {Template} of bootenv {BootEnv} for {Machine} does not render: {Error}")]
    private partial void LogPathFailed(string bootEnv, string template, string machine, string error);

    [LoggerMessage(4004, LogLevel.Warning, "Machines {Previous} and {Machine} render the same path {Path}; serving {Machine}'s")]
    private partial void LogPathCollision(string path, string previous, string machine);

    private sealed record RenderEntry(TemplateInfo Template, string Mac);

    private sealed record RenderSet(BootEnv? Env, Dictionary<string, RenderEntry> Entries)
    {
        public static RenderSet Empty { get; } = new(null, new Dictionary<string, RenderEntry>(StringComparer.Ordinal));
    }

    private sealed record MachineRenders(Machine Machine, RenderSet Renders);
}
