using System.Collections.Concurrent;
using System.Text;
using Underlay.Cli.Agent;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;
using WorkflowModel = Underlay.Core.Models.Workflow;

namespace Underlay.Workflow.Tests;

/// <summary>Real agents (in this process, as many runners) against a real underlayd over loopback HTTPS.</summary>
public sealed class AgentFleetTests
{
    private static readonly int Agents = int.TryParse(Environment.GetEnvironmentVariable("UNDERLAY_TEST_AGENTS"), out var agents) ? agents : 50;

    /// <summary>
    /// A three-stage workflow: a file action plus a script, a task that exits 128 (incomplete) once and succeeds when
    /// run again, and a task that sets a param with the real CLI using the machine token it was given.
    /// </summary>
    private static async Task DefineWorkflowAsync(UnderlayClient admin, CancellationToken ct)
    {
        await admin.CreateAsync(new Param { Name = "wf/outdir", Schema = Json("""{"type":"string"}""") }, ct);
        await admin.CreateAsync(new Param { Name = "wf/result", Schema = Json("""{"type":"string","pattern":"^done-"}""") }, ct);
        await admin.CreateAsync(new TaskModel
        {
            Name = "wf-file",
            Templates =
            [
                new TemplateInfo { Name = "greeting", Path = "{{.Param \"wf/outdir\"}}/{{.Machine.Name}}.txt", Contents = "hello {{.Machine.Name}} from task {{.Task.Name}}\n" },
                new TemplateInfo { Name = "say", Contents = "#!/bin/sh\necho \"file-task-output for {{.Machine.Name}}\"\necho \"wf-file\" >> \"$RS_RUNNER_DIR/ran\"\n" },
            ],
        }, ct);
        await admin.CreateAsync(new TaskModel
        {
            Name = "wf-incomplete",
            Templates =
            [
                new TemplateInfo
                {
                    Name = "twice",
                    Contents = "#!/bin/sh\necho \"wf-incomplete\" >> \"$RS_RUNNER_DIR/ran\"\nif [ ! -f \"$RS_RUNNER_DIR/second-try\" ]; then\n  touch \"$RS_RUNNER_DIR/second-try\"\n  echo \"first try: incomplete\"\n  exit 128\nfi\necho \"second try: done\"\n",
                },
            ],
        }, ct);
        await admin.CreateAsync(new TaskModel
        {
            Name = "wf-param",
            Templates =
            [
                new TemplateInfo
                {
                    Name = "set",
                    Contents = "#!/bin/sh\nset -e\necho \"wf-param\" >> \"$RS_RUNNER_DIR/ran\"\n$UNDERLAY_CLI machines params set \"$RS_UUID\" wf/result \"done-$RS_UUID\" > /dev/null\necho \"param set with token ${RS_TOKEN%%.*}\"\n",
                },
            ],
        }, ct);
        await admin.CreateAsync(new Stage { Name = "wf-s1", Tasks = ["wf-file"] }, ct);
        await admin.CreateAsync(new Stage { Name = "wf-s2", Tasks = ["wf-incomplete"] }, ct);
        await admin.CreateAsync(new Stage { Name = "wf-s3", Tasks = ["wf-param"] }, ct);
        await admin.CreateAsync(new WorkflowModel { Name = "wf-three", Stages = ["wf-s1", "wf-s2", "wf-s3", "complete"] }, ct);
    }

    private static Dictionary<string, string> ScriptEnvironment() => new()
    {
        ["UNDERLAY_CLI"] = $"dotnet {RepoPaths.CliDll}",
    };

