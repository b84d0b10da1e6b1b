using Underlay.Core.Models;

namespace Underlay.Workflow;

/// <summary>
/// Renders a job's task templates for its machine (<c>GET /jobs/&lt;id&gt;/actions</c>). Templates with a <c>Path</c>
/// become files to write, the rest scripts to run; templates whose <c>Meta.OS</c> names other operating systems
/// are left out. Implemented on top of the boot render data (the same <c>.Machine</c>, <c>.Param</c>, ... that boot
/// files see).
/// </summary>
public interface IJobActionRenderer
{
    /// <summary>The actions, or an error message naming the template and the problem (a missing required param, ...).</summary>
    (IReadOnlyList<JobAction>? Actions, string? Error) Render(Machine machine, Job job, TaskModel task, string os);
}
