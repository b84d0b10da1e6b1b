using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Workflow;

/// <summary>The answer to "what should this machine run next?" with DRP's status codes.</summary>
public readonly record struct NextJob(int Code, Job? Job, string Message)
{
    /// <summary>201: a new job to run.</summary>
    public static NextJob Created(Job job) => new(201, job, "");

    /// <summary>202: the same, still incomplete job again.</summary>
    public static NextJob Again(Job job) => new(202, job, "");

    /// <summary>204: nothing to do now.</summary>
    public static NextJob Nothing(string why) => new(204, null, why);

    public static NextJob Refused(int code, string why) => new(code, null, why);

    /// <summary>409 after the engine stopped the machine itself (<c>task-stop-at</c>): that change must be committed.</summary>
    public static NextJob Stopped(string why) => new(409, null, why) { KeepWrites = true };

    /// <summary>The transaction's writes stand even though the answer is an error code.</summary>
    public bool KeepWrites { get; init; }

    /// <summary>Whether the transaction that asked should commit.</summary>
    public bool Commits => Code is 201 or 202 or 204 || KeepWrites;
}

/// <summary>
/// <c>POST /api/v3/jobs</c> (DRP <c>doc/arch/workflow.rst</c>), run inside one store transaction so two agents
/// (or a retried request) can never create two jobs for the same step:
/// <list type="number">
/// <item>unknown machine: 422; not Runnable or not Available: 409; context mismatch: 204;</item>
/// <item>the current job still created, running or incomplete: that job again, 202;</item>
/// <item>the next step is the task after the current one, or the same task again after a failure;</item>
/// <item>roll over <c>stage:</c>, <c>bootenv:</c> and <c>context:</c> entries, applying them; if the bootenv changed the machine
/// is no longer Runnable and a synthetic finished job tells the agent (201) — it reboots;</item>
/// <item>past the end: the workflow is complete, 204; a task in <c>task-stop-at</c>: stop before it, 409;</item>
/// <item>otherwise a new created job, 201.</item>
/// </list>
/// </summary>
public static class JobScheduler
{
    public static NextJob Next(WriteTransaction transaction, Guid machineId, string context)
    {
        if (transaction.Get(ModelTypes.Machines, machineId.ToString()) is not Machine stored)
        {
            return NextJob.Refused(422, $"Machine: machine '{machineId}' does not exist");
        }

        if (!stored.Runnable)
        {
            return NextJob.Refused(409, $"machine '{stored.Name}' is not runnable");
        }

        if (!stored.Available)
        {
            return NextJob.Refused(409, $"machine '{stored.Name}' is not available: {string.Join("; ", stored.Errors)}");
        }

        if (!string.Equals(stored.Context, context, StringComparison.Ordinal))
        {
            return NextJob.Nothing($"machine '{stored.Name}' runs in context '{stored.Context}', not '{context}'");
        }

        var current = Guid.TryParse(stored.CurrentJob, out var currentId) ? transaction.Get(ModelTypes.Jobs, currentId.ToString()) as Job : null;
        if (current is { State: JobStates.Created or JobStates.Running or JobStates.Incomplete })
        {
            return NextJob.Again(current);
        }

        var machine = (Machine)ModelTypes.Machines.Clone(stored);
        var index = current is { State: JobStates.Failed } ? machine.CurrentTask : machine.CurrentTask + 1;
        var rolled = false;
        var bootEnvBefore = machine.BootEnv;
        while (index >= 0 && index < machine.Tasks.Count && TaskLists.IsDirective(machine.Tasks[index]))
        {
            var entry = machine.Tasks[index];
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var value = entry[(colon + 1)..];
            switch (entry[..colon])
            {
                case "stage":
                    machine.Stage = value;
                    break;
                case "bootenv":
                    machine.BootEnv = value;
                    break;
                case "context":
                    machine.Context = value;
                    break;
            }

            machine.CurrentTask = index;
            index++;
            rolled = true;
        }

        if (index >= machine.Tasks.Count)
        {
            var finishing = machine.Workflow.Length > 0 && !machine.WorkflowComplete;
            if (finishing)
            {
                machine.WorkflowComplete = true;
                machine.CurrentTask = machine.Tasks.Count;
            }

            if (rolled || finishing)
            {
                var saved = SaveMachine(transaction, machine);
                if (!saved.IsSuccess)
                {
                    return NextJob.Refused(saved.Code, string.Join("; ", saved.Messages));
                }
            }

            return bootEnvBefore != machine.BootEnv
                ? Synthetic(transaction, machine, "bootenv change")
                : NextJob.Nothing(machine.Workflow.Length > 0 ? $"workflow '{machine.Workflow}' is complete" : "no tasks left");
        }

        if (bootEnvBefore != machine.BootEnv)
        {
            // The machine must boot into its new environment before the next task runs there.
            return Synthetic(transaction, machine, "bootenv change");
        }

        var taskName = machine.Tasks[index];
        if (TaskControl.StopsAt(transaction, machine, taskName) && !(current is { State: JobStates.Failed } && current.Task == taskName))
        {
            machine.Runnable = false;
            machine.CurrentTask = index - 1;
            var stopped = SaveMachine(transaction, machine);
            return stopped.IsSuccess
                ? NextJob.Stopped($"stopped before task '{taskName}' (task-stop-at)")
                : NextJob.Refused(stopped.Code, string.Join("; ", stopped.Messages));
        }

        var job = new Job
        {
            Uuid = Guid.NewGuid(),
            Previous = current?.Uuid ?? Guid.Empty,
            Machine = machine.Uuid,
            Task = taskName,
            Stage = machine.Stage,
            Workflow = machine.Workflow,
            BootEnv = machine.BootEnv,
            Context = machine.Context,
            State = JobStates.Created,
            Current = true,
            CurrentIndex = index,
            NextIndex = index + 1,
        };
        var created = transaction.Create(job);
        if (!created.IsSuccess)
        {
            return NextJob.Refused(created.Code, string.Join("; ", created.Messages));
        }

        if (current is { Current: true } && transaction.Update(ModelTypes.Jobs, current.Key, (copy, _) =>
            {
                ((Job)copy).Current = false;
                return null;
            }) is { IsSuccess: false } demoted)
        {
            return NextJob.Refused(demoted.Code, string.Join("; ", demoted.Messages));
        }

        machine.CurrentTask = index;
        machine.CurrentJob = job.Uuid.ToString();
        var result = SaveMachine(transaction, machine);
        return result.IsSuccess ? NextJob.Created(job) : NextJob.Refused(result.Code, string.Join("; ", result.Messages));
    }

