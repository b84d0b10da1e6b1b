namespace Underlay.Boot.Rendering;

/// <summary>
/// Objects from content packs and API writes may carry JSON <c>null</c> where the model has a default (DRP's own
/// packs have <c>"RequiredParams": null</c>, <c>"Meta": null</c>...): Boot reads collections and strings of models
/// through these so a null means "empty".
/// </summary>
internal static class Safe
{
    public static List<T> OrEmpty<T>(this List<T>? list) => list ?? [];

    public static Dictionary<TKey, TValue> OrEmpty<TKey, TValue>(this Dictionary<TKey, TValue>? map)
        where TKey : notnull => map ?? [];

    public static string OrEmpty(this string? text) => text ?? "";
}
