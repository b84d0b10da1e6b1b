using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Underlay.Api.Auth;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Api.Http;

/// <summary>Request and response plumbing shared by every endpoint.</summary>
public static class ApiHttp
{
    /// <summary>Object bodies larger than this are refused with 413; content packs and files have their own limits.</summary>
    public const int MaxObjectBytes = 4 * 1024 * 1024;

    /// <summary>The largest content pack accepted (DRP's biggest community pack is about 1 MB).</summary>
    public const int MaxContentBytes = 64 * 1024 * 1024;

    internal const string PrincipalKey = "underlay.principal";

    /// <summary>
    /// A route value, fully unescaped: routing leaves <c>%2F</c> encoded, but DRP keys (param names such as
    /// <c>inventory/cpus</c>, template IDs) may contain slashes that clients escape.
    /// </summary>
    public static string Route(HttpContext context, string name) =>
        Uri.UnescapeDataString((string?)context.Request.RouteValues[name] ?? "");

    public static Principal Principal(this HttpContext context) =>
        context.Items[PrincipalKey] as Principal ?? throw new InvalidOperationException("request was not authenticated");

    public static Task WriteErrorAsync(HttpContext context, int code, string model, string key, params string[] messages)
    {
        var error = new ApiError
        {
            Code = code,
            Model = model,
            Key = key,
            Type = code switch
            {
                422 => "ValidationError",
                409 => "CONFLICT",
                404 => "NOTFOUND",
                401 => "AUTH_ERROR",
                403 => "AUTH_ERROR",
                _ => "API_ERROR",
            },
            Messages = [.. messages],
        };
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        if (code == 401)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"underlay\", Bearer";
        }

        return context.Request.Method == HttpMethods.Head
            ? Task.CompletedTask
            : context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(error, UnderlayJsonContext.Default.ApiError)).AsTask();
    }

    public static Task WriteResultErrorAsync(HttpContext context, WriteResult result) =>
        WriteErrorAsync(context, result.Code, result.Model, result.Key, [.. result.Messages]);

    public static async Task WriteJsonAsync(HttpContext context, byte[] utf8Json, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = utf8Json.Length;
        if (context.Request.Method != HttpMethods.Head)
        {
            await context.Response.Body.WriteAsync(utf8Json, context.RequestAborted).ConfigureAwait(false);
        }
    }

    public static Task WriteObjectAsync(HttpContext context, ModelBase model, long version, int status = 200)
    {
        context.Response.Headers.ETag = $"\"{version}\"";
        return WriteJsonAsync(context, ModelTypes.Of(model).SerializeForOutput(model), status);
    }

    /// <summary>Reads the request body up to <paramref name="limit"/> bytes; null (and a 413 written) if larger.</summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpContext context, int limit)
    {
        if (context.Request.ContentLength > limit)
        {
            await WriteErrorAsync(context, 413, "", "", $"request body larger than {limit} bytes").ConfigureAwait(false);
            return null;
        }

        var buffer = new ArrayBufferWriter<byte>(context.Request.ContentLength is > 0 and var length ? (int)length : 4096);
        var stream = context.Request.Body;
        while (true)
        {
            var memory = buffer.GetMemory(16 * 1024);
            var read = await stream.ReadAsync(memory, context.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                await WriteErrorAsync(context, 413, "", "", $"request body larger than {limit} bytes").ConfigureAwait(false);
                return null;
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Reads a JSON request body of at most <see cref="MaxObjectBytes"/> into <typeparamref name="T"/>. When it is too
    /// large or does not parse, the 413/400 answer (saying it should be <paramref name="expected"/>) is already
    /// written and <c>Ok</c> is false. A literal <c>null</c> body parses to a null value.
    /// </summary>
    public static async Task<(bool Ok, T? Value)> ReadJsonBodyAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo,
        string model, string expected)
    {
        if (await ReadBodyAsync(context, MaxObjectBytes).ConfigureAwait(false) is not { } body)
        {
            return (false, default);
        }

        try
        {
            return (true, JsonSerializer.Deserialize(body, typeInfo));
        }
        catch (JsonException e)
        {
            await WriteErrorAsync(context, 400, model, "", $"body must be {expected}: {Describe(e)}").ConfigureAwait(false);
            return (false, default);
        }
    }

    /// <summary>The version an <c>If-Match</c> header asks for, or null.</summary>
    public static long? ExpectedVersion(HttpContext context)
    {
        string? header = context.Request.Headers.IfMatch;
        if (string.IsNullOrEmpty(header) || header == "*")
        {
            return null;
        }

        return long.TryParse(header.Trim().Trim('"').TrimStart('W', '/').Trim('"'), out var version) ? version : -1;
    }

    /// <summary>Describes a JSON failure without echoing large input back.</summary>
    public static string Describe(JsonException exception)
    {
        var message = exception.Message;
        return message.Length > 300 ? message[..300] + "…" : message;
    }
}
