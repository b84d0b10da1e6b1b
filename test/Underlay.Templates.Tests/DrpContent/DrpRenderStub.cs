using System.Text.Json;

namespace Underlay.Templates.Tests.DrpContent;

/// <summary>
/// A stand-in for DRP's render data (.Machine, .Env, .Param...; DRP-REFERENCE.md §2.4) good enough to execute
/// the community content: params answer with their schema defaults from the packs, everything else with
/// plausible fixed values.
/// </summary>
internal sealed class DrpRenderStub : ITemplateObject
{
    private readonly Dictionary<string, object?> _params;
    private readonly Func<string, ParsedTemplate?> _resolve;
    private readonly StubObject _machine;
    private readonly StubObject _env;

    public DrpRenderStub(Dictionary<string, object?> parameters, Func<string, ParsedTemplate?> resolve)
    {
        _params = parameters;
        _resolve = resolve;
        _machine = new StubObject
        {
            Fields =
            {
                ["Name"] = "node1.example.com", ["ShortName"] = "node1", ["UUID"] = "3c8a9e6c-0000-4d1f-9f7a-1234567890ab",
                ["Uuid"] = "3c8a9e6c-0000-4d1f-9f7a-1234567890ab", ["Address"] = "10.0.0.5", ["HexAddress"] = "0A000005",
                ["Path"] = "machines/3c8a9e6c-0000-4d1f-9f7a-1234567890ab", ["Url"] = "http://10.0.0.1:8091/machines/3c8a9e6c-0000-4d1f-9f7a-1234567890ab",
                ["Arch"] = "amd64", ["Profiles"] = new List<object?> { "global" }, ["Tasks"] = new List<object?> { "a", "b" },
                ["Context"] = "", ["CurrentJob"] = "", ["Meta"] = new Dictionary<string, object?>(), ["Stage"] = "none", ["BootEnv"] = "local",
                ["Workflow"] = "", ["Params"] = new Dictionary<string, object?>(), ["CurrentTask"] = 0,
            },
            Methods = { ["MacAddr"] = args => args.Length == 0 ? "52:54:00:12:34:56" : "01-52-54-00-12-34-56" },
        };
        var os = new StubObject
        {
            Fields =
            {
                ["Name"] = "centos-8", ["Family"] = "redhat", ["Version"] = "8", ["Codename"] = "", ["FamilyName"] = "centos",
                ["FamilyType"] = "rhel", ["IsoFile"] = "x.iso",
                ["SupportedArchitectures"] = new Dictionary<string, object?>
                {
                    ["amd64"] = new Dictionary<string, object?> { ["IsoFile"] = "x.iso", ["Kernel"] = "vmlinuz", ["Initrds"] = new List<object?> { "initrd" } },
                    ["x86_64"] = new Dictionary<string, object?> { ["IsoFile"] = "x.iso", ["Kernel"] = "vmlinuz", ["Initrds"] = new List<object?> { "initrd" } },
                },
            },
            Methods = { ["VersionEq"] = args => false },
        };
        _env = new StubObject
        {
            Fields =
            {
                ["Name"] = "centos-8-install", ["Kernel"] = "vmlinuz", ["Initrds"] = new List<object?> { "initrd.img" }, ["BootParams"] = "quiet",
                ["InstallUrl"] = "http://10.0.0.1:8091/centos-8/install", ["OS"] = os, ["OnlyUnknown"] = false,
            },
            Methods =
            {
                ["PathFor"] = args => $"/{args[0]}/centos-8{args[1]}",
                ["PathForArch"] = args => $"/{args[0]}/centos-8{args[1]}",
                ["KernelFor"] = args => "vmlinuz",
                ["InitrdsFor"] = args => new List<object?> { "initrd.img" },
                ["JoinInitrds"] = args => "initrd=initrd.img",
                ["JoinInitrdsFor"] = args => "initrd=initrd.img",
                ["InstallUrl"] = args => "http://10.0.0.1:8091/centos-8/install",
            },
        };
    }

    public bool TryGetField(string name, out object? value)
    {
        value = name switch
        {
            "Machine" => _machine,
            "Env" => _env,
            "ProvisionerURL" => "http://10.0.0.1:8091",
            "SecureProvisionerURL" => "https://10.0.0.1:8090",
            "ApiURL" => "https://10.0.0.1:8092",
            "ProvisionerAddress" => "10.0.0.1",
            "GenerateToken" or "GenerateInfiniteToken" => "token-abc",
            "BootParams" => "quiet",
            "InstallRepos" or "MachineRepos" or "Repos" => new List<object?> { new StubObject { Fields = { ["Install"] = "# repo install", ["Lines"] = "deb http://x y z", ["Tag"] = "os" } } },
            "Task" or "Stage" => new StubObject { Fields = { ["Name"] = "task" } },
            _ => null,
        };
        return value is not null;
    }

    public bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        var key = args.Length > 0 ? args[0] as string : null;
        switch (name)
        {
            case "Param" or "ParamExpand" or "ComposeParam" or "ParamCompose" or "ParamComposeExpand":
                result = key is not null ? _params.GetValueOrDefault(key) : null;
                return true;
            case "ParamExists":
                result = key is not null && _params.ContainsKey(key);
                return true;
            case "ParamAsJSON":
                result = TemplateValues.ToJson(key is not null ? _params.GetValueOrDefault(key) : null);
                return true;
            case "GenerateProfileToken":
                result = "profile-token";
                return true;
            case "BootParamsFor":
                result = "quiet";
                return true;
            case "NetmaskToCIDR":
                result = 24;
                return true;
            case "CallTemplate":
                var t = key is not null ? _resolve(key) : null;
                result = t is null ? "" : TemplateEngine.Shared.RenderToString(t, args.Length > 1 ? args[1] : null, RenderOptions.Default with { ResolveTemplate = _resolve });
                return true;
            default:
                result = null;
                return false;
        }
    }

    public static Dictionary<string, object?> ParamDefaults()
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(DrpContentPacks.Directory(), "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            if (!doc.RootElement.TryGetProperty("sections", out var sections) || !sections.TryGetProperty("params", out var ps))
            {
                continue;
            }

            foreach (var p in ps.EnumerateObject())
            {
                if (p.Value.TryGetProperty("Schema", out var schema) && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("default", out var def))
                {
                    result[p.Name] = TemplateValues.FromJson(def);
                }
            }
        }

        return result;
    }

    private sealed class StubObject : ITemplateObject
    {
        public Dictionary<string, object?> Fields { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Func<object?[], object?>> Methods { get; } = new(StringComparer.Ordinal);

        public bool TryGetField(string name, out object? value) => Fields.TryGetValue(name, out value);

        public bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
        {
            if (Methods.TryGetValue(name, out var m))
            {
                result = m(args.ToArray());
                return true;
            }

            result = null;
            return false;
        }
    }
}
