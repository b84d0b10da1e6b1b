using System.Text.Json;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store.Content;
using Underlay.Store.Events;
using Underlay.Store.Persistence;

namespace Underlay.Store;

public sealed partial class ObjectStore
{
    /// <summary>Uploads (or replaces) a content pack: its objects become visible and read-only.</summary>
    public Task<WriteResult> PutContentAsync(ContentPack pack, string principal, CancellationToken cancellationToken = default) =>
        WriteAsync(tx => PutContent(tx, pack), principal, cancellationToken);

    /// <summary>Removes an uploaded pack and every object it brought.</summary>
    public Task<WriteResult> DeleteContentAsync(string name, string principal, CancellationToken cancellationToken = default) =>
        WriteAsync(tx => DeleteContent(tx, name), principal, cancellationToken);

    public ContentLayer? FindContent(string name) => Volatile.Read(ref _layers).FirstOrDefault(l => l.Name == name);

    private WriteResult PutContent(WriteTransaction transaction, ContentPack pack)
    {
        var name = pack.Meta.Name;
        if (Names.CheckName(name) is { } problem)
        {
            return WriteResult.Invalid("contents", name, [$"meta.Name: {problem}"]);
        }

        var layers = Volatile.Read(ref _layers);
        var existing = layers.FirstOrDefault(l => l.Name == name);
        if (existing?.BuiltIn == true)
        {
            return WriteResult.Failed(403, "contents", name, $"content pack '{name}' is built in and cannot be replaced");
        }

        var version = NextVersion();
        var (layer, error) = BuildLayer(pack, builtIn: false, version, replacing: existing);
        if (layer is null)
        {
            return error!.StartsWith("409 ", StringComparison.Ordinal)
                ? WriteResult.Conflict("contents", name, error[4..])
                : WriteResult.Invalid("contents", name, [error!]);
        }

        // Newest uploads sit on top, as in DRP's stack (writable, then content packs, then built-ins).
        ContentLayer[] updated = existing is null
            ? [layer, .. layers]
            : [.. layers.Select(l => ReferenceEquals(l, existing) ? layer : l)];
        var body = JsonSerializer.SerializeToUtf8Bytes(pack, UnderlayJsonContext.Default.ContentPack);
        transaction.LayerChange = new LayerChange(updated, [new PersistedChange(ChangeKind.Upsert, PersistedChange.ContentPrefix, name, version, body)]);
        transaction.Publish(ContentEvent(transaction, existing is null ? "create" : "update", layer));
        return new WriteResult(existing is null ? 201 : 200, "contents", name, null, version, []);
    }

    private WriteResult DeleteContent(WriteTransaction transaction, string name)
    {
        var layers = Volatile.Read(ref _layers);
        var existing = layers.FirstOrDefault(l => l.Name == name);
        if (existing is null)
        {
            return WriteResult.NotFound("contents", name);
        }

        if (existing.BuiltIn)
        {
            return WriteResult.Failed(403, "contents", name, $"content pack '{name}' is built in and cannot be removed");
        }

        var version = NextVersion();
        transaction.LayerChange = new LayerChange(
            [.. layers.Where(l => !ReferenceEquals(l, existing))],
            [new PersistedChange(ChangeKind.Delete, PersistedChange.ContentPrefix, name, version, null)]);
        transaction.Publish(ContentEvent(transaction, "delete", existing));
        return new WriteResult(200, "contents", name, null, version, []);
    }

    private static StoreEvent ContentEvent(WriteTransaction transaction, string action, ContentLayer layer) =>
        new(transaction.Now, "contents", action, layer.Name, transaction.Principal, null, null,
            JsonSerializer.SerializeToElement(layer.Summary(), UnderlayJsonContext.Default.ContentSummary));

