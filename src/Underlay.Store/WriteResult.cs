using Underlay.Core.Models;

namespace Underlay.Store;

/// <summary>
/// The outcome of a store write. Failures are values with an HTTP-style code (404, 403, 409, 422) and messages
/// that name the field, so the API maps them one to one and services can react without exceptions.
/// </summary>
public readonly record struct WriteResult(int Code, string Model, string Key, ModelBase? Object, long Version, IReadOnlyList<string> Messages)
{
    public bool IsSuccess => Code is >= 200 and < 300;

    public static WriteResult Success(ModelBase obj, long version, int code = 200) =>
        new(code, obj.Prefix, obj.Key, obj, version, []);

    public static WriteResult Deleted(string model, string key, ModelBase original) =>
        new(200, model, key, original, 0, []);

    public static WriteResult NotFound(string model, string key) =>
        new(404, model, key, null, 0, [$"{model}/{key}: not found"]);

    public static WriteResult Conflict(string model, string key, params string[] messages) =>
        new(409, model, key, null, 0, messages);

    public static WriteResult Invalid(string model, string key, IReadOnlyList<string> messages) =>
        new(422, model, key, null, 0, messages);

    public static WriteResult ReadOnly(string model, string key, string bundle) =>
        new(403, model, key, null, 0, [$"{model}/{key} is read-only: it comes from content pack '{bundle}'"]);

    public static WriteResult Failed(int code, string model, string key, params string[] messages) =>
        new(code, model, key, null, 0, messages);

    public override string ToString() => IsSuccess ? $"{Code} {Model}/{Key}" : $"{Code} {Model}/{Key}: {string.Join("; ", Messages)}";
}

/// <summary>An object as the store holds it, with its version for optimistic concurrency.</summary>
public sealed record StoredEntry(ModelBase Object, long Version);
