using System.Globalization;
using System.Net;
using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Validation;
using Underlay.Templates;

namespace Underlay.Boot.Rendering;

/// <summary>
/// The root <c>.</c> of a render: DRP's <c>RenderData</c> (<c>backend/renderData.go</c>; member list in
/// DRP-CONTENT-CENSUS.md). One instance per render, used by one thread; nested renders (BootParams, ParamExpand,
/// CallTemplate) run on the same instance so they see the same machine, environment and address.
/// </summary>
internal sealed class RenderData : ITemplateObject
{
    /// <summary>How deep BootParams/ParamExpand/CallTemplate may nest: a param that expands itself must fail, not hang.</summary>
    private const int MaxNesting = 16;

    /// <summary>DRP's infinite token: three years (<c>GenerateInfiniteToken</c>).</summary>
    private static readonly TimeSpan InfiniteTokenLifetime = TimeSpan.FromDays(3 * 365);

    private readonly TemplateRenderer _renderer;
    private readonly RenderContext _context;
    private readonly RenderTarget _target;
    private readonly Dictionary<string, ParsedTemplate?> _resolved = new(StringComparer.Ordinal);
    private readonly Func<string, ParsedTemplate?> _resolve;
    private int _nesting;
    private IPAddress? _address;
    private BootEnv? _env;
    private bool _envLooked;
    private Stage? _stage;
    private bool _stageLooked;
    private MachineView? _machineView;
    private EnvView? _envView;
    private ModelView? _stageView;
    private ModelView? _taskView;
    private ModelView? _jobView;

    public RenderData(TemplateRenderer renderer, RenderContext context, RenderTarget target)
    {
        _renderer = renderer;
        _context = context;
        _target = target;
        _resolve = Resolve;
    }

    public TemplateRenderer Renderer => _renderer;

    public RenderContext Context => _context;

    public Machine? Machine => _context.Machine;

    /// <summary>The architecture files are chosen for: the machine's, or amd64 for unknown machines.</summary>
    public string Arch => Architectures.Normalize(_context.Machine?.Arch);

    public BootEnv? Env
    {
        get
        {
            if (!_envLooked)
            {
                _env = _context.BootEnv ?? (_context.Machine is { BootEnv.Length: > 0 } m ? _renderer.Lookup.Get<BootEnv>(m.BootEnv) : null);
                _envLooked = true;
            }

            return _env;
        }
    }

    public Stage? Stage
    {
        get
        {
            if (!_stageLooked)
            {
                _stage = _context.Stage ?? (_context.Machine is { Stage.Length: > 0 } m ? _renderer.Lookup.Get<Stage>(m.Stage) : null);
                _stageLooked = true;
            }

            return _stage;
        }
    }

    public IPAddress ProvisionerAddress =>
        _address ??= _renderer.Addresses.For(_context.LocalAddress, _context.RemoteAddress, _context.Machine?.Address);

    public string ProvisionerUrl => _renderer.Addresses.FileUrl(ProvisionerAddress);

    /// <summary>
    /// Plain fields only: the engine does not catch exceptions from field lookups, so everything that can fail
    /// (renders, tokens, repos) is a method, which the engine reports as "error calling NAME: ..." like Go.
    /// </summary>
    public bool TryGetField(string name, out object? value)
    {
        switch (name)
        {
            case "Machine":
                value = _context.Machine is null ? null : _machineView ??= new MachineView(this, _context.Machine);
                return true;
            case "Env":
                value = Env is null ? null : _envView ??= new EnvView(this, Env);
                return true;
            case "Stage":
                value = Stage is null ? null : _stageView ??= new ModelView(Stage);
                return true;
            case "Task":
                value = _context.Task is null ? null : _taskView ??= new ModelView(_context.Task);
                return true;
            case "Job":
                value = _context.Job is null ? null : _jobView ??= new ModelView(_context.Job);
                return true;
            case "ProvisionerAddress":
                value = ProvisionerAddress.ToString();
                return true;
            case "ProvisionerURL":
                value = ProvisionerUrl;
                return true;
            case "SecureProvisionerURL":
                value = _renderer.Addresses.SecureFileUrl(ProvisionerAddress);
                return true;
            case "ApiURL":
                value = _renderer.Addresses.ApiUrl(ProvisionerAddress);
                return true;
            default:
                value = null;
                return false;
        }
    }

