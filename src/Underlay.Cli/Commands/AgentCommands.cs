using System.CommandLine;
using System.Text.Json;
using Underlay.Cli.Agent;
using Underlay.Client;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Cli.Commands;

/// <summary><c>underlay agent</c> and the workflow verbs operators use with it.</summary>
internal static class AgentCommands
{
    public static Command Agent()
    {
        var machine = new Option<Guid?>("--machine") { Description = "Run as this machine (default: find it by whoami, or create it)" };
        var context = new Option<string>("--context") { Description = "Only run jobs in this context", DefaultValueFactory = _ => "" };
        var reboot = new Option<string>("--reboot-command") { Description = "Command for a reboot exit or bootenv change", DefaultValueFactory = _ => "reboot" };
        var poweroff = new Option<string>("--poweroff-command") { Description = "Command for a poweroff exit", DefaultValueFactory = _ => "poweroff" };
        var stateDir = new Option<string>("--state-dir") { Description = "Where the agent keeps its machine UUID and task directories", DefaultValueFactory = _ => "/var/lib/underlay-agent" };
        var exitOnComplete = new Option<bool>("--exit-on-complete") { Description = "Exit when there is nothing left to run" };
        var command = new Command("agent", "Run tasks for this machine (the on-machine runner)")
        {
            machine, context, reboot, poweroff, stateDir, exitOnComplete,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var kernel = KernelCommandLine.Read();
            var connection = CliContext.Options(parse);
            if (parse.GetValue(CliContext.Endpoint) is null && Environment.GetEnvironmentVariable("UNDERLAY_ENDPOINT") is null && Environment.GetEnvironmentVariable("RS_ENDPOINT") is null && kernel.Endpoint is { } endpoint)
            {
                connection = connection with { Endpoint = endpoint };
            }

            if (connection.Token is null && connection.Username is null && kernel.Token is { } token)
            {
                connection = connection with { Token = token };
            }

            if (kernel.CertificateSha256 is { } pin && connection.PinnedCertificateSha256 is null && connection.CaCertificateFile is null)
            {
                connection = connection with { PinnedCertificateSha256 = pin };
            }

            var options = new AgentOptions
            {
                Machine = parse.GetValue(machine) ?? kernel.Machine ?? Guid.Empty,
                Context = parse.GetValue(context)!,
                RebootCommand = parse.GetValue(reboot)!,
                PoweroffCommand = parse.GetValue(poweroff)!,
                StateDirectory = parse.GetValue(stateDir)!,
                ExitOnComplete = parse.GetValue(exitOnComplete),
            };
            using var runner = new AgentRunner(options, connection);
            var exit = await runner.RunAsync(cancellationToken).ConfigureAwait(false);
            return exit == AgentExit.Canceled ? 130 : 0;
        });
        return command;
    }

    /// <summary><c>machines workflow|stage|bootenv &lt;id&gt; &lt;name&gt;</c>, <c>machines jobs</c> and <c>machines wait</c>.</summary>
    public static void AddMachineVerbs(Command machines)
    {
        foreach (var (verb, property) in new[] { ("workflow", "Workflow"), ("stage", "Stage"), ("bootenv", "BootEnv") })
        {
            var id = ObjectCommands.Id(ModelTypes.Machines);
            var name = new Argument<string>("name") { Description = $"The {verb} to set (\"\" clears it)" };
            var set = new Command(verb, $"Set a machine's {property}") { id, name };
            set.Run(async (parse, cancellationToken) =>
            {
                using var client = CliContext.Client(parse);
                var value = JsonSerializer.Serialize(parse.GetValue(name)!, UnderlayJsonContext.Default.String);
                var patch = $$"""[{"op":"replace","path":"/{{property}}","value":{{value}}}]""";
                var machine = await client.PatchAsync(ModelTypes.Machines, parse.GetValue(id)!, patch, cancellationToken).ConfigureAwait(false);
                Printer.Write(parse.GetValue(CliContext.Format)!, ModelTypes.Machines.ToOutputElement(machine), "machines");
            });
            machines.Subcommands.Add(set);
        }

        var jobsId = ObjectCommands.Id(ModelTypes.Machines);
        var jobs = new Command("jobs", "List a machine's jobs, oldest first") { jobsId };
        jobs.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var machine = await client.GetAsync<Machine>(parse.GetValue(jobsId)!, cancellationToken).ConfigureAwait(false);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, $"jobs?Machine={machine.Uuid}&sort=StartTime", cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body, "jobs");
        });
        machines.Subcommands.Add(jobs);

        var waitId = ObjectCommands.Id(ModelTypes.Machines);
        var field = new Argument<string>("field") { Description = "A top-level field, e.g. Stage, BootEnv, WorkflowComplete, Runnable" };
        var expected = new Argument<string>("value") { Description = "The value to wait for (compared as text; true/false for booleans)" };
        var timeout = new Option<int>("--timeout") { Description = "Give up after this many seconds (exit 1)", DefaultValueFactory = _ => 300 };
        var wait = new Command("wait", "Wait until a machine's field has a value") { waitId, field, expected, timeout };
        wait.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(timeout)));
            var machine = await client.GetAsync<Machine>(parse.GetValue(waitId)!, cancellationToken).ConfigureAwait(false);
            var name = parse.GetValue(field)!;
            var want = parse.GetValue(expected)!;
            try
            {
                // Subscribe first, then read: a change between the two cannot be missed.
                using var stream = await client.WatchAsync([$"machines.*.{machine.Uuid}"], limit.Token).ConfigureAwait(false);
                var current = ModelTypes.Machines.ToOutputElement(await client.GetAsync<Machine>(machine.Uuid.ToString(), limit.Token).ConfigureAwait(false));
                while (!Matches(current, name, want))
                {
                    var next = await stream.NextAsync(limit.Token).ConfigureAwait(false) ?? throw new CliException("the event stream closed");
                    if (next.Object is { } updated)
                    {
                        current = updated;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new CliException($"timed out after {parse.GetValue(timeout)} s waiting for {name} = {want}");
            }

            await Console.Out.WriteLineAsync($"{name} = {want}").ConfigureAwait(false);
        });
        machines.Subcommands.Add(wait);
    }

    /// <summary><c>jobs log &lt;id&gt;</c>.</summary>
    public static void AddJobVerbs(Command jobsCommand)
    {
        var id = ObjectCommands.Id(ModelTypes.Jobs);
        var log = new Command("log", "Print a job's log") { id };
        log.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, $"jobs/{UnderlayClient.Escape(parse.GetValue(id)!)}/log", cancellationToken: cancellationToken).ConfigureAwait(false));
            await using var stdout = Console.OpenStandardOutput();
            await stdout.WriteAsync(response.Body, cancellationToken).ConfigureAwait(false);
        });
        jobsCommand.Subcommands.Add(log);
    }

    private static bool Matches(JsonElement machine, string field, string want)
    {
        if (!machine.TryGetProperty(field, out var value))
        {
            throw new CliException($"machines have no field '{field}'");
        }

        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString() ?? "",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetRawText(),
        };
        return string.Equals(text, want, StringComparison.Ordinal);
    }
}

