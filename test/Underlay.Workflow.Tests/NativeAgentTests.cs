using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;
using WorkflowModel = Underlay.Core.Models.Workflow;

namespace Underlay.Workflow.Tests;

/// <summary>The NativeAOT <c>underlay</c> binary (what a boot image carries) runs as the agent and as the CLI.</summary>
public sealed class NativeAgentTests
{
    [Fact]
    public async Task The_native_binary_runs_a_workflow_as_the_agent_and_its_scripts_use_it_as_the_cli()
    {
        var ct = TestContext.Current.CancellationToken;
        Assert.True(File.Exists(RepoPaths.NativeCli), $"{RepoPaths.NativeCli} is missing: run eng/publish-native-cli.sh");
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        using var admin = server.AdminClient();
        var work = RepoPaths.NewTempDirectory("native-agent");
        try
        {
            await admin.CreateAsync(new Param { Name = "native/answer", Schema = System.Text.Json.JsonDocument.Parse("""{"type":"string"}""").RootElement.Clone() }, ct);
            await admin.CreateAsync(new TaskModel
            {
                Name = "native-task",
                Templates =
                [
                    new TemplateInfo { Name = "note", Path = "note.txt", Contents = "machine {{.Machine.Name}}\n" },
                    new TemplateInfo
                    {
                        Name = "run",
                        Contents = "#!/bin/sh\nset -e\ncat note.txt\n\"$UNDERLAY_CLI\" machines params set \"$RS_UUID\" native/answer \"from-native-$RS_UUID\" >/dev/null\necho native-script-done\n",
                    },
                ],
            }, ct);
            await admin.CreateAsync(new Stage { Name = "native-stage", Tasks = ["native-task"] }, ct);
            await admin.CreateAsync(new WorkflowModel { Name = "native-flow", Stages = ["native-stage", "complete"] }, ct);
            var machine = await admin.CreateAsync(new Machine { Name = "native.lab", Workflow = "native-flow" }, ct);

            var environment = server.CliEnvironment();
            environment["UNDERLAY_CLI"] = RepoPaths.NativeCli;
            var result = await ExternalProcess.RunAsync(RepoPaths.NativeCli,
                ["agent", "--machine", machine.Uuid.ToString(), "--exit-on-complete", "--state-dir", work, "--reboot-command", "true", "--poweroff-command", "true"],
                TimeSpan.FromMinutes(3), environment: environment, cancellationToken: ct);
            Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\n{result.StandardOutput}\n{result.StandardError}");

            var done = await admin.GetAsync<Machine>(machine.Key, ct);
            Assert.True(done.WorkflowComplete, result.StandardError);
            Assert.Equal($"from-native-{machine.Uuid}", done.Params["native/answer"].GetString());
            var job = (Job)(await admin.ListAsync(ModelTypes.Jobs, $"Machine={machine.Uuid}&Task=native-task", ct)).Single();
            Assert.Equal((JobStates.Finished, "complete"), (job.State, job.ExitState));
            var log = System.Text.Encoding.UTF8.GetString(Client.UnderlayClient.EnsureSuccess(await admin.SendAsync(HttpMethod.Get, $"jobs/{job.Uuid}/log", cancellationToken: ct)).Body);
            Assert.Contains("machine native.lab", log, StringComparison.Ordinal);
            Assert.Contains("native-script-done", log, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
