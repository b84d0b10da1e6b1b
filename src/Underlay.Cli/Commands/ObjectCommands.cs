using System.CommandLine;
using System.Net.Http;
using System.Text.Json;
using System.Text.Json.Nodes;
using Underlay.Client;
using Underlay.Core.Json;
using Underlay.Core.Registry;

namespace Underlay.Cli.Commands;

/// <summary>
/// One verb family per object type, as drpcli has: <c>list show exists create update patch destroy</c> and
/// <c>params get|set|delete</c> for types that hold params.
/// </summary>
internal static class ObjectCommands
{
    public static Command Create(ModelType type)
    {
        var command = new Command(type.Prefix, $"Manage {type.Prefix}");
        command.Subcommands.Add(List(type));
        command.Subcommands.Add(Show(type));
        command.Subcommands.Add(Exists(type));
        command.Subcommands.Add(CreateCommand(type));
        command.Subcommands.Add(Update(type));
        command.Subcommands.Add(Patch(type));
        command.Subcommands.Add(Destroy(type));
        if (type.HasParams)
        {
            command.Subcommands.Add(Params(type));
        }

        return command;
    }

    internal static Argument<string> Id(ModelType type) => new("id") { Description = $"The {type.Singular}'s {type.KeyIndex}, or Index:value (e.g. Name:node1)" };

    private static Command List(ModelType type)
    {
        var filters = new Argument<string[]>("filters")
        {
            Description = "Filters as Index=value or Index=Op(args) (Eq Ne Lt Lte Gt Gte Re Between Except In Nin), and sort=, limit=, offset=, reverse=",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("list", $"List {type.Prefix}") { filters };
        command.Run(async (parse, cancellationToken) =>
        {
            var query = string.Join("&", (parse.GetValue(filters) ?? []).Select(QueryPair));
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, type.Prefix + (query.Length > 0 ? "?" + query : ""), cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, type.Prefix);
        });
        return command;
    }

    private static string QueryPair(string filter)
    {
        var equals = filter.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new CliException($"filter '{filter}' must look like Index=value");
        }

