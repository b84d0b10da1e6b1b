using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Store.Content;

/// <summary>
/// The objects of one content pack: a read-only layer under the writable one. Immutable once built; loading or
/// removing a pack swaps the whole layer list.
/// </summary>
public sealed class ContentLayer
{
    internal ContentLayer(ContentMeta meta, bool builtIn, Dictionary<ModelType, Dictionary<string, ModelBase>> objects, List<string> warnings, long version)
    {
        Meta = meta;
        BuiltIn = builtIn;
        Objects = objects;
        Warnings = warnings;
        Version = version;
    }

    public string Name => Meta.Name;

    public ContentMeta Meta { get; }

    /// <summary>Shipped with the server and loaded at every start; cannot be removed through the API.</summary>
    public bool BuiltIn { get; }

    internal Dictionary<ModelType, Dictionary<string, ModelBase>> Objects { get; }

    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Store version at which the pack was loaded; orders persisted packs on reload.</summary>
    public long Version { get; }

    public ModelBase? Get(ModelType type, string key) =>
        Objects.TryGetValue(type, out var byKey) && byKey.TryGetValue(key, out var model) ? model : null;

    public IEnumerable<ModelBase> List(ModelType type) =>
        Objects.TryGetValue(type, out var byKey) ? byKey.Values : [];

    public ContentSummary Summary() => new()
    {
        Meta = Meta,
        Counts = Objects.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key.Prefix, kv => kv.Value.Count),
        Warnings = [.. Warnings],
    };
}
