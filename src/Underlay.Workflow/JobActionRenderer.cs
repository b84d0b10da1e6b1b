using Underlay.Boot.Rendering;
using Underlay.Core.Models;

namespace Underlay.Workflow;

/// <summary>
/// Renders a job's task with the same render data boot files use (the machine, its params, <c>.Task</c>,
/// <c>.Job</c>, tokens...). A template's <c>Meta.OS</c> (comma-separated, e.g. <c>linux,darwin</c>) limits it to those
/// operating systems; templates without it apply everywhere.
/// </summary>
public sealed class JobActionRenderer : IJobActionRenderer
{
    private readonly Func<TemplateRenderer> _renderer;

    /// <param name="renderer">Resolved on first use: the composition root builds the renderer after the API.</param>
    public JobActionRenderer(Func<TemplateRenderer> renderer) => _renderer = renderer;

    public (IReadOnlyList<JobAction>? Actions, string? Error) Render(Machine machine, Job job, TaskModel task, string os)
    {
        var rendered = _renderer().RenderAll(new RenderContext { Machine = machine, Task = task, Job = job }, RenderTarget.For(task));
        if (rendered.Errors.Count > 0)
        {
            return (null, string.Join("; ", rendered.Errors));
        }

        var actions = new List<JobAction>(rendered.Templates.Count);
        foreach (var template in rendered.Templates)
        {
            if (!AppliesTo(template.Meta, os))
            {
                continue;
            }

            actions.Add(new JobAction
            {
                Name = template.Name,
                Path = template.Path,
                Content = template.Contents,
                Meta = new Dictionary<string, string>(template.Meta, StringComparer.Ordinal),
            });
        }

        return (actions, null);
    }

    private static bool AppliesTo(IReadOnlyDictionary<string, string> meta, string os) =>
        !meta.TryGetValue("OS", out var list) || list.Length == 0 ||
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(os, StringComparer.OrdinalIgnoreCase);
}
