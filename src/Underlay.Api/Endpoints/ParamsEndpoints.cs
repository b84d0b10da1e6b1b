using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Underlay.Api.Http;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Api.Endpoints;

/// <summary>
/// <c>/&lt;prefix&gt;/&lt;id&gt;/params</c> (GET the map, POST to replace it, PATCH it) and
/// <c>/params/&lt;key&gt;</c> (GET, POST, DELETE one value). Param names contain slashes, hence the catch-all.
/// Every change goes through validation, so values are checked against their param's schema.
/// </summary>
internal static class ParamsEndpoints
{
    public static void Map(RouteGroupBuilder group, ApiServices services, ModelType type)
    {
        group.Get("/{id}/params", context => GetAllAsync(context, services, type)).Produces<Dictionary<string, JsonElement>>().WithName($"get-{type.Singular}-params");
        group.Post("/{id}/params", context => ReplaceAllAsync(context, services, type)).Produces<Dictionary<string, JsonElement>>().WithName($"set-{type.Singular}-params");
        group.Patch("/{id}/params", context => PatchAllAsync(context, services, type)).Produces<Dictionary<string, JsonElement>>().WithName($"patch-{type.Singular}-params");
        group.Get("/{id}/params/{*key}", context => GetOneAsync(context, services, type)).Produces<JsonElement>().WithName($"get-{type.Singular}-param");
        group.Post("/{id}/params/{*key}", context => SetOneAsync(context, services, type)).Produces<JsonElement>().WithName($"set-{type.Singular}-param");
        group.Delete("/{id}/params/{*key}", context => DeleteOneAsync(context, services, type)).Produces<JsonElement>().WithName($"delete-{type.Singular}-param");
    }

