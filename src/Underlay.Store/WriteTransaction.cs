using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store.Content;
using Underlay.Store.Events;
using Underlay.Store.Persistence;

namespace Underlay.Store;

/// <summary>
/// The changes of one <see cref="ObjectStore.WriteAsync"/> call, made under the store's write lock. It is itself
/// an <see cref="IObjectLookup"/> that sees its own pending changes, so validation and hooks judge the state the
/// transaction would produce.
/// </summary>
public sealed class WriteTransaction : IObjectLookup
{
    private readonly ObjectStore _store;
    private readonly Dictionary<(ModelType Type, string Key), Pending> _pending = [];
    private readonly List<(ModelType Type, string Key)> _order = [];
    private int _depth;

    internal WriteTransaction(ObjectStore store, string principal)
    {
        _store = store;
        Principal = principal;
    }

    /// <summary>Who is writing (a user name, <c>machine:&lt;uuid&gt;</c>, or a service such as <c>dhcp</c>).</summary>
    public string Principal { get; }

    /// <summary>Flags hooks leave for each other within this transaction (e.g. "the workflow engine is writing").</summary>
    public IDictionary<string, object?> Items { get; } = new Dictionary<string, object?>(StringComparer.Ordinal);

    public DateTime Now => _store.Time.GetUtcNow().UtcDateTime;

    internal bool IsEmpty => _order.Count == 0 && Events.Count == 0 && LayerChange is null;

    internal List<StoreEvent> Events { get; } = [];

    internal LayerChange? LayerChange { get; set; }

    public ModelBase? Get(ModelType type, string key) => GetEntry(type, key)?.Object;

    public StoredEntry? GetEntry(ModelType type, string key)
    {
        if (_pending.TryGetValue((type, key), out var pending))
        {
            return pending.Object is null ? null : new StoredEntry(pending.Object, pending.Version);
        }

        return _store.GetEntry(type, key);
    }

    public IEnumerable<ModelBase> List(ModelType type)
    {
        foreach (var model in _store.List(type))
        {
            if (!_pending.ContainsKey((type, model.Key)))
            {
                yield return model;
            }
        }

        foreach (var ((pendingType, _), pending) in _pending)
        {
            if (pendingType == type && pending.Object is not null)
            {
                yield return pending.Object;
            }
        }
    }

    /// <summary>Queues an event to publish after this transaction commits, in order with its changes.</summary>
    public void Publish(StoreEvent storeEvent) => Events.Add(storeEvent);

    public WriteResult Create(ModelBase model)
    {
        var type = ModelTypes.Of(model);
        switch (model)
        {
            case Machine { Uuid: var id } machine when id == Guid.Empty:
                machine.Uuid = Guid.NewGuid();
                break;
            case Job { Uuid: var id } job when id == Guid.Empty:
                job.Uuid = Guid.NewGuid();
                break;
        }

        var key = model.Key;
        if (key.Length > 0 && GetEntry(type, key) is not null)
        {
            return WriteResult.Conflict(type.Prefix, key, $"{type.Singular} '{key}' already exists");
        }

        model.ReadOnly = false;
        model.Bundle = "";
        return Commit(new WriteOperation(WriteAction.Create, type, model, null), 201);
    }

    public WriteResult Save(ModelBase model, long? expectedVersion, WriteAction action = WriteAction.Save)
    {
        var type = ModelTypes.Of(model);
        var key = model.Key;
        var existing = GetEntry(type, key);
        if (existing is null)
        {
            return WriteResult.NotFound(type.Prefix, key);
        }

        if (ReferenceEquals(existing.Object, model))
        {
            throw new InvalidOperationException($"{type.Prefix}/{key}: writers must change a copy, not the stored object");
        }

        if (ReadOnlyRefusal(type, key) is { } refusal)
        {
            return refusal;
        }

        if (expectedVersion is { } expected && expected != existing.Version)
        {
            return WriteResult.Conflict(type.Prefix, key, $"{type.Singular} '{key}' changed since version {expected} (now {existing.Version})");
        }

        SecretFields.CarryOver(existing.Object, model);
        model.ReadOnly = false;
        model.Bundle = "";
        return Commit(new WriteOperation(action, type, model, existing.Object), 200);
    }

    /// <summary>Copies the stored object, lets <paramref name="change"/> edit the copy, and saves it.</summary>
    public WriteResult Update(ModelType type, string key, Func<ModelBase, WriteTransaction, WriteResult?> change, long? expectedVersion = null)
    {
        var existing = GetEntry(type, key);
        if (existing is null)
        {
            return WriteResult.NotFound(type.Prefix, key);
        }

        if (ReadOnlyRefusal(type, key) is { } refusal)
        {
            return refusal;
        }

        if (expectedVersion is { } expected && expected != existing.Version)
        {
            return WriteResult.Conflict(type.Prefix, key, $"{type.Singular} '{key}' changed since version {expected} (now {existing.Version})");
        }

        var copy = type.Clone(existing.Object);
        if (change(copy, this) is { } failure)
        {
            return failure;
        }

        if (copy.Key != key)
        {
            return WriteResult.Invalid(type.Prefix, key, [$"{type.KeyIndex}: the key cannot be changed (was '{key}', now '{copy.Key}')"]);
        }

        return Save(copy, null, WriteAction.Update);
    }

