using System.CommandLine;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Json;

namespace Underlay.Cli.Commands;

/// <summary><c>info</c>, <c>prefs</c>, <c>contents</c>, <c>events watch</c> and token commands.</summary>
internal static class SystemCommands
{
    public static Command Info()
    {
        var command = new Command("info", "Show server facts");
        command.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, "info", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });
        return command;
    }

    public static Command Prefs()
    {
        var command = new Command("prefs", "Show and set server preferences");
        var list = new Command("list", "Show every pref");
        list.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, "prefs", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });
        var pairs = new Argument<string[]>("pairs") { Description = "name value [name value ...]", Arity = ArgumentArity.OneOrMore };
        var set = new Command("set", "Set prefs") { pairs };
        set.Run(async (parse, cancellationToken) =>
        {
            var values = parse.GetValue(pairs)!;
            if (values.Length % 2 != 0)
            {
                throw new CliException("prefs set takes name value pairs");
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < values.Length; i += 2)
            {
                map[values[i]] = values[i + 1];
            }

            using var client = CliContext.Client(parse);
            var body = JsonSerializer.SerializeToUtf8Bytes(map, UnderlayJsonContext.Default.DictionaryStringString);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Post, "prefs", body, cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });
        command.Subcommands.Add(list);
        command.Subcommands.Add(set);
        return command;
    }

    public static Command Contents()
    {
        var command = new Command("contents", "Manage content packs");
        var list = new Command("list", "List loaded packs");
        list.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, "contents", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, "contents");
        });

        var showName = new Argument<string>("name");
        var show = new Command("show", "Show a pack with all its objects") { showName };
        show.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, $"contents/{UnderlayClient.Escape(parse.GetValue(showName)!)}", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });

        var file = new Argument<string>("file") { Description = "A bundled pack (JSON or YAML), or - for standard input" };
        var replace = new Option<bool>("--replace") { Description = "Replace a loaded pack of the same name" };
        var upload = new Command("upload", "Upload a content pack") { file, replace };
        upload.Run(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var bytes = path == "-" ? ReadStdin() : File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false) : throw new CliException($"{path}: no such file");
            using var client = CliContext.Client(parse);
            string? name = null;
            if (parse.GetValue(replace))
            {
                using var document = JsonDocument.Parse(YamlJson.ToJsonBytes(bytes));
                name = document.RootElement.GetProperty("meta").GetProperty("Name").GetString();
            }

            var summary = await client.UploadContentAsync(bytes, name, cancellationToken).ConfigureAwait(false);
            Printer.Write(parse.GetValue(CliContext.Format)!, JsonSerializer.SerializeToElement(summary, UnderlayJsonContext.Default.ContentSummary));
        });

        var destroyName = new Argument<string>("name");
        var destroy = new Command("destroy", "Remove a content pack and its objects") { destroyName };
        destroy.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            await client.DeleteContentAsync(parse.GetValue(destroyName)!, cancellationToken).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"Deleted content pack {parse.GetValue(destroyName)}").ConfigureAwait(false);
        });

        command.Subcommands.Add(list);
        command.Subcommands.Add(show);
        command.Subcommands.Add(upload);
        command.Subcommands.Add(destroy);
        return command;
    }

    public static Command Events()
    {
        var command = new Command("events", "Watch the event stream");
        var patterns = new Argument<string[]>("registrations")
        {
            Description = "type.action.key patterns, * for any part (default *.*.*)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var count = new Option<int>("--count") { Description = "Exit after this many events (0: run until interrupted)" };
        var watch = new Command("watch", "Print events as they happen, one JSON object per line") { patterns, count };
        watch.Run(async (parse, cancellationToken) =>
        {
            var registrations = parse.GetValue(patterns) is { Length: > 0 } given ? given : ["*.*.*"];
            using var client = CliContext.Client(parse);
            using var stream = await client.WatchAsync(registrations, cancellationToken).ConfigureAwait(false);
            var limit = parse.GetValue(count);
            var seen = 0;
            while (await stream.NextAsync(cancellationToken).ConfigureAwait(false) is { } next)
            {
                var line = JsonSerializer.Serialize(next, UnderlayJsonContext.Default.Event);
                await Console.Out.WriteLineAsync(line).ConfigureAwait(false);
                await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (limit > 0 && ++seen >= limit)
                {
                    break;
                }
            }
        });
        command.Subcommands.Add(watch);
        return command;
    }

    /// <summary><c>users token|password</c> beside the generic user verbs.</summary>
    public static void AddUserCommands(Command users)
    {
        var name = new Argument<string>("name");
        var ttl = new Option<string?>("--ttl") { Description = "Lifetime: seconds or a duration such as 30m, 8h" };
        var token = new Command("token", "Get a bearer token for a user") { name, ttl };
        token.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var answer = await client.UserTokenAsync(parse.GetValue(name)!, parse.GetValue(ttl), cancellationToken).ConfigureAwait(false);
            Printer.Write(parse.GetValue(CliContext.Format)!, JsonSerializer.SerializeToElement(answer, UnderlayJsonContext.Default.UserToken));
        });

        var passwordName = new Argument<string>("name");
        var password = new Argument<string>("password") { Description = "The new password, or - to read it from standard input" };
        var setPassword = new Command("password", "Set a user's password (revokes its tokens)") { passwordName, password };
        setPassword.Run(async (parse, cancellationToken) =>
        {
            var text = parse.GetValue(password)!;
            if (text == "-")
            {
                text = (Console.In.ReadLine() ?? "").TrimEnd('\r', '\n');
            }

            using var client = CliContext.Client(parse);
            var body = Encoding.UTF8.GetBytes($"{{\"Password\":{JsonSerializer.Serialize(text, UnderlayJsonContext.Default.String)}}}");
            UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Put, $"users/{UnderlayClient.Escape(parse.GetValue(passwordName)!)}/password", body, cancellationToken: cancellationToken).ConfigureAwait(false));
            await Console.Out.WriteLineAsync($"Password changed for {parse.GetValue(passwordName)}").ConfigureAwait(false);
        });
        users.Subcommands.Add(token);
        users.Subcommands.Add(setPassword);
    }

    public static void AddMachineCommands(Command machines)
    {
        var id = new Argument<string>("id");
        var ttl = new Option<string?>("--ttl") { Description = "Lifetime: seconds or a duration such as 30m" };
        var token = new Command("token", "Get a machine-scoped token (what the agent uses)") { id, ttl };
        token.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var answer = await client.MachineTokenAsync(parse.GetValue(id)!, parse.GetValue(ttl), cancellationToken).ConfigureAwait(false);
            Printer.Write(parse.GetValue(CliContext.Format)!, JsonSerializer.SerializeToElement(answer, UnderlayJsonContext.Default.UserToken));
        });
        machines.Subcommands.Add(token);
    }

    private static byte[] ReadStdin()
    {
        using var stdin = Console.OpenStandardInput();
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }
}
