using System.Net;
using Underlay.Core.Models;

namespace Underlay.Boot.Rendering;

/// <summary>
/// Who and what one render is for: DRP's render data is built from these (<c>backend/renderData.go</c>). Every
/// field is optional: a boot file for an unknown machine has no <see cref="Machine"/>; a task template rendered by
/// the workflow engine has a <see cref="Task"/>, usually a <see cref="Job"/>, and the machine's stage and bootenv.
/// </summary>
public sealed record RenderContext
{
    /// <summary>The machine rendered for; null renders for an unknown machine (<c>.Machine</c> is nil).</summary>
    public Machine? Machine { get; init; }

    /// <summary>The boot environment behind <c>.Env</c>; null means the machine's <c>BootEnv</c>.</summary>
    public BootEnv? BootEnv { get; init; }

    /// <summary>The stage behind <c>.Stage</c>; null means the machine's <c>Stage</c>.</summary>
    public Stage? Stage { get; init; }

    /// <summary>The task behind <c>.Task</c> (job rendering).</summary>
    public TaskModel? Task { get; init; }

    /// <summary>The job behind <c>.Job</c> (job rendering).</summary>
    public Job? Job { get; init; }

    /// <summary>The client the render goes to; picks <c>.ProvisionerAddress</c> when <see cref="LocalAddress"/> is unknown.</summary>
    public IPAddress? RemoteAddress { get; init; }

    /// <summary>The server address the request arrived on: the address this client can reach (DRP's per-connection cache).</summary>
    public IPAddress? LocalAddress { get; init; }

    /// <summary>The MAC that <c>.Machine.MacAddr</c> formats; empty means the machine's first hardware address.</summary>
    public string MacAddress { get; init; } = "";

    /// <summary>The rendered path of the file being produced, when known. DRP prepends <c>initrd=&lt;name&gt;</c> to
    /// <c>.BootParams</c> in <c>.ipxe</c> files, which UEFI iPXE needs to hand the initrd to the kernel.</summary>
    public string TemplatePath { get; init; } = "";

    /// <summary>Cancels the render.</summary>
    public CancellationToken CancellationToken { get; init; }
}

/// <summary>
/// The object whose templates are rendered: a boot environment, a stage or a task. Its inline templates are
/// reachable from <c>{{template "name" .}}</c> and <c>.CallTemplate</c>, and its required params must resolve.
/// </summary>
public sealed record RenderTarget(string Prefix, string Key, IReadOnlyList<TemplateInfo> Templates, IReadOnlyList<string> RequiredParams)
{
    public static RenderTarget For(BootEnv env) => new("bootenvs", env.Name, Clean(env.Templates), env.RequiredParams.OrEmpty());

    public static RenderTarget For(Stage stage) => new("stages", stage.Name, Clean(stage.Templates), stage.RequiredParams.OrEmpty());

    public static RenderTarget For(TaskModel task) => new("tasks", task.Name, Clean(task.Templates), task.RequiredParams.OrEmpty());

    /// <summary>A free-standing text (a param value, a DHCP option): no templates of its own, nothing required.</summary>
    public static RenderTarget None { get; } = new("", "", [], []);

    /// <summary>Paths of task templates are files on the machine and keep their form; boot files are rooted.</summary>
    public bool IsTask => Prefix == "tasks";

    /// <summary>TemplateInfos with nulls (JSON null fields in content) made empty; the stored objects are not touched.</summary>
    private static List<TemplateInfo> Clean(List<TemplateInfo>? templates)
    {
        var result = new List<TemplateInfo>(templates?.Count ?? 0);
        foreach (var template in templates.OrEmpty())
        {
            if (template is null)
            {
                continue;
            }

            result.Add(template.Name is null || template.Path is null || template.ID is null || template.Contents is null || template.Link is null || template.Meta is null
                ? new TemplateInfo
                {
                    Name = template.Name.OrEmpty(),
                    Path = template.Path.OrEmpty(),
                    ID = template.ID.OrEmpty(),
                    Contents = template.Contents.OrEmpty(),
                    Link = template.Link.OrEmpty(),
                    Meta = template.Meta.OrEmpty(),
                }
                : template);
        }

        return result;
    }
}

/// <summary>The result of one render: the text, or the error that stopped it (Go's message for template errors).</summary>
public readonly record struct RenderOutcome(string? Text, string? Error)
{
    public bool IsSuccess => Error is null;

    public static RenderOutcome Success(string text) => new(text, null);

    public static RenderOutcome Failure(string error) => new(null, error);
}

/// <summary>One rendered template of a target: what the workflow engine turns into a job action.</summary>
/// <param name="Name">The TemplateInfo's name.</param>
/// <param name="Path">The rendered path: cleaned and relative-or-absolute as written for tasks; rooted for boot files.
/// Empty when the template has no Path (a task script).</param>
/// <param name="Contents">The rendered contents; for a Link template, empty (see <paramref name="Link"/>).</param>
/// <param name="Link">The rendered Link target, for templates that point at another file instead of having contents.</param>
/// <param name="Meta">The TemplateInfo's Meta (e.g. <c>OS</c> filters job actions).</param>
public sealed record RenderedTemplate(string Name, string Path, string Contents, string Link, IReadOnlyDictionary<string, string> Meta);

/// <summary>Every template of a target, or the errors that stopped some of them.</summary>
public sealed record RenderedTemplates(IReadOnlyList<RenderedTemplate> Templates, IReadOnlyList<string> Errors)
{
    public bool IsSuccess => Errors.Count == 0;
}
