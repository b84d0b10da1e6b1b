using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store.Content;
using Underlay.Store.Events;
using Underlay.Store.Persistence;

namespace Underlay.Store;

/// <summary>
/// Every object, in memory and indexed, with a writable layer over read-only content layers.
/// <para>
/// Concurrency: reads take no locks (concurrent dictionaries of immutable entries; the content layer list is
/// swapped whole). Writes run one transaction at a time under one lock: hooks and validation see a consistent
/// store, versions increase by one per change, and the change is queued for the database in lock order. The
/// writer loop commits queued transactions in batches (group commit), then publishes their events in the same
/// order, then acknowledges the writers — so an acknowledged write is durable and events never run ahead of
/// the database.
/// </para>
/// </summary>
public sealed partial class ObjectStore : IObjectLookup, IAsyncDisposable
{
    private const int MaxTransactionsPerCommit = 1024;

    private readonly IStorePersistence _persistence;
    private readonly ILogger _logger;
    private readonly Dictionary<ModelType, TypeTable> _tables;
    private readonly List<IWriteHook> _hooks = [];
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Channel<CommitBatch> _commits = Channel.CreateUnbounded<CommitBatch>(new UnboundedChannelOptions { SingleReader = true });
    private ContentLayer[] _layers = [];
    private long _version;
    private Task? _writerLoop;
    private string? _fault;

    public ObjectStore(IStorePersistence persistence, ModelValidator validator, EventBus events, TimeProvider time, ILogger<ObjectStore> logger)
    {
        _persistence = persistence;
        Validator = validator;
        Events = events;
        Time = time;
        _logger = logger;
        _tables = ModelTypes.All.ToDictionary(t => t, t => new TypeTable(t));
    }

    public ModelValidator Validator { get; }

    public EventBus Events { get; }

    public TimeProvider Time { get; }

    public string Description => _persistence.Description;

    /// <summary>Adds a business-rule hook; call before <see cref="OpenAsync"/>.</summary>
    public void AddHook(IWriteHook hook) => _hooks.Add(hook);

    internal IReadOnlyList<IWriteHook> Hooks => _hooks;

    /// <summary>Opens the database, loads the built-in packs, then uploaded packs and objects as stored.</summary>
    public async Task OpenAsync(IEnumerable<ContentPack> builtInPacks, CancellationToken cancellationToken)
    {
        await _persistence.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await _persistence.LoadAsync(cancellationToken).ConfigureAwait(false);
        _version = rows.Count == 0 ? 0 : rows.Max(r => r.Version);

        foreach (var pack in builtInPacks)
        {
            var (layer, error) = BuildLayer(pack, builtIn: true, ++_version);
            if (layer is null)
            {
                throw new InvalidOperationException($"built-in content pack '{pack.Meta.Name}' does not load: {error}");
            }

            _layers = [.. _layers, layer];
        }

        foreach (var row in rows.Where(r => r.Prefix == PersistedChange.ContentPrefix).OrderBy(r => r.Version))
        {
            var pack = JsonSerializer.Deserialize(row.Body, UnderlayJsonContext.Default.ContentPack)!;
            var (layer, error) = BuildLayer(pack, builtIn: false, row.Version);
            if (layer is null)
            {
                // Keep starting: an operator can fix or remove the pack through the API.
                LogContentNotLoaded(row.Key, error ?? "");
                continue;
            }

            _layers = [layer, .. _layers];
        }

        var loaded = 0;
        foreach (var row in rows.Where(r => r.Prefix != PersistedChange.ContentPrefix))
        {
            if (ModelTypes.Find(row.Prefix) is not { } type)
            {
                LogUnknownRow(row.Prefix, row.Key);
                continue;
            }

            _tables[type].Put(type.Deserialize(row.Body), row.Version);
            loaded++;
        }

        LogOpened(_persistence.Description, loaded, _layers.Length);
        _writerLoop = Task.Run(WriterLoopAsync, CancellationToken.None);
    }

    // ---- reads ------------------------------------------------------------------------------------------

    public ModelBase? Get(ModelType type, string key) => GetEntry(type, key)?.Object;

    /// <summary>The object and its version, from the writable layer or, failing that, a content layer.</summary>
    public StoredEntry? GetEntry(ModelType type, string key)
    {
        if (_tables[type].Entries.TryGetValue(key, out var entry))
        {
            return entry;
        }

        foreach (var layer in Volatile.Read(ref _layers))
        {
            if (layer.Get(type, key) is { } model)
            {
                return new StoredEntry(model, layer.Version);
            }
        }

        return null;
    }

