using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store;

namespace Underlay.Workflow;

/// <summary>
/// The machine state rules that run inside every machine write:
/// <list type="bullet">
/// <item>a new machine with no workflow, stage or bootenv takes the prefs <c>defaultWorkflow</c>, <c>defaultStage</c>, <c>defaultBootEnv</c>;</item>
/// <item>setting a Workflow expands its task list (CurrentTask = -1); while it runs, Stage and BootEnv change only
/// as the engine rolls over <c>stage:</c>/<c>bootenv:</c> entries;</item>
/// <item>setting a Stage without a workflow replaces the task list with the stage's tasks and applies its BootEnv;</item>
/// <item>any BootEnv change makes the machine not Runnable, so its agent reboots into the new environment.</item>
/// </list>
/// </summary>
public sealed class MachineRules : IWriteHook
{
    /// <summary>Set in <see cref="WriteTransaction.Items"/> by the engine when it moves Stage/BootEnv itself.</summary>
    public const string EngineWrite = "underlay.workflow.engine";

    public void BeforeWrite(WriteTransaction transaction, WriteOperation operation)
    {
        if (operation.Type != ModelTypes.Machines || operation.Proposed is not Machine machine)
        {
            return;
        }

        if (operation.Original is not Machine original)
        {
            OnCreate(transaction, operation, machine);
            return;
        }

        var engine = transaction.Items.ContainsKey(EngineWrite);
        if (machine.Workflow != original.Workflow)
        {
            if (machine.Workflow.Length == 0)
            {
                machine.Tasks = [];
                machine.CurrentTask = -1;
                machine.WorkflowComplete = false;
            }
            else if (!ApplyWorkflow(transaction, operation, machine))
            {
                return;
            }
        }
        else if (machine.Workflow.Length > 0 && !engine)
        {
            if (machine.Stage != original.Stage)
            {
                operation.Refuse(422, $"Stage: managed by workflow '{machine.Workflow}' (change the workflow, or clear it first)");
                return;
            }

            if (machine.BootEnv != original.BootEnv)
            {
                operation.Refuse(422, $"BootEnv: managed by workflow '{machine.Workflow}' (change the workflow, or clear it first)");
                return;
            }
        }
        else if (machine.Workflow.Length == 0 && machine.Stage != original.Stage && machine.Stage.Length > 0 && !engine)
        {
            if (!ApplyStage(transaction, operation, machine))
            {
                return;
            }
        }

        if (machine.BootEnv != original.BootEnv)
        {
            // DRP backend/machines.go: a bootenv change unregisters the old renders and stops the runner.
            machine.Runnable = false;
        }
    }

    private static void OnCreate(WriteTransaction transaction, WriteOperation operation, Machine machine)
    {
        if (machine.Workflow.Length == 0 && machine.Stage.Length == 0 && Pref(transaction, "defaultWorkflow") is { Length: > 0 } workflow && transaction.Get<Underlay.Core.Models.Workflow>(workflow) is not null)
        {
            machine.Workflow = workflow;
        }

        if (machine.BootEnv.Length == 0 && Pref(transaction, "defaultBootEnv") is { Length: > 0 } bootEnv && transaction.Get<BootEnv>(bootEnv) is not null)
        {
            machine.BootEnv = bootEnv;
        }

        if (machine.Workflow.Length > 0)
        {
            ApplyWorkflow(transaction, operation, machine);
            return;
        }

        if (machine.Stage.Length == 0 && Pref(transaction, "defaultStage") is { Length: > 0 } stage && transaction.Get<Stage>(stage) is not null)
        {
            machine.Stage = stage;
        }

        if (machine.Stage.Length > 0 && machine.Tasks.Count == 0)
        {
            ApplyStage(transaction, operation, machine);
        }
    }

    private static bool ApplyWorkflow(WriteTransaction transaction, WriteOperation operation, Machine machine)
    {
        if (transaction.Get<Underlay.Core.Models.Workflow>(machine.Workflow) is not { } workflow)
        {
            operation.Refuse(422, $"Workflow: workflow '{machine.Workflow}' does not exist");
            return false;
        }

        if (TaskLists.ForWorkflow(workflow, transaction, out var error) is not { } tasks)
        {
            operation.Refuse(422, error!);
            return false;
        }

        machine.Tasks = tasks;
        machine.CurrentTask = -1;
        machine.CurrentJob = "";
        machine.WorkflowComplete = false;
        machine.RetryTaskAttempt = 0;
        return true;
    }

    private static bool ApplyStage(WriteTransaction transaction, WriteOperation operation, Machine machine)
    {
        if (transaction.Get<Stage>(machine.Stage) is not { } stage)
        {
            operation.Refuse(422, $"Stage: stage '{machine.Stage}' does not exist");
            return false;
        }

        if (TaskLists.ForStage(stage, transaction, out var error) is not { } tasks)
        {
            operation.Refuse(422, error!);
            return false;
        }

        machine.Tasks = tasks;
        machine.CurrentTask = -1;
        machine.CurrentJob = "";
        machine.RetryTaskAttempt = 0;
        if (stage.BootEnv.Length > 0)
        {
            machine.BootEnv = stage.BootEnv;
        }

        return true;
    }

    internal static string? Pref(IObjectLookup lookup, string name) => lookup.Get<Pref>(name)?.Val;
}
