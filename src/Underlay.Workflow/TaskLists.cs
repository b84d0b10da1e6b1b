using Underlay.Core.Models;
using Underlay.Core.Validation;

namespace Underlay.Workflow;

/// <summary>
/// Expands workflows and stages into a machine's task list (DRP <c>doc/arch/workflow.rst</c>): for each stage
/// <c>stage:&lt;s&gt;</c>, then <c>bootenv:&lt;b&gt;</c> when the stage sets one, then the stage's tasks, each preceded by
/// its prerequisites (depth first) unless they already ran earlier in the same stage.
/// </summary>
public static class TaskLists
{
    public const string StagePrefix = "stage:";
    public const string BootEnvPrefix = "bootenv:";
    public const string ContextPrefix = "context:";

    /// <summary>True for <c>stage:</c>, <c>bootenv:</c>, <c>context:</c>, <c>action:</c> and <c>chroot:</c> entries.</summary>
    public static bool IsDirective(string entry) => entry.Contains(':', StringComparison.Ordinal);

    /// <summary>The task list for a workflow; <paramref name="error"/> names the problem (unknown stage, prerequisite cycle).</summary>
    public static List<string>? ForWorkflow(Underlay.Core.Models.Workflow workflow, IObjectLookup lookup, out string? error)
    {
        var tasks = new List<string>();
        foreach (var stageName in workflow.Stages)
        {
            if (lookup.Get<Stage>(stageName) is not { } stage)
            {
                error = $"Workflow: stage '{stageName}' of workflow '{workflow.Name}' does not exist";
                return null;
            }

            tasks.Add(StagePrefix + stage.Name);
            if (stage.BootEnv.Length > 0)
            {
                tasks.Add(BootEnvPrefix + stage.BootEnv);
            }

            if (!AppendStageTasks(stage, lookup, tasks, out error))
            {
                return null;
            }
        }

        error = null;
        return tasks;
    }

    /// <summary>The task list for a stage set without a workflow: its tasks with prerequisites, no directives.</summary>
    public static List<string>? ForStage(Stage stage, IObjectLookup lookup, out string? error)
    {
        var tasks = new List<string>();
        return AppendStageTasks(stage, lookup, tasks, out error) ? tasks : null;
    }

    private static bool AppendStageTasks(Stage stage, IObjectLookup lookup, List<string> tasks, out string? error)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in stage.Tasks)
        {
            if (IsDirective(entry))
            {
                tasks.Add(entry);
                continue;
            }

            if (!AppendWithPrerequisites(entry, lookup, tasks, done, [], out error))
            {
                return false;
            }
        }

        error = null;
        return true;
    }

    private static bool AppendWithPrerequisites(string name, IObjectLookup lookup, List<string> tasks, HashSet<string> done, List<string> path, out string? error)
    {
        if (path.Contains(name, StringComparer.Ordinal))
        {
            error = $"Tasks: prerequisite cycle {string.Join(" -> ", path)} -> {name}";
            return false;
        }

        if (lookup.Get<TaskModel>(name) is not { } task)
        {
            error = $"Tasks: task '{name}' does not exist";
            return false;
        }

        path.Add(name);
        foreach (var prerequisite in task.Prerequisites)
        {
            if (done.Contains(prerequisite))
            {
                continue;
            }

            if (!AppendWithPrerequisites(prerequisite, lookup, tasks, done, path, out error))
            {
                return false;
            }
        }

        path.RemoveAt(path.Count - 1);
        tasks.Add(name);
        done.Add(name);
        error = null;
        return true;
    }
}