    public IEnumerable<ModelBase> List(ModelType type)
    {
        var table = _tables[type];
        foreach (var entry in table.Entries.Values)
        {
            yield return entry.Object;
        }

        var layers = Volatile.Read(ref _layers);
        foreach (var layer in layers)
        {
            foreach (var model in layer.List(type))
            {
                if (!table.Entries.ContainsKey(model.Key) && !ShadowedByUpload(layers, layer, type, model.Key))
                {
                    yield return model;
                }
            }
        }
    }

    /// <summary>Number of visible objects of a type.</summary>
    public int Count(ModelType type)
    {
        var count = _tables[type].Entries.Count;
        var layers = Volatile.Read(ref _layers);
        foreach (var layer in layers)
        {
            count += layer.BuiltIn ? layer.List(type).Count(m => !ShadowedByUpload(layers, layer, type, m.Key)) : layer.List(type).Count();
        }

        return count;
    }

    /// <summary>
    /// An uploaded pack may replace an object of a built-in pack (DRP's stack: uploaded content sits above the
    /// built-in basic content, so the community pack's own <c>discover-base</c> wins over ours).
    /// </summary>
    private static bool ShadowedByUpload(ContentLayer[] layers, ContentLayer layer, ModelType type, string key)
    {
        if (!layer.BuiltIn)
        {
            return false;
        }

        foreach (var other in layers)
        {
            if (!other.BuiltIn && other.Get(type, key) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Resolves an API id: the key, or <c>Index:value</c> for any index (DRP <c>Name:node1</c>).</summary>
    public StoredEntry? Resolve(ModelType type, string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && type.FindIndex(id[..colon]) is { } index)
        {
            return FindByIndex(type, index, id[(colon + 1)..]);
        }

        return GetEntry(type, id);
    }

    /// <summary>The first object whose index equals <paramref name="value"/>; unique indexes are a map lookup.</summary>
    public StoredEntry? FindByIndex(ModelType type, IndexDefinition index, string value)
    {
        if (index.Name == type.KeyIndex || index.Name == "Key")
        {
            return GetEntry(type, index.TryParse(value, out var keyValue) ? keyValue?.ToString() ?? value : value);
        }

        var table = _tables[type];
        if (table.HasUniqueIndex(index.Name))
        {
            if (!index.TryParse(value, out var parsed) || parsed is null)
            {
                return null;
            }

            if (table.KeyForUnique(index.Name, parsed.ToString()!) is { } key && table.Entries.TryGetValue(key, out var found))
            {
                return found;
            }
        }

        if (!index.TryParse(value, out var wanted))
        {
            return null;
        }

        foreach (var model in List(type))
        {
            foreach (var candidate in index.ValuesOf(model))
            {
                if (Equals(candidate, wanted))
                {
                    return GetEntry(type, model.Key);
                }
            }
        }

        return null;
    }

    /// <summary>The machine whose HardwareAddrs holds this MAC (lowercase colon form), without a scan.</summary>
    public Machine? FindMachineByMac(string mac)
    {
        var table = _tables[ModelTypes.Machines];
        return table.KeyForUnique("HardwareAddrs", mac) is { } key && table.Entries.TryGetValue(key, out var entry)
            ? (Machine)entry.Object
            : null;
    }

    public IReadOnlyList<ContentLayer> ContentLayers => Volatile.Read(ref _layers);

    /// <summary>The content layer an object comes from, or null for writable objects.</summary>
    internal ContentLayer? LayerOf(ModelType type, string key)
    {
        if (_tables[type].Entries.ContainsKey(key))
        {
            return null;
        }

        foreach (var layer in Volatile.Read(ref _layers))
        {
            if (layer.Get(type, key) is not null)
            {
                return layer;
            }
        }

        return null;
    }

    internal TypeTable Table(ModelType type) => _tables[type];

    internal long NextVersion() => Interlocked.Increment(ref _version);

    // ---- writes -----------------------------------------------------------------------------------------

    /// <summary>
    /// Runs <paramref name="body"/> as one transaction under the write lock. If it returns success, every change
    /// it made is applied, persisted in one database transaction and announced; otherwise nothing changes.
    /// </summary>
    public async Task<WriteResult> WriteAsync(Func<WriteTransaction, WriteResult> body, string principal, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _fault) is { } fault)
        {
            return WriteResult.Failed(503, "", "", $"the store refuses writes after a database failure: {fault}");
        }

        CommitBatch? batch;
        WriteResult result;
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = new WriteTransaction(this, principal);
            result = body(transaction);
            if (!result.IsSuccess || transaction.IsEmpty)
            {
                return result;
            }

            batch = Apply(transaction);
        }
        finally
        {
            _writeLock.Release();
        }

