using System.Collections.Concurrent;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Store;

/// <summary>
/// The writable objects of one type with lookup maps for its unique indexes. Mutated only under the store's
/// write lock; read without locks (concurrent dictionaries of immutable entries).
/// </summary>
internal sealed class TypeTable
{
    private readonly Dictionary<string, ConcurrentDictionary<string, string>> _unique;

    public TypeTable(ModelType type)
    {
        Type = type;
        _unique = type.Indexes
            .Where(i => i.Unique && i.Name != type.KeyIndex && i.Name != "Key")
            .ToDictionary(i => i.Name, _ => new ConcurrentDictionary<string, string>(StringComparer.Ordinal), StringComparer.Ordinal);
    }

    public ModelType Type { get; }

    public ConcurrentDictionary<string, StoredEntry> Entries { get; } = new(StringComparer.Ordinal);

    public IEnumerable<string> UniqueIndexNames => _unique.Keys;

    /// <summary>The key of the object holding <paramref name="value"/> in a unique index, if any.</summary>
    public string? KeyForUnique(string index, string value) =>
        _unique.TryGetValue(index, out var map) && map.TryGetValue(value, out var key) ? key : null;

    public bool HasUniqueIndex(string index) => _unique.ContainsKey(index);

    public void Put(ModelBase model, long version)
    {
        var key = model.Key;
        if (Entries.TryGetValue(key, out var previous))
        {
            Unindex(previous.Object);
        }

        Entries[key] = new StoredEntry(model, version);
        Index(model);
    }

    public void Remove(string key)
    {
        if (Entries.TryRemove(key, out var previous))
        {
            Unindex(previous.Object);
        }
    }

    /// <summary>The unique-index values of an object as strings (empty values are not unique-checked).</summary>
    public IEnumerable<(string Index, string Value)> UniqueValues(ModelBase model)
    {
        foreach (var (name, _) in _unique)
        {
            var index = Type.FindIndex(name)!;
            foreach (var value in index.ValuesOf(model))
            {
                var text = value?.ToString();
                if (!string.IsNullOrEmpty(text))
                {
                    yield return (name, text);
                }
            }
        }
    }

    private void Index(ModelBase model)
    {
        var key = model.Key;
        foreach (var (index, value) in UniqueValues(model))
        {
            _unique[index][value] = key;
        }
    }

    private void Unindex(ModelBase model)
    {
        var key = model.Key;
        foreach (var (index, value) in UniqueValues(model))
        {
            _unique[index].TryRemove(new KeyValuePair<string, string>(value, key));
        }
    }
}