/// <summary>
/// Settings a boot loader passes on the kernel command line, as DRP's do: <c>underlay.api=</c> or <c>rs.api=</c>
/// (API endpoint), <c>provisioner.web=</c> (boot-file server), <c>rs.uuid=</c> / <c>underlay.uuid=</c> (the machine, when
/// known), <c>underlay.token=</c> and <c>underlay.cert-sha256=</c> (the server certificate to pin).
/// </summary>
internal sealed record KernelCommandLine(Uri? Endpoint, Uri? FileServer, Guid? Machine, string? Token, string? CertificateSha256)
{
    public static KernelCommandLine Read(string path = "/proc/cmdline")
    {
        try
        {
            return File.Exists(path) ? Parse(File.ReadAllText(path)) : new KernelCommandLine(null, null, null, null, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new KernelCommandLine(null, null, null, null, null);
        }
    }

    public static KernelCommandLine Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var word in text.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = word.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[word[..equals]] = word[(equals + 1)..];
            }
        }

        static Uri? AsUri(string? value) => value is not null && Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : null;
        var api = AsUri(values.GetValueOrDefault("underlay.api") ?? values.GetValueOrDefault("rs.api"));
        var uuidText = values.GetValueOrDefault("underlay.uuid") ?? values.GetValueOrDefault("rs.uuid");
        return new KernelCommandLine(
            api,
            AsUri(values.GetValueOrDefault("provisioner.web")),
            Guid.TryParse(uuidText, out var uuid) ? uuid : null,
            values.GetValueOrDefault("underlay.token") ?? values.GetValueOrDefault("rs.token"),
            values.GetValueOrDefault("underlay.cert-sha256"));
    }
}
