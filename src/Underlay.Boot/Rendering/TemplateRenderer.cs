using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Validation;
using Underlay.Templates;

namespace Underlay.Boot.Rendering;

/// <summary>
/// Renders DRP templates with DRP's render data (<c>.Machine</c>, <c>.Env</c>, <c>.Param</c>, ...; DRP-REFERENCE
/// §2.4) against the live store: every render reads the objects as they are now, so a changed param or bootenv
/// shows in the next render. Stateless apart from the store and safe to call concurrently.
/// <para>
/// <c>{{template "id" .}}</c> and <c>.CallTemplate "id" data</c> resolve at execution time: first the target's own
/// inline templates (by Name), then stored Template objects (by ID). A name nobody defines fails only if that
/// call executes, as in Go.
/// </para>
/// </summary>
public sealed class TemplateRenderer
{
    /// <summary>Bounds one render in wall-clock time; DRP content renders in microseconds to milliseconds.</summary>
    private static readonly TimeSpan RenderTimeout = TimeSpan.FromSeconds(10);

    private readonly TemplateEngine _engine;

    public TemplateRenderer(IObjectLookup lookup, ProvisionerAddresses addresses, string fileRoot, RenderTokenIssuer? tokens = null, TemplateEngine? engine = null)
    {
        Lookup = lookup;
        Addresses = addresses;
        FileRoot = Path.GetFullPath(fileRoot);
        Tokens = tokens;
        Params = new ParamResolver(lookup);
        _engine = engine ?? TemplateEngine.Shared;
    }

    public IObjectLookup Lookup { get; }

    public ParamResolver Params { get; }

    public ProvisionerAddresses Addresses { get; }

    /// <summary>The boot file root: <c>.Env.PathFor "disk"</c> and the local install repos look here.</summary>
    public string FileRoot { get; }

    public RenderTokenIssuer? Tokens { get; }

    internal TemplateEngine Engine => _engine;

    /// <summary>Renders the contents of <paramref name="template"/> (its stored Template by ID, or its inline Contents).</summary>
    public RenderOutcome Render(RenderContext context, RenderTarget target, TemplateInfo template)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(template);
        var data = new RenderData(this, context, target);
        ParsedTemplate parsed;
        try
        {
            if (!string.IsNullOrEmpty(template.ID))
            {
                if (Lookup.Get<Template>(template.ID) is not { } stored)
                {
                    return RenderOutcome.Failure($"template '{template.ID}' does not exist");
                }

                parsed = _engine.Parse(stored.ID, stored.Contents.OrEmpty());
            }
            else if (!string.IsNullOrEmpty(template.Contents))
            {
                parsed = _engine.Parse(template.Name.OrEmpty(), template.Contents);
            }
            else if (!string.IsNullOrEmpty(template.Link))
            {
                return RenderOutcome.Failure($"template '{template.Name}' is a link, not contents");
            }
            else
            {
                parsed = _engine.Parse(template.Name.OrEmpty(), "");
            }
        }
        catch (TemplateException e)
        {
            return RenderOutcome.Failure(e.Message);
        }

