using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Workflow;

/// <summary>
/// What a job's state change does to its machine, in the same transaction as the job write:
/// <list type="bullet">
/// <item>a job may only move forward: created → running → finished | failed | incomplete, and incomplete → running;</item>
/// <item>failed: retried while <c>task-retry</c> allows (the machine stays Runnable), else its <c>task-error-handlers</c>
/// run before the task is tried again, else the machine stops (Runnable = false) until an operator acts;</item>
/// <item>an exit of stop, poweroff or reboot makes the machine not Runnable (the agent acts on it; a fresh agent
/// start makes it Runnable again); <c>task-single-step</c> stops after every task.</item>
/// </list>
/// </summary>
public sealed class JobRules : IWriteHook
{
    public void BeforeWrite(WriteTransaction transaction, WriteOperation operation)
    {
        if (operation.Type != ModelTypes.Jobs || operation.Proposed is not Job job || operation.Original is not Job original)
        {
            return;
        }

        if (job.State == original.State)
        {
            return;
        }

        if (!Allowed(original.State, job.State))
        {
            operation.Refuse(422, $"State: a job cannot go from '{original.State}' to '{job.State}'");
            return;
        }

        var now = transaction.Now;
        if (job.State == JobStates.Running)
        {
            job.StartTime = now;
            return;
        }

        job.EndTime = now;
        if (job.State == JobStates.Failed)
        {
            job.ExitState = "failed";
        }
        else if (job.ExitState.Length == 0)
        {
            job.ExitState = "complete";
        }

        if (transaction.Get(ModelTypes.Machines, job.Machine.ToString()) is not Machine stored || stored.CurrentJob != job.Uuid.ToString())
        {
            // An old job finishing late changes nothing about the machine.
            return;
        }

        var result = transaction.Update(ModelTypes.Machines, stored.Key, (copy, tx) =>
        {
            ApplyOutcome(tx, (Machine)copy, job);
            return null;
        });
        if (!result.IsSuccess)
        {
            operation.Refuse(result.Code, [.. result.Messages]);
        }
    }

    private static bool Allowed(string from, string to) => (from, to) switch
    {
        (JobStates.Created, JobStates.Running) => true,
        (JobStates.Created, JobStates.Failed) => true,
        (JobStates.Running, JobStates.Finished or JobStates.Failed or JobStates.Incomplete) => true,
        (JobStates.Incomplete, JobStates.Running or JobStates.Failed) => true,
        _ => false,
    };

    private static void ApplyOutcome(WriteTransaction transaction, Machine machine, Job job)
    {
        transaction.Items[MachineRules.EngineWrite] = true;
        switch (job.State)
        {
            case JobStates.Failed:
                machine.TaskErrorStacks ??= [];
                if (machine.RetryTaskAttempt < TaskControl.Retries(transaction, machine, job.Task))
                {
                    machine.RetryTaskAttempt++;
                    return;
                }

                machine.RetryTaskAttempt = 0;
                var handlers = TaskControl.Handlers(transaction, machine, job.Task);
                var handling = machine.TaskErrorStacks.Count > 0 && machine.TaskErrorStacks[^1].Contains(job.Task);
                if (handlers.Count > 0 && !handling && machine.CurrentTask >= 0)
                {
                    // Run the handlers next, then the failed task once more; remember we are handling it so a second
                    // failure stops the machine instead of looping.
                    machine.Tasks.InsertRange(machine.CurrentTask + 1, [.. handlers, job.Task]);
                    machine.TaskErrorStacks.Add([job.Task]);
                    machine.CurrentJob = "";
                    return;
                }

                machine.Runnable = false;
                return;
            case JobStates.Finished:
                machine.RetryTaskAttempt = 0;
                if (machine.TaskErrorStacks.Count > 0 && machine.TaskErrorStacks[^1].Contains(job.Task))
                {
                    machine.TaskErrorStacks.RemoveAt(machine.TaskErrorStacks.Count - 1);
                }

                if (job.ExitState is "stop" or "poweroff" or "reboot" || TaskControl.SingleStepping(transaction, machine))
                {
                    machine.Runnable = false;
                }

                return;
            case JobStates.Incomplete:
                if (job.ExitState is "stop" or "poweroff" or "reboot")
                {
                    machine.Runnable = false;
                }

                return;
        }
    }
}
