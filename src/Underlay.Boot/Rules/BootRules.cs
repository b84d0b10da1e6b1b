using Underlay.Boot.Archives;
using Underlay.Boot.Files;
using Underlay.Boot.Rendering;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Validation;
using Underlay.Templates;

namespace Underlay.Boot.Rules;

/// <summary>
/// What Boot knows that Core's validation does not:
/// <list type="bullet">
/// <item>templates must parse (Template contents; TemplateInfo Contents, Path and Link of bootenvs, stages and tasks;
/// BootParams) — a broken template is rejected at write time, not discovered at boot time;</item>
/// <item>a boot environment is available only when its kernel and initrds are in the file root for at least one
/// architecture, with the reason (ISO missing, being exploded, failing its sha256) when not;</item>
/// <item>a machine cannot use an <c>OnlyUnknown</c> environment, and is unavailable while its environment is, or
/// while the environment's required params do not resolve for it;</item>
/// <item>the <c>unknownBootEnv</c> pref must name an <c>OnlyUnknown</c> environment, <c>defaultBootEnv</c> one that is not.</item>
/// </list>
/// </summary>
public sealed class BootRules(FileRoot root, BootArchives? archives = null, TemplateEngine? engine = null) : IModelRule
{
    private readonly TemplateEngine _engine = engine ?? TemplateEngine.Shared;

    public void Validate(ModelBase model, ValidationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        switch (model)
        {
            case Template template:
                CheckParses(context, "Contents", template.ID.OrEmpty(), template.Contents.OrEmpty());
                break;
            case BootEnv env:
                ValidateBootEnv(env, context);
                break;
            case Stage stage:
                CheckTemplateInfos(context, stage.Templates.OrEmpty());
                break;
            case TaskModel task:
                CheckTemplateInfos(context, task.Templates.OrEmpty());
                break;
            case Machine machine:
                ValidateMachine(machine, context);
                break;
            case Pref pref:
                ValidatePref(pref, context);
                break;
        }
    }

    private void ValidateBootEnv(BootEnv env, ValidationContext context)
    {
        CheckTemplateInfos(context, env.Templates.OrEmpty());
        CheckParses(context, "BootParams", env.Name + ".BootParams", env.BootParams.OrEmpty());
        // Architecture keys are not checked against a list: DRP's own packs use board names such as "rpi4".
        foreach (var (arch, info) in (env.OS?.SupportedArchitectures).OrEmpty())
        {
            CheckParses(context, $"OS/SupportedArchitectures/{arch}/BootParams", $"{env.Name}.{arch}.BootParams", info?.BootParams.OrEmpty() ?? "");
        }

        foreach (var name in env.RequiredParams.OrEmpty().Concat(env.OptionalParams.OrEmpty()))
        {
            if (Names.CheckName(name, isParam: true) is { } problem)
            {
                context.Invalid("RequiredParams", problem);
            }
        }

        CheckFiles(env, context);
    }

    /// <summary>
    /// Available when no architecture needs a kernel (e.g. <c>local</c>) or when at least one architecture has its
    /// kernel and initrds in the file root. Otherwise every architecture's problem is listed.
    /// </summary>
    private void CheckFiles(BootEnv env, ValidationContext context)
    {
        var arches = BootEnvLayout.Arches(env).Where(a => a.Kernel.Length > 0).ToList();
        if (arches.Count == 0)
        {
            return;
        }

        var problems = new List<string>();
        foreach (var arch in arches)
        {
            if (Problem(env, arch) is { } problem)
            {
                problems.Add(problem);
            }
        }

        if (problems.Count == arches.Count)
        {
            foreach (var problem in problems)
            {
                context.Unavailable("Kernel", problem);
            }
        }
    }