        return data.Execute(parsed, MissingKeyMode.Default);
    }

    /// <summary>
    /// Renders <paramref name="template"/>'s Path (missingkey=error, as DRP compiles path templates) and cleans it:
    /// rooted for boot files, as written for task files. Empty when the template has no Path.
    /// </summary>
    public RenderOutcome RenderPath(RenderContext context, RenderTarget target, TemplateInfo template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (string.IsNullOrEmpty(template.Path))
        {
            return RenderOutcome.Success("");
        }

        var outcome = RenderText(context, target, template.Name + ".Path", template.Path, strict: true);
        if (!outcome.IsSuccess)
        {
            return outcome;
        }

        return RenderOutcome.Success(target.IsTask ? BootEnvLayout.Clean(outcome.Text!) : BootEnvLayout.CleanRooted(outcome.Text!));
    }

    /// <summary>Renders <paramref name="template"/>'s Link: the file (in the boot file space) served in its place.</summary>
    public RenderOutcome RenderLink(RenderContext context, RenderTarget target, TemplateInfo template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var outcome = RenderText(context, target, template.Name + ".Link", template.Link.OrEmpty(), strict: true);
        return outcome.IsSuccess ? RenderOutcome.Success(BootEnvLayout.CleanRooted(outcome.Text!)) : outcome;
    }

    /// <summary>Renders free text with the render data (a bootenv's BootParams, a DHCP option value, a param).</summary>
    /// <param name="strict">missingkey=error, as DRP uses for paths, BootParams and ParamExpand.</param>
    public RenderOutcome RenderText(RenderContext context, RenderTarget target, string name, string text, bool strict = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(text);
        ParsedTemplate parsed;
        try
        {
            parsed = _engine.Parse(name, text);
        }
        catch (TemplateException e)
        {
            return RenderOutcome.Failure(e.Message);
        }

        return new RenderData(this, context, target).Execute(parsed, strict ? MissingKeyMode.Error : MissingKeyMode.Default);
    }

    /// <summary>
    /// The target's required params that do not resolve for the context's machine, as DRP words it:
    /// <c>Missing required parameter NAME for PREFIX KEY</c>.
    /// </summary>
    public IReadOnlyList<string> MissingRequiredParams(RenderContext context, RenderTarget target)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(target);
        List<string>? missing = null;
        foreach (var name in target.RequiredParams)
        {
            if (!Params.TryGet(context.Machine, name, out _))
            {
                (missing ??= []).Add($"Missing required parameter {name} for {target.Prefix} {target.Key}");
            }
        }

        return missing ?? (IReadOnlyList<string>)[];
    }

    /// <summary>
    /// Renders every template of <paramref name="target"/> (path, then contents or link) — what a job's actions are
    /// made of. Missing required params fail the whole set before anything renders; otherwise each failing
    /// template adds its error and the rest still render.
    /// </summary>
    public RenderedTemplates RenderAll(RenderContext context, RenderTarget target)
    {
        var missing = MissingRequiredParams(context, target);
        if (missing.Count > 0)
        {
            return new RenderedTemplates([], missing);
        }

        var rendered = new List<RenderedTemplate>(target.Templates.Count);
        var errors = new List<string>();
        foreach (var template in target.Templates)
        {
            var path = RenderPath(context, target, template);
            if (!path.IsSuccess)
            {
                errors.Add($"{target.Prefix} {target.Key} template {template.Name}: path: {path.Error}");
                continue;
            }

            var scoped = context with { TemplatePath = path.Text! };
            if (template.Link.Length > 0 && template.ID.Length == 0 && template.Contents.Length == 0)
            {
                var link = RenderLink(scoped, target, template);
                if (link.IsSuccess)
                {
                    rendered.Add(new RenderedTemplate(template.Name, path.Text!, "", link.Text!, template.Meta));
                }
                else
                {
                    errors.Add($"{target.Prefix} {target.Key} template {template.Name}: link: {link.Error}");
                }

                continue;
            }

            var contents = Render(scoped, target, template);
            if (contents.IsSuccess)
            {
                rendered.Add(new RenderedTemplate(template.Name, path.Text!, contents.Text!, "", template.Meta));
            }
            else
            {
                errors.Add($"{target.Prefix} {target.Key} template {template.Name}: {contents.Error}");
            }
        }

        return new RenderedTemplates(rendered, errors);
    }

    /// <summary>Render options for one execution: Go's missingkey mode, DRP's template lookup, and our limits.</summary>
    internal static RenderOptions OptionsFor(Func<string, ParsedTemplate?> resolve, MissingKeyMode missingKey, CancellationToken cancellationToken) =>
        RenderOptions.Default with
        {
            MissingKey = missingKey,
            ResolveTemplate = resolve,
            Timeout = RenderTimeout,
            CancellationToken = cancellationToken,
        };
}