        return Uri.EscapeDataString(filter[..equals]) + "=" + Uri.EscapeDataString(filter[(equals + 1)..]);
    }

    private static Command Show(ModelType type)
    {
        var id = Id(type);
        var command = new Command("show", $"Show one {type.Singular}") { id };
        command.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(id)!)}", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, type.Prefix);
        });
        return command;
    }

    private static Command Exists(ModelType type)
    {
        var id = Id(type);
        var command = new Command("exists", $"Exit 0 if the {type.Singular} exists, 1 if not") { id };
        command.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = await client.SendAsync(HttpMethod.Head, $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(id)!)}", cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.Status == System.Net.HttpStatusCode.NotFound)
            {
                throw new CliException($"{type.Singular} '{parse.GetValue(id)}' does not exist");
            }

            UnderlayClient.EnsureSuccess(response);
        });
        return command;
    }

    private static Command CreateCommand(ModelType type)
    {
        var input = new Argument<string>("object") { Description = "JSON or YAML inline, a file, or - for standard input" };
        var command = new Command("create", $"Create a {type.Singular}") { input };
        command.Run(async (parse, cancellationToken) =>
        {
            var body = CliContext.ReadInput(parse.GetValue(input)!);
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Post, type.Prefix, body, cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, type.Prefix);
        });
        return command;
    }

    /// <summary>drpcli semantics: the given fields are merged into the current object, which is then saved (If-Match guarded).</summary>
    private static Command Update(ModelType type)
    {
        var id = Id(type);
        var input = new Argument<string>("fields") { Description = "JSON or YAML fields to merge into the object, a file, or -" };
        var command = new Command("update", $"Merge fields into a {type.Singular}") { id, input };
        command.Run(async (parse, cancellationToken) =>
        {
            var changes = JsonNode.Parse(CliContext.ReadInput(parse.GetValue(input)!)) as JsonObject ?? throw new CliException("update takes a JSON or YAML object");
            using var client = CliContext.Client(parse);
            var path = $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(id)!)}";
            var current = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, path, cancellationToken: cancellationToken).ConfigureAwait(false));
            var merged = (JsonObject)JsonNode.Parse(current.Body)!;
            Merge(merged, changes);
            var headers = current.Header("ETag") is { } etag ? new Dictionary<string, string> { ["If-Match"] = etag } : null;
            var body = JsonSerializer.SerializeToUtf8Bytes(merged, UnderlayJsonNodeContext.Default.JsonObject);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Put, path, body, headers: headers, cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, type.Prefix);
        });
        return command;
    }

    /// <summary>RFC 7386-style merge: objects merge recursively, anything else replaces.</summary>
    private static void Merge(JsonObject target, JsonObject changes)
    {
        foreach (var (name, value) in changes.ToList())
        {
            if (value is JsonObject nested && target[name] is JsonObject existing)
            {
                Merge(existing, nested);
            }
            else
            {
                target[name] = value?.DeepClone();
            }
        }
    }

    private static Command Patch(ModelType type)
    {
        var id = Id(type);
        var input = new Argument<string>("patch") { Description = "An RFC 6902 JSON Patch (array of operations), a file, or -" };
        var command = new Command("patch", $"Apply a JSON Patch to a {type.Singular}") { id, input };
        command.Run(async (parse, cancellationToken) =>
        {
            var body = CliContext.ReadInput(parse.GetValue(input)!);
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Patch, $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(id)!)}", body, "application/json-patch+json", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, type.Prefix);
        });
        return command;
    }

    private static Command Destroy(ModelType type)
    {
        var id = Id(type);
        var command = new Command("destroy", $"Delete a {type.Singular}") { id };
        command.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Delete, $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(id)!)}", cancellationToken: cancellationToken).ConfigureAwait(false));
            await Console.Out.WriteLineAsync($"Deleted {type.Singular} {parse.GetValue(id)}").ConfigureAwait(false);
        });
        return command;
    }

    private static Command Params(ModelType type)
    {
        var command = new Command("params", $"Read and write a {type.Singular}'s params");
        var aggregate = new Option<bool>("--aggregate") { Description = "Resolve through profiles, stage and global (machines)" };

        var getId = Id(type);
        var getKey = new Argument<string?>("key") { Description = "One param; all when omitted", Arity = ArgumentArity.ZeroOrOne };
        var get = new Command("get", "Show params") { getId, getKey, aggregate };
        get.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var key = parse.GetValue(getKey);
            var path = $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(getId)!)}/params{(key is null ? "" : "/" + key)}{(parse.GetValue(aggregate) ? "?aggregate=true" : "")}";
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, path, cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });

        var setId = Id(type);
        var setKey = new Argument<string>("key");
        var setValue = new Argument<string>("value") { Description = "JSON value, or plain text for a string; - reads standard input" };
        var set = new Command("set", "Set one param (validated against the param's schema)") { setId, setKey, setValue };
        set.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var value = CliContext.ReadValue(parse.GetValue(setValue)!);
            var result = await client.SetParamAsync(type, parse.GetValue(setId)!, parse.GetValue(setKey)!, value, cancellationToken).ConfigureAwait(false);
            Printer.Write(parse.GetValue(CliContext.Format)!, result);
        });

        var deleteId = Id(type);
        var deleteKey = new Argument<string>("key");
        var delete = new Command("delete", "Remove one param") { deleteId, deleteKey };
        delete.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Delete, $"{type.Prefix}/{UnderlayClient.Escape(parse.GetValue(deleteId)!)}/params/{parse.GetValue(deleteKey)}", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });

        command.Subcommands.Add(get);
        command.Subcommands.Add(set);
        command.Subcommands.Add(delete);
        return command;
    }
}