    /// <summary>Records what the engine did on its own (rolling into a new bootenv) as an already finished job.</summary>
    private static NextJob Synthetic(WriteTransaction transaction, Machine machine, string what)
    {
        var now = transaction.Now;
        var job = new Job
        {
            Uuid = Guid.NewGuid(),
            Machine = machine.Uuid,
            Task = TaskLists.BootEnvPrefix + machine.BootEnv,
            Stage = machine.Stage,
            Workflow = machine.Workflow,
            BootEnv = machine.BootEnv,
            Context = machine.Context,
            State = JobStates.Finished,
            ExitState = "reboot",
            StartTime = now,
            EndTime = now,
            CurrentIndex = machine.CurrentTask,
            NextIndex = machine.CurrentTask + 1,
            ResultErrors = [],
        };
        job.Meta["synthetic"] = what;
        var created = transaction.Create(job);
        if (!created.IsSuccess)
        {
            return NextJob.Refused(created.Code, string.Join("; ", created.Messages));
        }

        if (transaction.Get(ModelTypes.Machines, machine.Key) is Machine latest && latest.BootEnv != machine.BootEnv)
        {
            var saved = SaveMachine(transaction, machine);
            if (!saved.IsSuccess)
            {
                return NextJob.Refused(saved.Code, string.Join("; ", saved.Messages));
            }
        }

        return NextJob.Created(job);
    }

    private static WriteResult SaveMachine(WriteTransaction transaction, Machine machine)
    {
        transaction.Items[MachineRules.EngineWrite] = true;
        return transaction.Save(machine, null, WriteAction.Update);
    }
}
