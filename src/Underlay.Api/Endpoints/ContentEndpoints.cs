using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Underlay.Api.Http;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Store.Content;

namespace Underlay.Api.Endpoints;

/// <summary><c>/api/v3/contents</c>: upload (JSON or YAML, DRP's bundled pack format), list and remove packs.</summary>
internal static class ContentEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiServices services)
    {
        var group = api.MapGroup("/contents").WithTags("contents");
        group.Get("", context => ListAsync(context, services)).Produces<List<ContentSummary>>();
        group.Get("/{name}", context => GetAsync(context, services)).Produces<ContentPack>();
        group.Post("", context => UploadAsync(context, services, null)).Produces<ContentSummary>(201);
        group.Put("/{name}", context => UploadAsync(context, services, ApiHttp.Route(context, "name"))).Produces<ContentSummary>();
        group.Delete("/{name}", context => DeleteAsync(context, services)).Produces(204);
    }

    private static async Task ListAsync(HttpContext context, ApiServices services)
    {
        if (!services.Authorizer.Allows(context.Principal(), "contents", "list", "*"))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "contents", "", "may not list contents").ConfigureAwait(false);
            return;
        }

        var summaries = services.Store.ContentLayers.Select(l => l.Summary()).ToList();
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(summaries, UnderlayJsonContext.Default.ListContentSummary)).ConfigureAwait(false);
    }

    private static async Task GetAsync(HttpContext context, ApiServices services)
    {
        var name = ApiHttp.Route(context, "name");
        if (!services.Authorizer.Allows(context.Principal(), "contents", "get", name))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "contents", name, $"may not read content pack '{name}'").ConfigureAwait(false);
            return;
        }

        if (services.Store.FindContent(name) is not { } layer)
        {
            await ApiHttp.WriteErrorAsync(context, 404, "contents", name, $"content pack '{name}' not found").ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(ToPack(layer), UnderlayJsonContext.Default.ContentPack)).ConfigureAwait(false);
    }

    /// <summary>Rebuilds DRP's bundled form from a layer (what <c>drpcli contents show</c> returns).</summary>
    private static ContentPack ToPack(ContentLayer layer)
    {
        var pack = new ContentPack { Meta = layer.Meta };
        foreach (var type in Underlay.Core.Registry.ModelTypes.All)
        {
            var objects = layer.List(type).ToList();
            if (objects.Count > 0)
            {
                pack.Sections[type.Prefix] = objects.ToDictionary(o => o.Key, type.ToOutputElement, StringComparer.Ordinal);
            }
        }

        return pack;
    }

    private static async Task UploadAsync(HttpContext context, ApiServices services, string? expectedName)
    {
        var principal = context.Principal();
        if (!services.Authorizer.Allows(principal, "contents", expectedName is null ? "create" : "update", expectedName ?? "*"))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "contents", expectedName ?? "", "may not upload content").ConfigureAwait(false);
            return;
        }

        if (await ApiHttp.ReadBodyAsync(context, ApiHttp.MaxContentBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        ContentPack? pack;
        try
        {
            pack = JsonSerializer.Deserialize(YamlJson.ToJsonBytes(body), UnderlayJsonContext.Default.ContentPack);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            await ApiHttp.WriteErrorAsync(context, 400, "contents", expectedName ?? "", $"body is not a content pack (JSON or YAML with meta and sections): {e.Message}").ConfigureAwait(false);
            return;
        }

        if (pack is null)
        {
            await ApiHttp.WriteErrorAsync(context, 400, "contents", expectedName ?? "", "empty content pack").ConfigureAwait(false);
            return;
        }

        if (expectedName is not null && pack.Meta.Name != expectedName)
        {
            await ApiHttp.WriteErrorAsync(context, 422, "contents", expectedName, $"meta.Name: the pack is '{pack.Meta.Name}' but the URL names '{expectedName}'").ConfigureAwait(false);
            return;
        }

        if (expectedName is null && services.Store.FindContent(pack.Meta.Name) is not null)
        {
            await ApiHttp.WriteErrorAsync(context, 409, "contents", pack.Meta.Name, $"content pack '{pack.Meta.Name}' is already loaded; PUT /contents/{pack.Meta.Name} replaces it").ConfigureAwait(false);
            return;
        }

        var result = await services.Store.PutContentAsync(pack, principal.Name, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        var summary = services.Store.FindContent(pack.Meta.Name)!.Summary();
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(summary, UnderlayJsonContext.Default.ContentSummary), result.Code).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context, ApiServices services)
    {
        var name = ApiHttp.Route(context, "name");
        var principal = context.Principal();
        if (!services.Authorizer.Allows(principal, "contents", "delete", name))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "contents", name, $"may not remove content pack '{name}'").ConfigureAwait(false);
            return;
        }

        var result = await services.Store.DeleteContentAsync(name, principal.Name, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = 204;
    }
}
