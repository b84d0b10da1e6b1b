using Microsoft.Extensions.Logging.Abstractions;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store;
using Underlay.Store.Events;
using Underlay.Store.Persistence;
using WorkflowModel = Underlay.Core.Models.Workflow;

namespace Underlay.Workflow.Tests;

/// <summary>The engine's rules against an in-memory store, without sockets.</summary>
public sealed class EngineTests : IAsyncLifetime
{
    private ObjectStore _store = null!;

    public async ValueTask InitializeAsync()
    {
        _store = new ObjectStore(new MemoryPersistence(), new ModelValidator(new ParamSchemas()), new EventBus(), TimeProvider.System, NullLogger<ObjectStore>.Instance);
        _store.AddHook(new MachineRules());
        _store.AddHook(new JobRules());
        await _store.OpenAsync([], TestContext.Current.CancellationToken);
        await Create(new BootEnv { Name = "local" });
        await Create(new BootEnv { Name = "installer-env" });
        await Create(new TaskModel { Name = "base" });
        await Create(new TaskModel { Name = "middle", Prerequisites = ["base"] });
        await Create(new TaskModel { Name = "top", Prerequisites = ["middle", "base"] });
        await Create(new TaskModel { Name = "plain" });
        await Create(new Stage { Name = "one", Tasks = ["top", "plain"] });
        await Create(new Stage { Name = "two", BootEnv = "installer-env", Tasks = ["plain", "base"] });
        await Create(new WorkflowModel { Name = "both", Stages = ["one", "two"] });
        await Create(new Pref { Name = "defaultBootEnv", Val = "local" });
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    private async Task<ModelBase> Create(ModelBase model)
    {
        var result = await _store.CreateAsync(model, "test");
        Assert.True(result.IsSuccess, result.ToString());
        return result.Object!;
    }

    private Machine Machine(string key) => (Machine)_store.Get(ModelTypes.Machines, key)!;

    private Task<WriteResult> Patch(string key, Action<Machine> change) =>
        _store.UpdateAsync(ModelTypes.Machines, key, (copy, _) =>
        {
            change((Machine)copy);
            return null;
        }, null, "test");

    private async Task<NextJob> NextAsync(Guid machine)
    {
        NextJob next = default;
        var result = await _store.WriteAsync(tx =>
        {
            next = JobScheduler.Next(tx, machine, "");
            return next.Commits ? new WriteResult(200, "jobs", "", null, 0, []) : WriteResult.Failed(next.Code, "jobs", "", next.Message);
        }, "agent");
        Assert.True(result.IsSuccess == next.Commits && (result.IsSuccess || result.Code == next.Code), result.ToString());
        return next;
    }

    private async Task FinishAsync(Job job, string state = JobStates.Finished, string exitState = "")
    {
        foreach (var step in new[] { JobStates.Running, state })
        {
            var result = await _store.UpdateAsync(ModelTypes.Jobs, job.Key, (copy, _) =>
            {
                ((Job)copy).State = step;
                if (step == state)
                {
                    ((Job)copy).ExitState = exitState;
                }

                return null;
            }, null, "agent");
            Assert.True(result.IsSuccess, result.ToString());
            job = (Job)result.Object!;
            if (step == state)
            {
                break;
            }
        }
    }

    [Fact]
    public async Task Setting_a_workflow_expands_stages_bootenvs_and_prerequisites_in_order()
    {
        var machine = (Machine)await Create(new Machine { Name = "expand.lab", Workflow = "both" });
        Assert.Equal(
            ["stage:one", "base", "middle", "top", "plain", "stage:two", "bootenv:installer-env", "plain", "base"],
            machine.Tasks);
        Assert.Equal(-1, machine.CurrentTask);
        Assert.Equal("local", machine.BootEnv);
    }

    [Fact]
    public async Task A_prerequisite_cycle_is_rejected_with_422()
    {
        await Create(new TaskModel { Name = "loop-a" });
        await Create(new TaskModel { Name = "loop-b", Prerequisites = ["loop-a"] });

        // The store refuses a task whose prerequisites lead back to itself...
        var cyclic = await _store.UpdateAsync(ModelTypes.Tasks, "loop-a", (copy, _) =>
        {
            ((TaskModel)copy).Prerequisites = ["loop-b"];
            return null;
        }, null, "test");
        Assert.Equal(422, cyclic.Code);
        Assert.Contains(cyclic.Messages, m => m.Contains("Prerequisites", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Setting_a_stage_without_a_workflow_takes_its_tasks_and_bootenv_and_stops_the_machine()
    {
        var machine = (Machine)await Create(new Machine { Name = "stage.lab" });
        Assert.True(machine.Runnable);
        var result = await Patch(machine.Key, m => m.Stage = "two");
        var updated = (Machine)result.Object!;
        Assert.Equal(["plain", "base"], updated.Tasks);
        Assert.Equal("installer-env", updated.BootEnv);
        Assert.False(updated.Runnable);
    }

    [Fact]
    public async Task Stage_and_bootenv_cannot_be_set_by_hand_while_a_workflow_runs()
    {
        var machine = (Machine)await Create(new Machine { Name = "managed.lab", Workflow = "both" });
        Assert.Equal(422, (await Patch(machine.Key, m => m.Stage = "two")).Code);
        Assert.Equal(422, (await Patch(machine.Key, m => m.BootEnv = "installer-env")).Code);
    }

    [Fact]
    public async Task Jobs_follow_the_task_list_roll_over_stages_and_stop_at_a_bootenv_change()
    {
        var machine = (Machine)await Create(new Machine { Name = "walk.lab", Workflow = "both" });
        var ran = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var next = await NextAsync(machine.Uuid);
            Assert.Equal(201, next.Code);
            ran.Add(next.Job!.Task);
            Assert.Equal("one", Machine(machine.Key).Stage);
            await FinishAsync(next.Job);
        }

        Assert.Equal(["base", "middle", "top", "plain"], ran);

        // stage:two then bootenv:installer-env: the bootenv change is a synthetic finished job and stops the machine.
        var roll = await NextAsync(machine.Uuid);
        Assert.Equal(201, roll.Code);
        Assert.Equal(JobStates.Finished, roll.Job!.State);
        Assert.Equal("reboot", roll.Job.ExitState);
        var rolled = Machine(machine.Key);
        Assert.Equal(("two", "installer-env", false), (rolled.Stage, rolled.BootEnv, rolled.Runnable));
        Assert.Equal(409, (await NextAsync(machine.Uuid)).Code);

        // The agent boots into the new environment and marks the machine runnable again.
        await Patch(machine.Key, m => m.Runnable = true);
        foreach (var expected in new[] { "plain", "base" })
        {
            var next = await NextAsync(machine.Uuid);
            Assert.Equal(expected, next.Job!.Task);
            await FinishAsync(next.Job);
        }

        var done = await NextAsync(machine.Uuid);
        Assert.Equal(204, done.Code);
        Assert.True(Machine(machine.Key).WorkflowComplete);
    }

    [Fact]
    public async Task An_incomplete_job_comes_back_as_the_same_job_with_202()
    {
        var machine = (Machine)await Create(new Machine { Name = "again.lab", Stage = "one" });
        var first = await NextAsync(machine.Uuid);
        await FinishAsync(first.Job!, JobStates.Incomplete);
        var again = await NextAsync(machine.Uuid);
        Assert.Equal(202, again.Code);
        Assert.Equal(first.Job!.Uuid, again.Job!.Uuid);
    }

    [Fact]
    public async Task A_failed_job_stops_the_machine_and_is_retried_once_runnable_again()
    {
        var machine = (Machine)await Create(new Machine { Name = "fail.lab", Stage = "one" });
        var first = await NextAsync(machine.Uuid);
        await FinishAsync(first.Job!, JobStates.Failed);
        Assert.False(Machine(machine.Key).Runnable);
        Assert.Equal(409, (await NextAsync(machine.Uuid)).Code);
        await Patch(machine.Key, m => m.Runnable = true);
        var retry = await NextAsync(machine.Uuid);
        Assert.Equal(201, retry.Code);
        Assert.Equal(first.Job!.Task, retry.Job!.Task);
        Assert.NotEqual(first.Job.Uuid, retry.Job.Uuid);
    }

    [Fact]
    public async Task Task_retry_keeps_the_machine_runnable_for_the_allowed_attempts()
    {
        var machine = (Machine)await Create(new Machine { Name = "retry.lab", Stage = "one", Params = new() { ["task-retry"] = Json("""{"base":2}""") } });
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var job = (await NextAsync(machine.Uuid)).Job!;
            Assert.Equal("base", job.Task);
            await FinishAsync(job, JobStates.Failed);
            Assert.True(Machine(machine.Key).Runnable);
            Assert.Equal(attempt, Machine(machine.Key).RetryTaskAttempt);
        }

        await FinishAsync((await NextAsync(machine.Uuid)).Job!, JobStates.Failed);
        Assert.False(Machine(machine.Key).Runnable);
    }

    [Fact]
    public async Task Task_error_handlers_run_before_the_failed_task_is_tried_again()
    {
        await Create(new TaskModel { Name = "fixer" });
        var machine = (Machine)await Create(new Machine { Name = "handle.lab", Stage = "one", Params = new() { ["task-error-handlers"] = Json("""{"base":["fixer"]}""") } });
        var failing = (await NextAsync(machine.Uuid)).Job!;
        await FinishAsync(failing, JobStates.Failed);
        Assert.True(Machine(machine.Key).Runnable);
        var handler = (await NextAsync(machine.Uuid)).Job!;
        Assert.Equal("fixer", handler.Task);
        await FinishAsync(handler);
        var again = (await NextAsync(machine.Uuid)).Job!;
        Assert.Equal("base", again.Task);
        await FinishAsync(again, JobStates.Failed);
        Assert.False(Machine(machine.Key).Runnable);
    }

    [Fact]
    public async Task Task_stop_at_stops_before_the_named_task_and_single_step_after_each()
    {
        var stopAt = (Machine)await Create(new Machine { Name = "stopat.lab", Stage = "one", Params = new() { ["task-stop-at"] = Json("""["middle"]""") } });
        await FinishAsync((await NextAsync(stopAt.Uuid)).Job!);
        var stopped = await NextAsync(stopAt.Uuid);
        Assert.Equal(409, stopped.Code);
        Assert.False(Machine(stopAt.Key).Runnable);

        var stepping = (Machine)await Create(new Machine { Name = "step.lab", Stage = "one", Params = new() { ["task-single-step"] = Json("true") } });
        await FinishAsync((await NextAsync(stepping.Uuid)).Job!);
        Assert.False(Machine(stepping.Key).Runnable);
    }

    [Fact]
    public async Task Unknown_machines_get_422_and_non_runnable_ones_409()
    {
        Assert.Equal(422, (await NextAsync(Guid.NewGuid())).Code);
        var machine = (Machine)await Create(new Machine { Name = "idle.lab", Runnable = false, Stage = "one" });
        Assert.Equal(409, (await NextAsync(machine.Uuid)).Code);
        var empty = (Machine)await Create(new Machine { Name = "empty.lab" });
        Assert.Equal(204, (await NextAsync(empty.Uuid)).Code);
    }

    [Fact]
    public async Task Jobs_only_move_forward()
    {
        var machine = (Machine)await Create(new Machine { Name = "forward.lab", Stage = "one" });
        var job = (await NextAsync(machine.Uuid)).Job!;
        await FinishAsync(job);
        var back = await _store.UpdateAsync(ModelTypes.Jobs, job.Key, (copy, _) =>
        {
            ((Job)copy).State = JobStates.Running;
            return null;
        }, null, "agent");
        Assert.Equal(422, back.Code);
    }

    private static System.Text.Json.JsonElement Json(string text)
    {
        using var document = System.Text.Json.JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
