using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Underlay.Api.Http;
using Underlay.Boot;
using Underlay.Boot.Archives;
using Underlay.Store.Events;

namespace Underlay.Api.Endpoints;

/// <summary>
/// DRP's <c>/isos</c> and <c>/files</c>: install media and other files in the boot file root. Uploads stream to
/// disk (no size cap beyond the disk), are hashed on the way (<c>?sha256=</c> makes the server refuse a corrupted
/// upload), and answer with <c>{Path, Size, Sha256, Exploded, Errors}</c>. An uploaded ISO is exploded for every
/// boot environment that names it; <c>/files/…?explode=true</c> unpacks an archive into its directory.
/// Claims: scopes <c>isos</c> and <c>files</c>, actions <c>list</c>, <c>get</c>, <c>post</c>, <c>delete</c>.
/// </summary>
internal static class FileEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiServices services)
    {
        var isos = api.MapGroup("/isos").WithTags("isos");
        isos.Get("", context => ListIsosAsync(context, services)).Produces<List<string>>();
        isos.Get("/{name}", context => DownloadAsync(context, services, "isos")).Produces(200);
        isos.Head("/{name}", context => DownloadAsync(context, services, "isos")).ExcludeFromDescription();
        isos.Post("/{name}", context => UploadAsync(context, services, "isos")).Accepts<Stream>("application/octet-stream").Produces(201);
        isos.Put("/{name}", context => UploadAsync(context, services, "isos")).ExcludeFromDescription();
        isos.Delete("/{name}", context => DeleteAsync(context, services, "isos")).Produces(204);

        var files = api.MapGroup("/files").WithTags("files");
        files.Get("", context => ListFilesAsync(context, services)).Produces<List<string>>();
        files.Get("/{**path}", context => DownloadAsync(context, services, "files")).Produces(200);
        files.Head("/{**path}", context => DownloadAsync(context, services, "files")).ExcludeFromDescription();
        files.Post("/{**path}", context => UploadAsync(context, services, "files")).Accepts<Stream>("application/octet-stream").Produces(201);
        files.Put("/{**path}", context => UploadAsync(context, services, "files")).ExcludeFromDescription();
        files.Delete("/{**path}", context => DeleteAsync(context, services, "files")).Produces(204);
    }

    private static BootServices? Boot(HttpContext context) => context.RequestServices.GetService<BootServices>();

    private static string Key(HttpContext context, string scope) => ApiHttp.Route(context, scope == "isos" ? "name" : "path");

    private static async Task<BootServices?> AuthorizeAsync(HttpContext context, ApiServices services, string scope, string action, string key)
    {
        if (!services.Authorizer.Allows(context.Principal(), scope, action, key))
        {
            await ApiHttp.WriteErrorAsync(context, 403, scope, key, $"{context.Principal()} may not {action} {scope}").ConfigureAwait(false);
            return null;
        }

        if (Boot(context) is not { } boot)
        {
            await ApiHttp.WriteErrorAsync(context, 503, scope, key, "this server has no boot file root").ConfigureAwait(false);
            return null;
        }

        return boot;
    }

    private static async Task ListIsosAsync(HttpContext context, ApiServices services)
    {
        if (await AuthorizeAsync(context, services, "isos", "list", "*").ConfigureAwait(false) is not { } boot)
        {
            return;
        }

        await WriteNamesAsync(context, boot.Archives.ListIsos()).ConfigureAwait(false);
    }

    /// <summary><c>GET /files?path=dir</c>: the entries of a directory under <c>files/</c>; directories end in <c>/</c>.</summary>
    private static async Task ListFilesAsync(HttpContext context, ApiServices services)
    {
        var path = context.Request.Query["path"].ToString();
        if (await AuthorizeAsync(context, services, "files", "list", path.Length > 0 ? path : "*").ConfigureAwait(false) is not { } boot)
        {
            return;
        }

        if (boot.Archives.ListFiles(path) is not { } names)
        {
            await ApiHttp.WriteErrorAsync(context, 404, "files", path, $"no directory files/{path.Trim('/')}").ConfigureAwait(false);
            return;
        }

        await WriteNamesAsync(context, names).ConfigureAwait(false);
    }

    private static async Task DownloadAsync(HttpContext context, ApiServices services, string scope)
    {
        var key = Key(context, scope);
        if (await AuthorizeAsync(context, services, scope, "get", key).ConfigureAwait(false) is not { } boot)
        {
            return;
        }

        var path = scope == "isos" ? boot.Archives.IsoPath(key) : boot.Archives.FilePath(key);
        if (path is null)
        {
            await ApiHttp.WriteErrorAsync(context, 404, scope, key, $"{scope}/{key}: not found").ConfigureAwait(false);
            return;
        }

        await Results.File(path, "application/octet-stream", enableRangeProcessing: true).ExecuteAsync(context).ConfigureAwait(false);
    }

    private static async Task UploadAsync(HttpContext context, ApiServices services, string scope)
    {
        var key = Key(context, scope);
        var principal = context.Principal();
        if (await AuthorizeAsync(context, services, scope, "post", key).ConfigureAwait(false) is not { } boot)
        {
            return;
        }

        var sha256 = context.Request.Query["sha256"].ToString();
        var explode = context.Request.Query["explode"].ToString() is "true" or "1" or "yes";
        UploadResult result;
        try
        {
            result = scope == "isos"
                ? await boot.Archives.UploadIsoAsync(key, context.Request.Body, sha256, context.RequestAborted).ConfigureAwait(false)
                : await boot.Archives.UploadFileAsync(key, context.Request.Body, sha256, explode, context.RequestAborted).ConfigureAwait(false);
        }
        catch (UploadException e)
        {
            await ApiHttp.WriteErrorAsync(context, e.Status, scope, key, e.Message).ConfigureAwait(false);
            return;
        }
        catch (IOException e) when (!context.RequestAborted.IsCancellationRequested)
        {
            await ApiHttp.WriteErrorAsync(context, 500, scope, key, $"could not store {scope}/{key}: {e.Message}").ConfigureAwait(false);
            return;
        }

        var body = Describe(result);
        services.Store.PublishEvent(new StoreEvent(services.Time.GetUtcNow().UtcDateTime, scope, "create", result.Path, principal.Name, null, null, body));
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(body, Core.Json.UnderlayJsonContext.Default.JsonElement), 201).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context, ApiServices services, string scope)
    {
        var key = Key(context, scope);
        if (await AuthorizeAsync(context, services, scope, "delete", key).ConfigureAwait(false) is not { } boot)
        {
            return;
        }

        var deleted = scope == "isos" ? boot.Archives.DeleteIso(key) : boot.Archives.DeleteFile(key);
        if (!deleted)
        {
            await ApiHttp.WriteErrorAsync(context, 404, scope, key, $"{scope}/{key}: not found").ConfigureAwait(false);
            return;
        }

        services.Store.PublishEvent(new StoreEvent(services.Time.GetUtcNow().UtcDateTime, scope, "delete", key, context.Principal().Name, null, null));
        context.Response.StatusCode = 204;
    }

    /// <summary>DRP's BlobInfo (<c>{Path, Size}</c>) plus what Underlay adds: the digest and what was exploded.</summary>
    private static JsonElement Describe(UploadResult result)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("Path", result.Path);
            writer.WriteNumber("Size", result.Size);
            writer.WriteString("Sha256", result.Sha256);
            writer.WriteStartArray("Exploded");
            foreach (var directory in result.Exploded)
            {
                writer.WriteStringValue(directory);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("Errors");
            foreach (var error in result.Errors)
            {
                writer.WriteStringValue(error);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static Task WriteNamesAsync(HttpContext context, IReadOnlyList<string> names)
    {
        context.Response.Headers["X-DRP-LIST-COUNT"] = names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(names.ToList(), Core.Json.UnderlayJsonContext.Default.ListString));
    }
}
