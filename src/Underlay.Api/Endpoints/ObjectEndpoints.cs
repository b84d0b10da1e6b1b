using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson.Exceptions;
using Microsoft.AspNetCore.Routing;
using Underlay.Api.Auth;
using Underlay.Api.Http;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;
using Underlay.Store.Queries;

namespace Underlay.Api.Endpoints;

/// <summary>
/// The standard routes for every object type: <c>GET/HEAD/POST /api/v3/&lt;prefix&gt;</c> and
/// <c>GET/HEAD/PUT/PATCH/DELETE /api/v3/&lt;prefix&gt;/&lt;id&gt;</c>, where id is the key or <c>Index:value</c>.
/// </summary>
internal static class ObjectEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiServices services)
    {
        foreach (var type in ModelTypes.All)
        {
            if (type == ModelTypes.Prefs)
            {
                // Prefs are served as a map by PrefsEndpoints, as DRP does.
                continue;
            }

            var group = api.MapGroup($"/{type.Prefix}").WithTags(type.Prefix);
            var arrayType = typeof(List<>).MakeGenericType(type.ClrType);
            group.Get("", context => ListAsync(context, services, type)).Produces(200, arrayType).WithName($"list-{type.Prefix}");
            group.Head("", context => ListAsync(context, services, type)).ExcludeFromDescription();
            if (type != ModelTypes.Jobs)
            {
                // Jobs are created by POST /jobs with DRP's next-job rules (JobEndpoints), not as plain objects.
                group.Post("", context => CreateAsync(context, services, type)).Produces(201, type.ClrType).WithName($"create-{type.Singular}");
            }

            group.Get("/{id}", context => GetAsync(context, services, type)).Produces(200, type.ClrType).WithName($"get-{type.Singular}");
            group.Head("/{id}", context => GetAsync(context, services, type)).ExcludeFromDescription();
            group.Put("/{id}", context => PutAsync(context, services, type)).Produces(200, type.ClrType).WithName($"put-{type.Singular}");
            group.Patch("/{id}", context => PatchAsync(context, services, type)).Produces(200, type.ClrType).WithName($"patch-{type.Singular}");
            group.Delete("/{id}", context => DeleteAsync(context, services, type)).Produces(200, type.ClrType).WithName($"delete-{type.Singular}");
            if (type.HasParams)
            {
                ParamsEndpoints.Map(group, services, type);
            }
        }
    }

    private static async Task ListAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var principal = context.Principal();
        if (!services.Authorizer.Allows(principal, type.Prefix, "list", "*"))
        {
            await ApiHttp.WriteErrorAsync(context, 403, type.Prefix, "", $"{principal} may not list {type.Prefix}").ConfigureAwait(false);
            return;
        }

        var pairs = context.Request.Query.Select(q => new KeyValuePair<string, string[]>(q.Key, [.. q.Value.Select(v => v ?? "")]));
        if (ListQuery.Parse(type, pairs, out var problem) is not { } query)
        {
            await ApiHttp.WriteErrorAsync(context, 400, type.Prefix, "", problem!).ConfigureAwait(false);
            return;
        }

        var visible = services.Store.List(type);
        if (principal.Kind != PrincipalKind.User)
        {
            visible = visible.Where(m => services.Authorizer.Allows(principal, type.Prefix, "get", m.Key, m));
        }

        var total = services.Store.Count(type);
        var page = query.Apply(visible, null, out var matched);
        context.Response.Headers["X-DRP-LIST-COUNT"] = matched.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["X-DRP-LIST-TOTAL-COUNT"] = total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        if (context.Request.Method == HttpMethods.Head)
        {
            return;
        }

        await using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
        writer.WriteStartArray();
        foreach (var model in page)
        {
            type.WriteForOutput(writer, Shape(type, model, query));
            if (writer.BytesPending > 32 * 1024)
            {
                await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }

        writer.WriteEndArray();
        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Applies <c>slim=</c> and <c>params=</c> to a copy; the stored object is never changed.</summary>
    private static ModelBase Shape(ModelType type, ModelBase model, ListQuery query)
    {
        if (query.Slim.Count == 0 && query.OnlyParams is null)
        {
            return model;
        }

        var copy = type.Clone(model);
        if (copy is IParamHolder holder)
        {
            if (query.Slim.Contains("Params"))
            {
                holder.Params = [];
            }
            else if (query.OnlyParams is { } only)
            {
                holder.Params = holder.Params.Where(p => only.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            }
        }

        if (query.Slim.Contains("Meta"))
        {
            copy.Meta = [];
        }

        return copy;
    }

    private static async Task GetAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(type, id) is not { } entry)
        {
            await ApiHttp.WriteErrorAsync(context, 404, type.Prefix, id, $"{type.Singular} '{id}' not found").ConfigureAwait(false);
            return;
        }

        if (!await AuthorizeAsync(context, services, type, "get", entry.Object).ConfigureAwait(false))
        {
            return;
        }

        await ApiHttp.WriteObjectAsync(context, entry.Object, entry.Version).ConfigureAwait(false);
    }

    private static async Task CreateAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var principal = context.Principal();
        if (!services.Authorizer.Allows(principal, type.Prefix, "create", "*"))
        {
            await ApiHttp.WriteErrorAsync(context, 403, type.Prefix, "", $"{principal} may not create {type.Prefix}").ConfigureAwait(false);
            return;
        }

        if (await ReadModelAsync(context, type).ConfigureAwait(false) is not { } model)
        {
            return;
        }

        var result = await services.Store.CreateAsync(model, principal.Name, context.RequestAborted).ConfigureAwait(false);
        await WriteOutcomeAsync(context, result).ConfigureAwait(false);
    }

    private static async Task PutAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(type, id) is not { } entry)
        {
            await ApiHttp.WriteErrorAsync(context, 404, type.Prefix, id, $"{type.Singular} '{id}' not found").ConfigureAwait(false);
            return;
        }

        if (!await AuthorizeAsync(context, services, type, "update", entry.Object).ConfigureAwait(false) ||
            await ReadModelAsync(context, type).ConfigureAwait(false) is not { } model)
        {
            return;
        }

        if (model.Key.Length == 0 || model.Key == Guid.Empty.ToString())
        {
            model.SetKey(entry.Object.Key);
        }
        else if (model.Key != entry.Object.Key)
        {
            await ApiHttp.WriteErrorAsync(context, 422, type.Prefix, id, $"{type.KeyIndex}: the body names '{model.Key}' but the URL names '{entry.Object.Key}'").ConfigureAwait(false);
            return;
        }

        var result = await services.Store.SaveAsync(model, ApiHttp.ExpectedVersion(context), context.Principal().Name, context.RequestAborted).ConfigureAwait(false);
        await WriteOutcomeAsync(context, result).ConfigureAwait(false);
    }

    private static async Task PatchAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(type, id) is not { } entry)
        {
            await ApiHttp.WriteErrorAsync(context, 404, type.Prefix, id, $"{type.Singular} '{id}' not found").ConfigureAwait(false);
            return;
        }

        if (await ReadPatchAsync(context, type.Prefix, id).ConfigureAwait(false) is not { } patch)
        {
            return;
        }

        // DRP authorizes a patch per changed path: "update:/Field" claims may grant only some fields.
        foreach (var operation in patch.Operations)
        {
            if (operation.OperationType == Microsoft.AspNetCore.JsonPatch.SystemTextJson.Operations.OperationType.Test)
            {
                continue;
            }

            var field = "/" + (operation.path ?? "").TrimStart('/').Split('/')[0];
            if (!await AuthorizeAsync(context, services, type, $"update:{field}", entry.Object).ConfigureAwait(false))
            {
                return;
            }
        }

        var key = entry.Object.Key;
        var result = await services.Store.WriteAsync(
            tx => PatchIn(tx, type, key, patch, ApiHttp.ExpectedVersion(context)),
            context.Principal().Name,
            context.RequestAborted).ConfigureAwait(false);
        await WriteOutcomeAsync(context, result).ConfigureAwait(false);
    }

    /// <summary>Applies a JSON Patch to the current object inside the write lock, so it is atomic and never lost.</summary>
    internal static WriteResult PatchIn(WriteTransaction tx, ModelType type, string key, JsonPatchDocument patch, long? expectedVersion)
    {
        if (tx.GetEntry(type, key) is not { } current)
        {
            return WriteResult.NotFound(type.Prefix, key);
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            return WriteResult.Conflict(type.Prefix, key, $"{type.Singular} '{key}' changed since version {expected} (now {current.Version})");
        }

        var node = JsonNode.Parse(type.SerializeForOutput(current.Object))!;
        if (ApplyPatch(patch, node, type.Prefix, key) is { } failure)
        {
            return failure;
        }

        ModelBase patched;
        try
        {
            patched = type.Deserialize(JsonSerializer.SerializeToUtf8Bytes(node, UnderlayJsonNodeContext.Default.JsonNode), UnderlayJson.StrictInput);
        }
        catch (JsonException e)
        {
            return WriteResult.Invalid(type.Prefix, key, [$"the patched object is not a valid {type.Singular}: {ApiHttp.Describe(e)}"]);
        }

        if (patched.Key != key)
        {
            return WriteResult.Invalid(type.Prefix, key, [$"{type.KeyIndex}: the key cannot be changed"]);
        }

        return tx.Save(patched, null, WriteAction.Update);
    }

    /// <summary>Applies RFC 6902 operations to a JSON tree; a failed <c>test</c> is a 409, other failures 422.</summary>
    internal static WriteResult? ApplyPatch(JsonPatchDocument patch, JsonNode node, string model, string key)
    {
        try
        {
            patch.ApplyTo(node);
            return null;
        }
        catch (JsonPatchException e) when (e.FailedOperation?.OperationType == Microsoft.AspNetCore.JsonPatch.SystemTextJson.Operations.OperationType.Test)
        {
            return WriteResult.Conflict(model, key, $"patch test failed: {e.Message}");
        }
        catch (Exception e) when (e is JsonPatchException or JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            return WriteResult.Invalid(model, key, [$"patch failed: {e.Message}"]);
        }
    }

    private static async Task DeleteAsync(HttpContext context, ApiServices services, ModelType type)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(type, id) is not { } entry)
        {
            await ApiHttp.WriteErrorAsync(context, 404, type.Prefix, id, $"{type.Singular} '{id}' not found").ConfigureAwait(false);
            return;
        }

        if (!await AuthorizeAsync(context, services, type, "delete", entry.Object).ConfigureAwait(false))
        {
            return;
        }

        var result = await services.Store.DeleteAsync(type, entry.Object.Key, ApiHttp.ExpectedVersion(context), context.Principal().Name, context.RequestAborted).ConfigureAwait(false);
        await WriteOutcomeAsync(context, result).ConfigureAwait(false);
    }

    internal static async Task<bool> AuthorizeAsync(HttpContext context, ApiServices services, ModelType type, string action, ModelBase target)
    {
        var principal = context.Principal();
        if (services.Authorizer.Allows(principal, type.Prefix, action, target.Key, target))
        {
            return true;
        }

        // Do not reveal objects a machine token may not see.
        if (principal.Kind != PrincipalKind.User && !services.Authorizer.Allows(principal, type.Prefix, "get", target.Key, target))
        {
            await ApiHttp.WriteErrorAsync(context, 403, type.Prefix, target.Key, $"{principal} may not access {type.Prefix}/{target.Key}").ConfigureAwait(false);
            return false;
        }

        await ApiHttp.WriteErrorAsync(context, 403, type.Prefix, target.Key, $"{principal} may not {action} {type.Prefix}/{target.Key}").ConfigureAwait(false);
        return false;
    }

    internal static async Task WriteOutcomeAsync(HttpContext context, WriteResult result)
    {
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteObjectAsync(context, result.Object!, result.Version, result.Code).ConfigureAwait(false);
    }

    internal static async Task<ModelBase?> ReadModelAsync(HttpContext context, ModelType type)
    {
        if (await ApiHttp.ReadBodyAsync(context, ApiHttp.MaxObjectBytes).ConfigureAwait(false) is not { } body)
        {
            return null;
        }

        try
        {
            return type.Deserialize(body, UnderlayJson.StrictInput);
        }
        catch (JsonException e)
        {
            await ApiHttp.WriteErrorAsync(context, 400, type.Prefix, "", $"body is not a valid {type.Singular}: {ApiHttp.Describe(e)}").ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NotSupportedException or ArgumentException)
        {
            await ApiHttp.WriteErrorAsync(context, 400, type.Prefix, "", $"body is not a valid {type.Singular}: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }

    internal static async Task<JsonPatchDocument?> ReadPatchAsync(HttpContext context, string model, string key)
    {
        if (await ApiHttp.ReadBodyAsync(context, ApiHttp.MaxObjectBytes).ConfigureAwait(false) is not { } body)
        {
            return null;
        }

        try
        {
            var patch = JsonSerializer.Deserialize<JsonPatchDocument>(body) ?? throw new JsonException("empty patch");
            foreach (var operation in patch.Operations)
            {
                if (operation.OperationType == Microsoft.AspNetCore.JsonPatch.SystemTextJson.Operations.OperationType.Invalid || operation.path is null)
                {
                    throw new JsonException($"operation '{operation.op}' on '{operation.path}' is not one of add, remove, replace, move, copy, test with a path");
                }
            }

            return patch;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NotSupportedException or ArgumentException or FormatException)
        {
            await ApiHttp.WriteErrorAsync(context, 400, model, key, $"body is not an RFC 6902 JSON Patch: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }
}