        try
        {
            // Deliberately not cancellable: the change is already visible, the caller must learn whether it is durable.
            await batch.Durable.Task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return WriteResult.Failed(503, result.Model, result.Key, $"the change could not be stored: {e.Message}");
        }

        return result;
    }

    public Task<WriteResult> CreateAsync(ModelBase model, string principal, CancellationToken cancellationToken = default) =>
        WriteAsync(tx => tx.Create(model), principal, cancellationToken);

    /// <summary>Replaces an object (PUT); <paramref name="expectedVersion"/> guards against lost updates.</summary>
    public Task<WriteResult> SaveAsync(ModelBase model, long? expectedVersion, string principal, CancellationToken cancellationToken = default) =>
        WriteAsync(tx => tx.Save(model, expectedVersion, WriteAction.Save), principal, cancellationToken);

    public Task<WriteResult> DeleteAsync(ModelType type, string key, long? expectedVersion, string principal, CancellationToken cancellationToken = default) =>
        WriteAsync(tx => tx.Delete(type, key, expectedVersion), principal, cancellationToken);

    /// <summary>
    /// Read-modify-write of one object under the lock: <paramref name="change"/> gets a private copy and returns
    /// null to save it, or a failure to abandon the write.
    /// </summary>
    public Task<WriteResult> UpdateAsync(ModelType type, string key, Func<ModelBase, WriteTransaction, WriteResult?> change, long? expectedVersion, string principal, CancellationToken cancellationToken = default) =>
        WriteAsync(tx => tx.Update(type, key, change, expectedVersion), principal, cancellationToken);

    /// <summary>Announces a service event (tftp.serve, dhcp.ack, ...) in order with store changes.</summary>
    public void PublishEvent(StoreEvent storeEvent) => Events.Publish(storeEvent);

    private CommitBatch Apply(WriteTransaction transaction)
    {
        var changes = new List<PersistedChange>();
        foreach (var pending in transaction.FinalStates())
        {
            var table = _tables[pending.Type];
            if (pending.Object is null)
            {
                table.Remove(pending.Key);
                changes.Add(new PersistedChange(ChangeKind.Delete, pending.Type.Prefix, pending.Key, pending.Version, null));
            }
            else
            {
                table.Put(pending.Object, pending.Version);
                changes.Add(new PersistedChange(ChangeKind.Upsert, pending.Type.Prefix, pending.Key, pending.Version, pending.Type.Serialize(pending.Object)));
            }
        }

        if (transaction.LayerChange is { } layerChange)
        {
            Volatile.Write(ref _layers, layerChange.Layers);
            changes.AddRange(layerChange.Changes);
        }

        var batch = new CommitBatch(changes, transaction.Events);
        _commits.Writer.TryWrite(batch);
        return batch;
    }

    private async Task WriterLoopAsync()
    {
        var reader = _commits.Reader;
        var batches = new List<CommitBatch>();
        var changes = new List<PersistedChange>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batches.Clear();
            changes.Clear();
            while (batches.Count < MaxTransactionsPerCommit && reader.TryRead(out var batch))
            {
                batches.Add(batch);
                changes.AddRange(batch.Changes);
            }

            try
            {
                if (changes.Count > 0)
                {
                    await _persistence.CommitAsync(changes, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception e)
            {
                // Memory already holds these changes; refusing later writes keeps the database from diverging further.
                Volatile.Write(ref _fault, e.Message);
                LogCommitFailed(e, changes.Count);
                foreach (var failed in batches)
                {
                    failed.Durable.TrySetException(e);
                }

                continue;
            }

            foreach (var committed in batches)
            {
                foreach (var storeEvent in committed.Events)
                {
                    Events.Publish(storeEvent);
                }

                committed.Durable.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _commits.Writer.TryComplete();
        if (_writerLoop is not null)
        {
            await _writerLoop.ConfigureAwait(false);
        }

        await _persistence.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }

    [LoggerMessage(3000, LogLevel.Information, "Store {Location} opened: {Objects} objects, {Packs} content packs")]
    private partial void LogOpened(string location, int objects, int packs);

    [LoggerMessage(3001, LogLevel.Error, "Stored content pack {Name} was not loaded: {Error}")]
    private partial void LogContentNotLoaded(string name, string error);

    [LoggerMessage(3002, LogLevel.Warning, "Ignoring stored row of unknown type {Prefix}/{Key}")]
    private partial void LogUnknownRow(string prefix, string key);

    [LoggerMessage(3003, LogLevel.Critical, "Database commit of {Changes} changes failed; the store now refuses writes until restarted")]
    private partial void LogCommitFailed(Exception exception, int changes);

    private sealed record CommitBatch(List<PersistedChange> Changes, List<StoreEvent> Events)
    {
        public TaskCompletionSource Durable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
