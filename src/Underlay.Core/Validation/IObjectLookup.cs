using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Core.Validation;

/// <summary>A read-only view of every visible object (writable and content layers), used by validation and rendering.</summary>
public interface IObjectLookup
{
    ModelBase? Get(ModelType type, string key);

    IEnumerable<ModelBase> List(ModelType type);
}

public static class ObjectLookupExtensions
{
    public static T? Get<T>(this IObjectLookup lookup, string key)
        where T : ModelBase =>
        string.IsNullOrEmpty(key) ? null : lookup.Get(ModelTypes.Of<T>(), key) as T;

    public static bool Exists<T>(this IObjectLookup lookup, string key)
        where T : ModelBase => lookup.Get<T>(key) is not null;

    public static IEnumerable<T> List<T>(this IObjectLookup lookup)
        where T : ModelBase => lookup.List(ModelTypes.Of<T>()).Cast<T>();
}