    public WriteResult Delete(ModelType type, string key, long? expectedVersion = null)
    {
        var existing = GetEntry(type, key);
        if (existing is null)
        {
            return WriteResult.NotFound(type.Prefix, key);
        }

        if (ReadOnlyRefusal(type, key) is { } refusal)
        {
            return refusal;
        }

        if (expectedVersion is { } expected && expected != existing.Version)
        {
            return WriteResult.Conflict(type.Prefix, key, $"{type.Singular} '{key}' changed since version {expected} (now {existing.Version})");
        }

        var operation = new WriteOperation(WriteAction.Delete, type, null, existing.Object);
        if (RunHooks(operation) is { } hookRefusal)
        {
            return hookRefusal;
        }

        Record(type, key, null, existing.Object, _store.NextVersion(), "delete");
        return WriteResult.Deleted(type.Prefix, key, existing.Object);
    }

    private WriteResult Commit(WriteOperation operation, int successCode)
    {
        var model = operation.Proposed!;
        var type = operation.Type;
        if (RunHooks(operation) is { } refusal)
        {
            return refusal;
        }

        var validation = _store.Validator.Validate(model, this, ValidationMode.Write, operation.Original);
        if (!validation.IsValid)
        {
            return WriteResult.Invalid(type.Prefix, model.Key, validation.InvalidReasons);
        }

        var key = model.Key;
        if (operation.Original is not null && operation.Original.Key != key)
        {
            return WriteResult.Invalid(type.Prefix, key, [$"{type.KeyIndex}: the key cannot be changed"]);
        }

        if (UniqueConflict(type, model) is { } conflict)
        {
            return WriteResult.Conflict(type.Prefix, key, conflict);
        }

        var version = _store.NextVersion();
        var action = operation.Action switch
        {
            WriteAction.Create => "create",
            WriteAction.Save => "save",
            _ => "update",
        };
        Record(type, key, model, operation.Original, version, action);
        return WriteResult.Success(model, version, successCode);
    }

    private WriteResult? RunHooks(WriteOperation operation)
    {
        // Hooks may write other objects through this transaction; bound the nesting so a rule cycle cannot recurse forever.
        if (++_depth > 16)
        {
            _depth--;
            return WriteResult.Failed(500, operation.Type.Prefix, "", "write hooks nested too deeply");
        }

        try
        {
            foreach (var hook in _store.Hooks)
            {
                hook.BeforeWrite(this, operation);
                if (operation.Refusal is { } refusal)
                {
                    return refusal;
                }
            }

            return null;
        }
        finally
        {
            _depth--;
        }
    }

    private WriteResult? ReadOnlyRefusal(ModelType type, string key)
    {
        if (_pending.ContainsKey((type, key)))
        {
            return null;
        }

        return _store.LayerOf(type, key) is { } layer ? WriteResult.ReadOnly(type.Prefix, key, layer.Name) : null;
    }

    private string? UniqueConflict(ModelType type, ModelBase model)
    {
        var table = _store.Table(type);
        foreach (var (index, value) in table.UniqueValues(model))
        {
            var owner = table.KeyForUnique(index, value);
            if (owner is not null && owner != model.Key && _pending.TryGetValue((type, owner), out var ownerPending))
            {
                // The stored owner is being changed or deleted in this transaction: judge its pending state instead.
                owner = ownerPending.Object is not null && table.UniqueValues(ownerPending.Object).Contains((index, value)) ? owner : null;
            }

            if (owner is not null && owner != model.Key)
            {
                return $"{index}: '{value}' is already used by {type.Singular} '{owner}'";
            }

            foreach (var ((pendingType, pendingKey), pending) in _pending)
            {
                if (pendingType == type && pendingKey != model.Key && pending.Object is not null &&
                    table.UniqueValues(pending.Object).Contains((index, value)))
                {
                    return $"{index}: '{value}' is already used by {type.Singular} '{pendingKey}'";
                }
            }
        }

        return null;
    }

    private void Record(ModelType type, string key, ModelBase? model, ModelBase? original, long version, string action)
    {
        var slot = (type, key);
        if (!_pending.ContainsKey(slot))
        {
            _order.Add(slot);
        }

        _pending[slot] = new Pending(type, key, model, version);
        Events.Add(new StoreEvent(Now, type.Prefix, action, key, Principal, model ?? original, model is null ? null : original));
    }

    internal IEnumerable<Pending> FinalStates()
    {
        foreach (var slot in _order)
        {
            yield return _pending[slot];
        }
    }

    internal sealed record Pending(ModelType Type, string Key, ModelBase? Object, long Version);
}

/// <summary>A new content layer list and the rows that persist it, applied with the transaction.</summary>
internal sealed record LayerChange(ContentLayer[] Layers, List<PersistedChange> Changes);