    /// <summary>Why an architecture of <paramref name="env"/> cannot boot, or null if its files are there.</summary>
    public string? Problem(BootEnv env, ArchBootFiles arch)
    {
        var missing = new List<string>();
        foreach (var file in arch.Initrds.Prepend(arch.Kernel))
        {
            var path = BootEnvLayout.PathFor(env, file, arch.Arch);
            if (!root.Find(path.TrimStart('/')).Exists)
            {
                missing.Add(path);
            }
        }

        if (missing.Count == 0)
        {
            return null;
        }

        var what = $"{arch.Arch}: {string.Join(", ", missing)} missing";
        if (arch.IsoFile.Length == 0)
        {
            return what;
        }

        if (archives is null || !archives.IsoPresent(arch.IsoFile))
        {
            return $"{what}; ISO {arch.IsoFile} is not in isos/ (upload it{(arch.IsoUrl.Length > 0 ? $"; it is published at {arch.IsoUrl}" : "")})";
        }

        if (archives.IsExploding(arch.IsoFile))
        {
            return $"{what}; ISO {arch.IsoFile} is being exploded";
        }

        if (arch.IsoSha256.Length > 0 && archives.KnownSha256(arch.IsoFile) is { } actual &&
            !string.Equals(actual, arch.IsoSha256, StringComparison.OrdinalIgnoreCase))
        {
            return $"{what}; ISO {arch.IsoFile} has sha256 {actual} but the bootenv expects {arch.IsoSha256.ToLowerInvariant()}";
        }

        if (archives.LastFailure(arch.IsoFile) is { } failure)
        {
            return $"{what}; {failure}";
        }

        return $"{what}; ISO {arch.IsoFile} is in isos/ and will be exploded";
    }

    private static void ValidateMachine(Machine machine, ValidationContext context)
    {
        if (context.Lookup.Get<BootEnv>(machine.BootEnv) is not { } env)
        {
            return;
        }

        if (env.OnlyUnknown)
        {
            context.Invalid("BootEnv", $"bootenv '{env.Name}' is only for unknown machines (OnlyUnknown) and cannot be assigned to a machine");
            return;
        }

        if (!env.Available)
        {
            context.Unavailable("BootEnv", $"bootenv '{env.Name}' is not available: {string.Join("; ", env.Errors.OrEmpty())}");
        }

        if (env.RequiredParams is { Count: > 0 } required)
        {
            var resolver = new ParamResolver(context.Lookup);
            foreach (var name in required)
            {
                if (!resolver.TryGet(machine, name, out _))
                {
                    context.Unavailable("BootEnv", $"Missing required parameter {name} for bootenvs {env.Name}");
                }
            }
        }
    }

    private static void ValidatePref(Pref pref, ValidationContext context)
    {
        if (pref.Val.Length == 0 || pref.Name is not ("unknownBootEnv" or "defaultBootEnv"))
        {
            return;
        }

        if (context.Lookup.Get<BootEnv>(pref.Val) is not { } env)
        {
            context.Invalid("Val", $"{pref.Name}: bootenv '{pref.Val}' does not exist");
        }
        else if (pref.Name == "unknownBootEnv" && !env.OnlyUnknown)
        {
            context.Invalid("Val", $"unknownBootEnv: bootenv '{env.Name}' is not OnlyUnknown (only those render without a machine)");
        }
        else if (pref.Name == "defaultBootEnv" && env.OnlyUnknown)
        {
            context.Invalid("Val", $"defaultBootEnv: bootenv '{env.Name}' is OnlyUnknown and cannot be given to machines");
        }
    }

    private void CheckTemplateInfos(ValidationContext context, List<TemplateInfo> templates)
    {
        for (var i = 0; i < templates.Count; i++)
        {
            var template = templates[i];
            if (template is null)
            {
                continue;
            }

            if (!string.IsNullOrEmpty(template.ID) && !string.IsNullOrEmpty(template.Contents))
            {
                context.Invalid($"Templates/{i}", "has both an ID and Contents");
            }

            CheckParses(context, $"Templates/{i}/Contents", template.Name.OrEmpty(), template.Contents.OrEmpty());
            CheckParses(context, $"Templates/{i}/Path", template.Name + ".Path", template.Path.OrEmpty());
            CheckParses(context, $"Templates/{i}/Link", template.Name + ".Link", template.Link.OrEmpty());
        }
    }

    private void CheckParses(ValidationContext context, string field, string name, string text)
    {
        if (text.Length == 0 || !text.Contains("{{", StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            _engine.Parse(name.Length > 0 ? name : field, text);
        }
        catch (TemplateException e)
        {
            context.Invalid(field, e.Message);
        }
    }
}