    public bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        switch (name)
        {
            case "BootParams":
                result = BootParams(Arch);
                return true;
            case "GenerateToken":
                result = GenerateToken();
                return true;
            case "GenerateInfiniteToken":
                result = GenerateInfiniteToken();
                return true;
            case "MachineRepos":
                result = Repos.MachineRepos(this);
                return true;
            case "InstallRepos":
                result = Repos.InstallRepos(this);
                return true;
            case "Param":
                result = Param(Args.String(args, 0, name));
                return true;
            case "ParamExists":
                result = ParamExists(Args.String(args, 0, name));
                return true;
            case "ParamAsJSON":
                // Go's json.Encoder ends the document with a newline; content relies on neither, DRP emits it.
                result = TemplateValues.ToJson(Param(Args.String(args, 0, name))) + "\n";
                return true;
            case "ParamAsYAML":
                result = ToYaml(Param(Args.String(args, 0, name)));
                return true;
            case "ParamExpand":
                result = Expand(Args.String(args, 0, name), Param(Args.String(args, 0, name)), deep: false);
                return true;
            case "ParamCompose" or "ComposeParam":
                result = Compose(Args.String(args, 0, name));
                return true;
            case "ParamComposeExpand":
                result = Expand(Args.String(args, 0, name), Compose(Args.String(args, 0, name)), deep: true);
                return true;
            case "BootParamsFor":
                result = BootParams(Args.String(args, 0, name));
                return true;
            case "GenerateProfileToken":
                result = GenerateProfileToken(Args.String(args, 0, name), args.Length > 1 ? Args.Integer(args, 1, name) : 0);
                return true;
            case "CallTemplate":
                result = CallTemplate(Args.String(args, 0, name), args.Length > 1 ? args[1] : null);
                return true;
            case "NetmaskToCIDR":
                result = NetmaskToCidr(Args.String(args, 0, name));
                return true;
            case "ParseUrl":
                result = ParseUrl(Args.String(args, 0, name), Args.String(args, 1, name));
                return true;
            case "Repos":
                var tags = new string[args.Length];
                for (var i = 0; i < args.Length; i++)
                {
                    tags[i] = Args.String(args, i, name);
                }

                result = Repos.ByTags(this, tags);
                return true;
            default:
                return TryGetField(name, out result);
        }
    }

    // ---- execution ----------------------------------------------------------------------------------------

    public RenderOutcome Execute(ParsedTemplate parsed, MissingKeyMode missingKey)
    {
        try
        {
            var options = TemplateRenderer.OptionsFor(_resolve, missingKey, _context.CancellationToken);
            return RenderOutcome.Success(_renderer.Engine.RenderToString(parsed, this, options));
        }
        catch (TemplateException e)
        {
            return RenderOutcome.Failure(e.Message);
        }
    }

    /// <summary>Renders nested text with this data; throws (becoming "error calling X: ...") on failure.</summary>
    public string RenderNested(string name, string text, object? data, MissingKeyMode missingKey)
    {
        if (++_nesting > MaxNesting)
        {
            _nesting--;
            throw new TemplateFunctionException($"templates nest more than {MaxNesting} deep (a param or BootParams that expands itself?)");
        }

        try
        {
            var parsed = _renderer.Engine.Parse(name, text);
            var options = TemplateRenderer.OptionsFor(_resolve, missingKey, _context.CancellationToken);
            return _renderer.Engine.RenderToString(parsed, data, options);
        }
        finally
        {
            _nesting--;
        }
    }

    /// <summary>{{template "x"}} and CallTemplate: the target's inline templates by Name, then stored templates by ID.</summary>
    private ParsedTemplate? Resolve(string id)
    {
        if (_resolved.TryGetValue(id, out var cached))
        {
            return cached;
        }

        ParsedTemplate? found = null;
        foreach (var info in _target.Templates)
        {
            if (info.Name == id && info.ID.Length == 0 && info.Contents.Length > 0)
            {
                found = _renderer.Engine.Parse(info.Name, info.Contents);
                break;
            }
        }

        if (found is null && _renderer.Lookup.Get<Template>(id) is { } stored)
        {
            found = _renderer.Engine.Parse(stored.ID, stored.Contents);
        }

        _resolved[id] = found;
        return found;
    }

    // ---- params ---------------------------------------------------------------------------------------------

    /// <summary>DRP <c>.Param</c>: the machine's value with full precedence; for unknown machines, the global profile
    /// and schema defaults. A param set nowhere is an error, as in DRP — content guards with ParamExists.</summary>
    public object? Param(string name)
    {
        if (_renderer.Params.TryGet(_context.Machine, name, out var value))
        {
            return TemplateValues.FromJson(value);
        }

        throw new TemplateFunctionException(_context.Machine is { } machine
            ? $"No such machine parameter {name}: it is set neither on machine {machine.Name}, its profiles, its stage nor the global profile, and has no default"
            : $"No such parameter {name}: it is set neither on the global profile nor has a default (rendering for an unknown machine)");
    }

    public bool ParamExists(string name) => _renderer.Params.TryGet(_context.Machine, name, out _);

    private object? Compose(string name) =>
        _renderer.Params.TryCompose(_context.Machine, name, out var value) ? TemplateValues.FromJson(value) : null;

    /// <summary>ParamExpand renders a string value as a template (missingkey=error); other values pass through.
    /// ParamComposeExpand also expands strings inside composed maps and lists.</summary>
    private object? Expand(string name, object? value, bool deep)
    {
        switch (value)
        {
            case string text:
                try
                {
                    return RenderNested($"param:{name}", text, this, MissingKeyMode.Error);
                }
                catch (TemplateException e)
                {
                    throw new TemplateFunctionException($"Error rendering parameter {name}: {e.Message}");
                }

            case Dictionary<string, object?> map when deep:
                var expandedMap = new Dictionary<string, object?>(map.Count, StringComparer.Ordinal);
                foreach (var (key, item) in map)
                {
                    expandedMap[key] = Expand(name, item, deep);
                }

                return expandedMap;
            case List<object?> list when deep:
                var expandedList = new List<object?>(list.Count);
                foreach (var item in list)
                {
                    expandedList.Add(Expand(name, item, deep));
                }

                return expandedList;
            default:
                return value;
        }
    }

    // ---- boot params, templates -------------------------------------------------------------------------------

    /// <summary>
    /// The environment's BootParams for <paramref name="arch"/>, rendered (missingkey=error). In <c>.ipxe</c> files
    /// DRP puts <c>initrd=&lt;first initrd's file name&gt;</c> first: UEFI iPXE hands the kernel only the initrds named
    /// on its command line.
    /// </summary>
    public string BootParams(string arch)
    {
        if (Env is not { } env)
        {
            throw new TemplateFunctionException("Missing bootenv");
        }

        var text = BootEnvLayout.BootParamsFor(env, arch);
        string rendered;
        try
        {
            rendered = text.Length == 0 ? "" : RenderNested($"{env.Name}.BootParams", text, this, MissingKeyMode.Error);
        }
        catch (TemplateException e)
        {
            throw new TemplateFunctionException($"bootenv {env.Name}: BootParams: {e.Message}");
        }

        if (_context.TemplatePath.EndsWith(".ipxe", StringComparison.Ordinal) && BootEnvLayout.InitrdsFor(env, arch) is { Count: > 0 } initrds)
        {
            rendered = $"initrd={Path.GetFileName(initrds[0])} {rendered}";
        }

        return rendered;
    }

    private string CallTemplate(string name, object? data)
    {
        if (Resolve(name) is null)
        {
            throw new TemplateFunctionException($"Missing template: {name}");
        }

        // The wrapper must not be named like the template it calls, or it would call itself.
        return RenderNested("CallTemplate " + name, $"{{{{template {TemplateValues.ToJson(name)} .}}}}", data, MissingKeyMode.Default);
    }

    // ---- tokens -----------------------------------------------------------------------------------------------

    private RenderTokenIssuer Issuer =>
        _renderer.Tokens ?? throw new TemplateFunctionException("this server issues no tokens to templates");

    /// <summary>DRP: a known machine's token lasts <c>knownTokenTimeout</c> (3600 s); an unknown machine's, which may
    /// only create and look up machines, <c>unknownTokenTimeout</c> (600 s).</summary>
    private string GenerateToken() => _context.Machine is { } machine
        ? Issuer(new RenderTokenRequest(RenderTokenKind.Machine, machine, PrefSeconds("knownTokenTimeout", 3600)))
        : Issuer(new RenderTokenRequest(RenderTokenKind.Discovery, null, PrefSeconds("unknownTokenTimeout", 600)));

    /// <summary>DRP gives unknown machines no infinite token: the result is empty.</summary>
    private string GenerateInfiniteToken() => _context.Machine is { } machine
        ? Issuer(new RenderTokenRequest(RenderTokenKind.Machine, machine, InfiniteTokenLifetime))
        : "";

    /// <summary>
    /// DRP's profile token for cluster coordination; its refusals are sentinel strings, not errors. A duration of 0
    /// or less means "as long as allowed" (DRP: 2e9 s; here capped at three years like the infinite token).
    /// </summary>
    private string GenerateProfileToken(string profile, long seconds)
    {
        if (_context.Machine is not { } machine)
        {
            return "UnknownMachineTokenNotAllowed";
        }

        if (!machine.Profiles.OrEmpty().Contains(profile, StringComparer.Ordinal))
        {
            return "InvalidTokenNotAllowedNotOnMachine";
        }

        if (!_renderer.Lookup.Exists<Profile>(profile))
        {
            return "InvalidTokenNotAllowedNoProfile";
        }

        var lifetime = seconds <= 0 || seconds > InfiniteTokenLifetime.TotalSeconds ? InfiniteTokenLifetime : TimeSpan.FromSeconds(seconds);
        return Issuer(new RenderTokenRequest(RenderTokenKind.Profile, machine, lifetime, profile));
    }

    private TimeSpan PrefSeconds(string name, int fallback) =>
        TimeSpan.FromSeconds(_renderer.Lookup.Get<Pref>(name) is { } pref && int.TryParse(pref.Val, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? seconds
            : fallback);

    // ---- helpers ------------------------------------------------------------------------------------------------

    /// <summary>Prefix length of a dotted IPv4 netmask (<c>255.255.255.0</c> → 24); a non-contiguous mask is an error.</summary>
    private static int NetmaskToCidr(string mask)
    {
        if (!Names.TryParseIPv4(mask, out var address))
        {
            throw new TemplateFunctionException($"'{mask}' is not an IPv4 netmask");
        }

        var bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        var prefix = System.Numerics.BitOperations.LeadingZeroCount(~bits);
        if (prefix < 32 && bits << prefix != 0)
        {
            throw new TemplateFunctionException($"'{mask}' is not a contiguous netmask");
        }

        return prefix;
    }

    /// <summary>YAML of a param value through the engine's own <c>toYaml</c>, ending in a newline as Go's yaml.Marshal does.</summary>
    private string ToYaml(object? value)
    {
        var yaml = RenderNested("ParamAsYAML", "{{ toYaml . }}", value, MissingKeyMode.Default);
        return yaml.EndsWith('\n') ? yaml : yaml + "\n";
    }

    internal static string ParseUrl(string segment, string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new TemplateFunctionException($"'{url}' is not a URL");
        }

        return segment switch
        {
            "scheme" => uri.Scheme,
            "host" => uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port.ToString(CultureInfo.InvariantCulture)}",
            "path" => uri.AbsolutePath,
            _ => throw new TemplateFunctionException($"No idea how to get URL part {segment} from {url}"),
        };
    }

    /// <summary>Converts a JSON element the way params are exposed (Go's encoding/json into interface{}).</summary>
    internal static object? FromJson(JsonElement element) => TemplateValues.FromJson(element);
}

/// <summary>Argument checks for render-data methods, with Go-like messages.</summary>
internal static class Args
{
    public static string String(ReadOnlySpan<object?> args, int index, string method) =>
        index < args.Length && args[index] is string s
            ? s
            : throw new TemplateFunctionException(index < args.Length
                ? $"{method}: argument {index + 1} must be a string, not {args[index]?.GetType().Name ?? "nil"}"
                : $"{method}: needs {index + 1} argument(s)");

    public static long Integer(ReadOnlySpan<object?> args, int index, string method) => args[index] switch
    {
        int i => i,
        long l => l,
        double d when d == Math.Floor(d) && Math.Abs(d) < 1e15 => (long)d,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        var other => throw new TemplateFunctionException($"{method}: argument {index + 1} must be an integer, not {other?.GetType().Name ?? "nil"}"),
    };
}