    private static async Task<StoredEntry?> FindAsync(HttpContext context, ApiServices services, ModelType type, string action)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(type, id) is not { } entry)
        {
            await ApiHttp.WriteErrorAsync(context, 404, type.Prefix, id, $"{type.Singular} '{id}' not found").ConfigureAwait(false);
            return null;
        }

        return await ObjectEndpoints.AuthorizeAsync(context, services, type, action, entry.Object).ConfigureAwait(false) ? entry : null;
    }

    private static async Task GetAllAsync(HttpContext context, ApiServices services, ModelType type)
    {
        if (await FindAsync(context, services, type, "get").ConfigureAwait(false) is not { } entry)
        {
            return;
        }

        var values = context.Request.Query["aggregate"] == "true" && entry.Object is Machine machine
            ? services.Params.Aggregate(machine)
            : ((IParamHolder)entry.Object).Params;
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(values, UnderlayJsonContext.Default.DictionaryStringJsonElement)).ConfigureAwait(false);
    }

    private static async Task ReplaceAllAsync(HttpContext context, ApiServices services, ModelType type)
    {
        if (await FindAsync(context, services, type, "update:/Params").ConfigureAwait(false) is not { } entry ||
            await ReadJsonAsync(context, type) is not { } body)
        {
            return;
        }

        Dictionary<string, JsonElement>? values;
        try
        {
            values = body.Deserialize(UnderlayJsonContext.Default.DictionaryStringJsonElement);
        }
        catch (JsonException e)
        {
            await ApiHttp.WriteErrorAsync(context, 400, type.Prefix, entry.Object.Key, $"body must be a JSON object of params: {ApiHttp.Describe(e)}").ConfigureAwait(false);
            return;
        }

        await SaveParamsAsync(context, services, type, entry, _ => values ?? []).ConfigureAwait(false);
    }

    private static async Task PatchAllAsync(HttpContext context, ApiServices services, ModelType type)
    {
        if (await FindAsync(context, services, type, "update:/Params").ConfigureAwait(false) is not { } entry ||
            await ObjectEndpoints.ReadPatchAsync(context, type.Prefix, entry.Object.Key).ConfigureAwait(false) is not { } patch)
        {
            return;
        }

        var key = entry.Object.Key;
        WriteResult? patchFailure = null;
        var result = await services.Store.WriteAsync(tx => tx.Update(type, key, (copy, _) =>
        {
            var holder = (IParamHolder)copy;
            var node = JsonSerializer.SerializeToNode(holder.Params, UnderlayJsonContext.Default.DictionaryStringJsonElement)!;
            if (ObjectEndpoints.ApplyPatch(patch, node, type.Prefix, key) is { } failure)
            {
                patchFailure = failure;
                return failure;
            }

            holder.Params = node.Deserialize(UnderlayJsonContext.Default.DictionaryStringJsonElement) ?? [];
            return null;
        }, ApiHttp.ExpectedVersion(context)), context.Principal().Name, context.RequestAborted).ConfigureAwait(false);
        await WriteParamsOutcomeAsync(context, patchFailure ?? result).ConfigureAwait(false);
    }

    private static async Task GetOneAsync(HttpContext context, ApiServices services, ModelType type)
    {
        if (await FindAsync(context, services, type, "get").ConfigureAwait(false) is not { } entry)
        {
            return;
        }

        var name = ApiHttp.Route(context, "key");
        JsonElement value;
        var found = context.Request.Query["aggregate"] == "true" && entry.Object is Machine machine
            ? services.Params.TryGet(machine, name, out value)
            : ((IParamHolder)entry.Object).Params.TryGetValue(name, out value);
        if (!found)
        {
            await ApiHttp.WriteErrorAsync(context, 404, type.Prefix, entry.Object.Key, $"param '{name}' is not set on {type.Singular} '{entry.Object.Key}'").ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(value, UnderlayJsonContext.Default.JsonElement)).ConfigureAwait(false);
    }

    private static async Task SetOneAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var name = ApiHttp.Route(context, "key");
        if (await FindAsync(context, services, type, $"update:/Params/{name}").ConfigureAwait(false) is not { } entry ||
            await ReadJsonAsync(context, type) is not { } value)
        {
            return;
        }

        var key = entry.Object.Key;
        var result = await services.Store.WriteAsync(tx => tx.Update(type, key, (copy, _) =>
        {
            ((IParamHolder)copy).Params[name] = value;
            return null;
        }), context.Principal().Name, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(value, UnderlayJsonContext.Default.JsonElement)).ConfigureAwait(false);
    }

    private static async Task DeleteOneAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var name = ApiHttp.Route(context, "key");
        if (await FindAsync(context, services, type, $"update:/Params/{name}").ConfigureAwait(false) is not { } entry)
        {
            return;
        }

        var key = entry.Object.Key;
        JsonElement removed = default;
        var result = await services.Store.WriteAsync(tx => tx.Update(type, key, (copy, _) =>
            ((IParamHolder)copy).Params.Remove(name, out removed)
                ? null
                : WriteResult.NotFound(type.Prefix, $"{key}/params/{name}")), context.Principal().Name, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(removed, UnderlayJsonContext.Default.JsonElement)).ConfigureAwait(false);
    }

    private static async Task SaveParamsAsync(HttpContext context, ApiServices services, ModelType type, StoredEntry entry, Func<Dictionary<string, JsonElement>, Dictionary<string, JsonElement>> change)
    {
        var key = entry.Object.Key;
        var result = await services.Store.WriteAsync(tx => tx.Update(type, key, (copy, _) =>
        {
            var holder = (IParamHolder)copy;
            holder.Params = change(holder.Params);
            return null;
        }, ApiHttp.ExpectedVersion(context)), context.Principal().Name, context.RequestAborted).ConfigureAwait(false);
        await WriteParamsOutcomeAsync(context, result).ConfigureAwait(false);
    }

    private static async Task WriteParamsOutcomeAsync(HttpContext context, WriteResult result)
    {
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        context.Response.Headers.ETag = $"\"{result.Version}\"";
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(((IParamHolder)result.Object!).Params, UnderlayJsonContext.Default.DictionaryStringJsonElement)).ConfigureAwait(false);
    }

    private static async Task<JsonElement?> ReadJsonAsync(HttpContext context, ModelType type)
    {
        if (await ApiHttp.ReadBodyAsync(context, ApiHttp.MaxObjectBytes).ConfigureAwait(false) is not { } body)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            await ApiHttp.WriteErrorAsync(context, 400, type.Prefix, "", $"body is not JSON: {ApiHttp.Describe(e)}").ConfigureAwait(false);
            return null;
        }
    }
}