    [Fact]
    public async Task Fifty_agents_run_a_three_stage_workflow_to_completion_with_logs_files_params_and_ordered_events()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        using var admin = server.AdminClient();
        var work = RepoPaths.NewTempDirectory("fleet");
        try
        {
            await DefineWorkflowAsync(admin, ct);
            await admin.SetParamAsync(ModelTypes.Profiles, "global", "wf/outdir", Json($"\"{work}/out\""), ct);
            var machines = new List<Machine>();
            for (var i = 0; i < Agents; i++)
            {
                machines.Add(await admin.CreateAsync(new Machine { Name = $"fleet{i:D2}.lab" }, ct));
            }

            // Watch every job and machine change of the first machine from the start.
            var watched = machines[0];
            await using var events = await EventCollector.StartAsync(admin, ["jobs.*.*", $"machines.update.{watched.Uuid}", "profiles.create.*"], ct);
            await events.SynchronizeAsync(async i => (await admin.CreateAsync(new Profile { Name = $"fleet-ready{i}" }, ct)).Key, ct);

            foreach (var machine in machines)
            {
                await admin.PatchAsync(ModelTypes.Machines, machine.Key, """[{"op":"replace","path":"/Workflow","value":"wf-three"}]""", ct);
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(8));
            var outputs = new ConcurrentDictionary<Guid, StringWriter>();
            var runs = machines.Select(machine => Task.Run(async () =>
            {
                var output = outputs.GetOrAdd(machine.Uuid, _ => new StringWriter());
                using var runner = new AgentRunner(AgentOptionsFor(machine, work), server.AdminOptions, TextWriter.Synchronized(output));
                return await runner.RunAsync(timeout.Token);
            }, ct)).ToArray();
            var exits = await Task.WhenAll(runs);
            var stuck = machines.Where((m, i) => exits[i] != AgentExit.Complete).ToList();
            if (stuck.Count > 0)
            {
                var failedLogs = new StringBuilder();
                foreach (Job failed in await admin.ListAsync(ModelTypes.Jobs, $"Machine={stuck[0].Uuid}&State=failed", ct))
                {
                    failedLogs.Append($"--- job {failed.Task} log:\n{await LogAsync(admin, failed, ct)}\n");
                }

                Assert.Fail($"{stuck.Count} agents did not complete; first:\n{outputs[stuck[0].Uuid]}\n{failedLogs}");
            }

            foreach (var machine in machines)
            {
                var done = await admin.GetAsync<Machine>(machine.Key, ct);
                Assert.True(done.WorkflowComplete, $"{machine.Name}: {outputs[machine.Uuid]}");
                Assert.Equal("complete", done.Stage);
                Assert.Equal($"done-{machine.Uuid}", done.Params["wf/result"].GetString());
                Assert.Equal($"hello {machine.Name} from task wf-file\n", await File.ReadAllTextAsync(Path.Combine(work, "out", $"{machine.Name}.txt"), ct));
                var ran = await File.ReadAllLinesAsync(Path.Combine(work, machine.Name, "ran"), ct);
                Assert.Equal(["wf-file", "wf-incomplete", "wf-incomplete", "wf-param"], ran);
            }

            // Job logs hold what the scripts printed.
            var jobs = (await admin.ListAsync(ModelTypes.Jobs, $"Machine={watched.Uuid}", ct)).Cast<Job>().ToDictionary(j => j.Task);
            Assert.Equal(["wf-file", "wf-incomplete", "wf-param"], jobs.Keys.Order(StringComparer.Ordinal));
            Assert.All(jobs.Values, job => Assert.Equal((JobStates.Finished, "complete"), (job.State, job.ExitState)));
            Assert.Contains($"file-task-output for {watched.Name}", await LogAsync(admin, jobs["wf-file"], ct), StringComparison.Ordinal);
            var incompleteLog = await LogAsync(admin, jobs["wf-incomplete"], ct);
            Assert.True(incompleteLog.IndexOf("first try: incomplete", StringComparison.Ordinal) < incompleteLog.IndexOf("second try: done", StringComparison.Ordinal), incompleteLog);
            Assert.Contains("param set with token", await LogAsync(admin, jobs["wf-param"], ct), StringComparison.Ordinal);

            // The event stream shows every transition of the watched machine's jobs, in order.
            var transitions = new Dictionary<string, List<string>>();
            var stages = new List<string>();
            while (await events.NextAsync(TimeSpan.FromMilliseconds(500), ct) is { } next)
            {
                if (next.Type == "jobs" && next.Object is { } job && job.GetProperty("Machine").GetString() == watched.Uuid.ToString())
                {
                    var task = job.GetProperty("Task").GetString()!;
                    var state = job.GetProperty("State").GetString()!;
                    var list = transitions.TryGetValue(task, out var existing) ? existing : transitions[task] = [];
                    if (list.Count == 0 || list[^1] != state)
                    {
                        list.Add(state);
                    }
                }
                else if (next.Type == "machines" && next.Object is { } machine)
                {
                    var stage = machine.GetProperty("Stage").GetString()!;
                    if (stages.Count == 0 || stages[^1] != stage)
                    {
                        stages.Add(stage);
                    }
                }
            }

            Assert.Equal(["created", "running", "finished"], transitions["wf-file"]);
            Assert.Equal(["created", "running", "incomplete", "running", "finished"], transitions["wf-incomplete"]);
            Assert.Equal(["created", "running", "finished"], transitions["wf-param"]);
            Assert.Equal(["wf-s1", "wf-s2", "wf-s3", "complete"], stages.SkipWhile(s => s != "wf-s1"));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task An_agent_survives_a_server_kill_and_no_finished_task_runs_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        using var admin = server.AdminClient();
        var work = RepoPaths.NewTempDirectory("restart");
        try
        {
            // Six slow tasks: the kill lands while tasks run and while jobs are being handed out.
            var names = Enumerable.Range(1, 6).Select(i => $"slow{i}").ToList();
            foreach (var name in names)
            {
                await admin.CreateAsync(new TaskModel { Name = name, Templates = [new TemplateInfo { Name = "run", Contents = $"#!/bin/sh\necho {name} >> \"$RS_RUNNER_DIR/ran\"\nsleep 1\n" }] }, ct);
            }

            await admin.CreateAsync(new Stage { Name = "slow-stage", Tasks = names }, ct);
            await admin.CreateAsync(new WorkflowModel { Name = "slow-flow", Stages = ["slow-stage", "complete"] }, ct);
            var machines = new List<Machine>();
            for (var i = 0; i < 5; i++)
            {
                machines.Add(await admin.CreateAsync(new Machine { Name = $"restart{i}.lab", Workflow = "slow-flow" }, ct));
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(5));
            var outputs = machines.ToDictionary(m => m.Uuid, _ => new StringWriter());
            var runs = machines.Select(machine => Task.Run(async () =>
            {
                using var runner = new AgentRunner(AgentOptionsFor(machine, work) with { MaxReconnectDelay = TimeSpan.FromSeconds(1) }, server.AdminOptions, TextWriter.Synchronized(outputs[machine.Uuid]));
                return await runner.RunAsync(timeout.Token);
            }, ct)).ToArray();

            // Kill the server once every agent has started a couple of tasks, and bring it back a little later.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && machines.Any(m => CountRuns(work, m) < 2))
            {
                await Task.Delay(100, ct);
            }

            await server.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            await server.StartAsync(ct);

            var exits = await Task.WhenAll(runs);
            var stuck = machines.Where((m, i) => exits[i] != AgentExit.Complete).ToList();
            Assert.True(stuck.Count == 0, $"{stuck.Count} agents did not complete; first:\n{(stuck.Count > 0 ? outputs[stuck[0].Uuid].ToString() : "")}");
            using var after = server.AdminClient();
            foreach (var machine in machines)
            {
                Assert.True((await after.GetAsync<Machine>(machine.Key, ct)).WorkflowComplete);
                var ran = await File.ReadAllLinesAsync(Path.Combine(work, machine.Name, "ran"), ct);
                Assert.Equal(names, ran);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task A_task_exiting_64_runs_the_reboot_command_and_a_bootenv_change_reboots_too()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        using var admin = server.AdminClient();
        var work = RepoPaths.NewTempDirectory("reboot");
        try
        {
            await admin.CreateAsync(new TaskModel { Name = "wants-reboot", Templates = [new TemplateInfo { Name = "r", Contents = "#!/bin/sh\necho bye\nexit 64\n" }] }, ct);
            await admin.CreateAsync(new Stage { Name = "reboot-stage", Tasks = ["wants-reboot", "noop"] }, ct);
            var machine = await admin.CreateAsync(new Machine { Name = "reboots.lab", Stage = "reboot-stage" }, ct);
            var exit = await RunOnceAsync(machine, work, server, ct);
            Assert.Equal(AgentExit.Reboot, exit);
            Assert.True(File.Exists(Path.Combine(work, machine.Name, "rebooted")));
            var job = (Job)(await admin.ListAsync(ModelTypes.Jobs, $"Machine={machine.Uuid}", ct)).Single();
            Assert.Equal((JobStates.Finished, "reboot"), (job.State, job.ExitState));
            Assert.False((await admin.GetAsync<Machine>(machine.Key, ct)).Runnable);

            // After the "reboot" a new agent marks the machine runnable and carries on with the next task.
            File.Delete(Path.Combine(work, machine.Name, "rebooted"));
            Assert.Equal(AgentExit.Complete, await RunOnceAsync(machine, work, server, ct));
            Assert.Contains(await admin.ListAsync(ModelTypes.Jobs, $"Machine={machine.Uuid}&Task=noop", ct), j => ((Job)j).State == JobStates.Finished);

            // A workflow moving the machine into another bootenv makes the agent reboot into it.
            await admin.CreateAsync(new BootEnv { Name = "next-env" }, ct);
            await admin.CreateAsync(new Stage { Name = "into-next", BootEnv = "next-env", Tasks = ["noop"] }, ct);
            await admin.CreateAsync(new WorkflowModel { Name = "move-on", Stages = ["into-next"] }, ct);
            await admin.PatchAsync(ModelTypes.Machines, machine.Key, """[{"op":"replace","path":"/Workflow","value":"move-on"}]""", ct);
            Assert.Equal(AgentExit.Reboot, await RunOnceAsync(machine, work, server, ct));
            Assert.True(File.Exists(Path.Combine(work, machine.Name, "rebooted")));
            var moved = await admin.GetAsync<Machine>(machine.Key, ct);
            Assert.Equal(("next-env", false), (moved.BootEnv, moved.Runnable));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<AgentExit> RunOnceAsync(Machine machine, string work, UnderlayServerProcess server, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        using var runner = new AgentRunner(AgentOptionsFor(machine, work), server.AdminOptions, TextWriter.Null);
        return await runner.RunAsync(timeout.Token);
    }

    private static AgentOptions AgentOptionsFor(Machine machine, string work)
    {
        var state = Path.Combine(work, machine.Name);
        return new AgentOptions
        {
            Machine = machine.Uuid,
            StateDirectory = state,
            ExitOnComplete = true,
            RebootCommand = $"touch '{state}/rebooted'",
            PoweroffCommand = $"touch '{state}/powered-off'",
            ExtraEnvironment = ScriptEnvironment(),
            LogFlushInterval = TimeSpan.FromMilliseconds(200),
        };
    }

    private static int CountRuns(string work, Machine machine)
    {
        var path = Path.Combine(work, machine.Name, "ran");
        try
        {
            return File.Exists(path) ? File.ReadAllLines(path).Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static async Task<string> LogAsync(UnderlayClient client, Job job, CancellationToken ct) =>
        Encoding.UTF8.GetString(UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, $"jobs/{job.Uuid}/log", cancellationToken: ct)).Body);

    private static System.Text.Json.JsonElement Json(string text)
    {
        using var document = System.Text.Json.JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