    /// <summary>
    /// Turns a pack into a layer: every section must be a known type, every key must be free in the writable layer
    /// and in other packs of the same kind (an uploaded pack may shadow a built-in object, not another upload's),
    /// and every object must be structurally valid. References to objects the pack does not
    /// have only make the object unavailable (another pack may bring them later).
    /// </summary>
    private (ContentLayer? Layer, string? Error) BuildLayer(ContentPack pack, bool builtIn, long version, ContentLayer? replacing = null)
    {
        var objects = new Dictionary<ModelType, Dictionary<string, ModelBase>>();
        var errors = new List<string>();
        foreach (var (prefix, section) in pack.Sections)
        {
            if (ModelTypes.Find(prefix) is not { } type || type == ModelTypes.Jobs || type == ModelTypes.Leases || type == ModelTypes.Prefs)
            {
                errors.Add($"sections.{prefix}: not a type content packs can hold");
                continue;
            }

            var byKey = new Dictionary<string, ModelBase>(StringComparer.Ordinal);
            foreach (var (key, element) in section)
            {
                ModelBase model;
                try
                {
                    model = type.Deserialize(element, UnderlayJson.LenientInput);
                }
                catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
                {
                    errors.Add($"{prefix}/{key}: {e.Message}");
                    continue;
                }

                if (model.Key.Length == 0 || model.Key == Guid.Empty.ToString())
                {
                    model.SetKey(key);
                }
                else if (model.Key != key)
                {
                    errors.Add($"{prefix}/{key}: the object's key is '{model.Key}'");
                    continue;
                }

                model.ReadOnly = true;
                model.Bundle = pack.Meta.Name;
                byKey[key] = model;
            }

            objects[type] = byKey;
        }

        if (errors.Count > 0)
        {
            return (null, string.Join("; ", errors.Take(20)));
        }

        var conflicts = new List<string>();
        var others = Volatile.Read(ref _layers).Where(l => !ReferenceEquals(l, replacing)).ToArray();
        foreach (var (type, byKey) in objects)
        {
            foreach (var key in byKey.Keys)
            {
                if (_tables[type].Entries.ContainsKey(key))
                {
                    conflicts.Add($"{type.Prefix}/{key} exists as a writable object");
                }
                else if (others.FirstOrDefault(l => l.BuiltIn == builtIn && l.Get(type, key) is not null) is { } owner)
                {
                    conflicts.Add($"{type.Prefix}/{key} is already provided by content pack '{owner.Name}'");
                }
            }
        }

        if (conflicts.Count > 0)
        {
            return (null, "409 " + string.Join("; ", conflicts.Take(20)) + (conflicts.Count > 20 ? $"; and {conflicts.Count - 20} more" : ""));
        }

        var layer = new ContentLayer(pack.Meta, builtIn, objects, [], version);
        var lookup = new LayeredLookup(this, [layer, .. others]);
        var warnings = (List<string>)layer.Warnings;
        foreach (var (type, byKey) in objects)
        {
            foreach (var model in byKey.Values)
            {
                var validation = Validator.Validate(model, lookup, ValidationMode.Content);
                if (!validation.IsValid)
                {
                    errors.AddRange(validation.InvalidReasons.Select(r => $"{type.Prefix}/{model.Key}: {r}"));
                }
                else if (!model.Available)
                {
                    warnings.Add($"{type.Prefix}/{model.Key} is unavailable: {string.Join("; ", validation.UnavailableReasons)}");
                }
            }
        }

        return errors.Count > 0 ? (null, string.Join("; ", errors.Take(20))) : (layer, null);
    }

    /// <summary>The store as it would look with a different content layer list (for validating a pack).</summary>
    private sealed class LayeredLookup(ObjectStore store, ContentLayer[] layers) : IObjectLookup
    {
        public ModelBase? Get(ModelType type, string key)
        {
            if (store._tables[type].Entries.TryGetValue(key, out var entry))
            {
                return entry.Object;
            }

            foreach (var layer in layers)
            {
                if (layer.Get(type, key) is { } model)
                {
                    return model;
                }
            }

            return null;
        }

        public IEnumerable<ModelBase> List(ModelType type)
        {
            var table = store._tables[type];
            foreach (var entry in table.Entries.Values)
            {
                yield return entry.Object;
            }

            foreach (var layer in layers)
            {
                foreach (var model in layer.List(type))
                {
                    yield return model;
                }
            }
        }
    }
}
