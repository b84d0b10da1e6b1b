using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Templates;

namespace Underlay.Boot.Rendering;

/// <summary>
/// A host object whose JSON form is also a Go map, so <c>{{ .Machine | toJson }}</c> prints the object (DRP's
/// content does that) while <c>.Machine.Name</c> and methods still go through <see cref="ITemplateObject"/>, which
/// the engine consults first.
/// </summary>
internal abstract class ObjectView : ITemplateObject, IReadOnlyDictionary<string, object?>
{
    /// <summary>Fields DRP models as Go ints: they must stay integers (Go's <c>index</c> refuses a float64).</summary>
    private static readonly HashSet<string> IntegerFields = ["CurrentTask", "RetryTaskAttempt", "CurrentIndex", "NextIndex", "Duration", "Code"];

    private Dictionary<string, object?>? _map;

    private Dictionary<string, object?> Map => _map ??= BuildMap();

    public virtual bool TryGetField(string name, out object? value) => Map.TryGetValue(name, out value);

    public virtual bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        if (args.Length == 0)
        {
            return TryGetField(name, out result);
        }

        result = null;
        return false;
    }

    protected abstract ModelBase Model { get; }

    private Dictionary<string, object?> BuildMap()
    {
        var json = TemplateValues.FromJson(ModelTypes.Of(Model).ToOutputElement(Model)) as Dictionary<string, object?> ?? [];
        foreach (var name in IntegerFields)
        {
            if (json.TryGetValue(name, out var v) && v is double d && d == Math.Floor(d) && Math.Abs(d) < int.MaxValue)
            {
                json[name] = (int)d;
            }
        }

        return json;
    }

    // The map side, for toJson/printing only.
    public object? this[string key] => Map[key];

    public IEnumerable<string> Keys => Map.Keys;

    public IEnumerable<object?> Values => Map.Values;

    public int Count => Map.Count;

    public bool ContainsKey(string key) => Map.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value) => Map.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => Map.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A stage, task or job as render data: its fields as JSON gives them.</summary>
internal sealed class ModelView(ModelBase model) : ObjectView
{
    protected override ModelBase Model => model;
}

/// <summary>
/// <c>.Machine</c> (DRP <c>rMachine</c>): the machine's fields plus <c>ShortName</c>, <c>UUID</c>, <c>HexAddress</c>,
/// <c>Path</c>, <c>Url</c> and <c>MacAddr</c>, which formats the MAC being rendered for (renders of a machine with
/// several NICs happen once per MAC).
/// </summary>
internal sealed class MachineView(RenderData data, Machine machine) : ObjectView
{
    protected override ModelBase Model => machine;

    public string Path => "machines/" + machine.Uuid.ToString();

    public string CurrentMac => data.Context.MacAddress.Length > 0 ? data.Context.MacAddress
        : machine.HardwareAddrs is { Count: > 0 } macs ? macs[0] : "";

    public override bool TryGetField(string name, out object? value)
    {
        switch (name)
        {
            case "Name":
                value = machine.Name;
                return true;
            case "ShortName":
                var dot = machine.Name.IndexOf('.', StringComparison.Ordinal);
                value = dot < 0 ? machine.Name : machine.Name[..dot];
                return true;
            case "UUID" or "Uuid" or "Key":
                value = machine.Uuid.ToString();
                return true;
            case "Address":
                value = machine.Address;
                return true;
            case "HexAddress":
                value = HexAddress(machine.Address);
                return true;
            case "Path":
                value = Path;
                return true;
            case "Url":
                value = data.ProvisionerUrl + "/" + Path;
                return true;
            case "MacAddr":
                value = MacAddr("");
                return true;
            case "Arch":
                value = machine.Arch.Length > 0 ? machine.Arch : Architectures.Amd64;
                return true;
            case "OS":
                value = machine.OS;
                return true;
            case "BootEnv":
                value = machine.BootEnv;
                return true;
            case "Stage":
                value = machine.Stage;
                return true;
            case "Workflow":
                value = machine.Workflow;
                return true;
            case "Context":
                value = machine.Context;
                return true;
            case "CurrentJob":
                value = machine.CurrentJob;
                return true;
            case "CurrentTask":
                value = machine.CurrentTask;
                return true;
            case "Runnable":
                value = machine.Runnable;
                return true;
            case "Profiles":
                value = Strings(machine.Profiles.OrEmpty());
                return true;
            case "Tasks":
                value = Strings(machine.Tasks.OrEmpty());
                return true;
            case "HardwareAddrs":
                value = Strings(machine.HardwareAddrs.OrEmpty());
                return true;
            case "Meta":
                var meta = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (key, v) in machine.Meta.OrEmpty())
                {
                    meta[key] = v;
                }

                value = meta;
                return true;
            default:
                return base.TryGetField(name, out value);
        }
    }

    public override bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        switch (name)
        {
            case "MacAddr":
                result = MacAddr(args.Length > 0 ? Args.String(args, 0, name) : "");
                return true;
            case "HasProfile":
                result = machine.Profiles.OrEmpty().Contains(Args.String(args, 0, name), StringComparer.Ordinal);
                return true;
            default:
                return base.TryCallMethod(name, args, out result);
        }
    }

    /// <summary>
    /// DRP's MAC formats: <c>pxelinux</c> → <c>01-aa-bb-cc-dd-ee-ff</c> (pxelinux's per-MAC config name, ARP type 1
    /// first); <c>rpi4</c> → <c>aa-bb-cc-dd-ee-ff</c> (the Raspberry Pi 4 firmware's TFTP directory); <c>ipxe</c>,
    /// <c>grub</c>, <c>raw</c> or none → <c>aa:bb:cc:dd:ee:ff</c> (iPXE's <c>${netX/mac}</c>, GRUB's <c>${net_default_mac}</c>).
    /// </summary>
    private string MacAddr(string format)
    {
        var mac = CurrentMac;
        return format switch
        {
            "pxelinux" or "pxe" => "01-" + mac.Replace(':', '-'),
            "rpi4" => mac.Replace(':', '-'),
            _ => mac,
        };
    }

    /// <summary>The IPv4 address as eight upper-case hex digits: pxelinux's per-address config name.</summary>
    internal static string HexAddress(string address)
    {
        if (!Underlay.Core.Validation.Names.TryParseIPv4(address, out var ip))
        {
            return "";
        }

        return Convert.ToHexString(ip.GetAddressBytes());
    }

    private static List<object?> Strings(List<string> values)
    {
        var list = new List<object?>(values.Count);
        foreach (var value in values)
        {
            list.Add(value);
        }

        return list;
    }
}

/// <summary>
/// <c>.Env</c> (DRP <c>rBootEnv</c>): the boot environment, with Kernel, Initrds and BootParams chosen for the
/// machine's architecture and path helpers for each protocol.
/// </summary>
internal sealed class EnvView(RenderData data, BootEnv env) : ObjectView
{
    private OsView? _os;

    protected override ModelBase Model => env;

    public override bool TryGetField(string name, out object? value)
    {
        switch (name)
        {
            case "Name":
                value = env.Name;
                return true;
            case "OS":
                value = _os ??= new OsView(env.OS ?? new BootEnvOS());
                return true;
            case "Kernel":
                value = BootEnvLayout.KernelFor(env, data.Arch);
                return true;
            case "Initrds":
                value = Strings(BootEnvLayout.InitrdsFor(env, data.Arch));
                return true;
            case "OnlyUnknown":
                value = env.OnlyUnknown;
                return true;
            case "BootParams" or "InstallUrl":
                // Renders: methods, so that a failure is reported as Go reports a method's error.
                value = null;
                return false;
            default:
                return base.TryGetField(name, out value);
        }
    }

    public override bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        switch (name)
        {
            case "BootParams":
                result = data.BootParams(data.Arch);
                return true;
            case "PathFor":
                result = PathFor(Args.String(args, 0, name), Args.String(args, 1, name), data.Arch);
                return true;
            case "PathForArch":
                result = PathFor(Args.String(args, 0, name), Args.String(args, 1, name), Args.String(args, 2, name));
                return true;
            case "JoinInitrds":
                result = JoinInitrds(Args.String(args, 0, name), data.Arch);
                return true;
            case "JoinInitrdsFor":
                result = JoinInitrds(Args.String(args, 0, name), Args.String(args, 1, name));
                return true;
            case "KernelFor":
                result = BootEnvLayout.KernelFor(env, Args.String(args, 0, name));
                return true;
            case "InitrdsFor":
                result = Strings(BootEnvLayout.InitrdsFor(env, Args.String(args, 0, name)));
                return true;
            case "BootParamsFor":
                result = data.BootParams(Args.String(args, 0, name));
                return true;
            case "IsoFor":
                result = BootEnvLayout.IsoFor(env, Args.String(args, 0, name));
                return true;
            case "ShaFor":
                result = BootEnvLayout.ShaFor(env, Args.String(args, 0, name));
                return true;
            case "IsoUrlFor":
                result = BootEnvLayout.IsoUrlFor(env, Args.String(args, 0, name));
                return true;
            case "InstallUrl":
                result = InstallUrl();
                return true;
            default:
                return base.TryCallMethod(name, args, out result);
        }
    }

    /// <summary>
    /// DRP's PathFor: <c>tftp</c> gives the root-relative path, <c>http</c> the URL on the boot-file server,
    /// <c>disk</c> the file on this server's disk.
    /// </summary>
    private string PathFor(string protocol, string file, string arch)
    {
        var tail = BootEnvLayout.PathFor(env, file, arch);
        return protocol switch
        {
            "tftp" => tail.TrimStart('/'),
            "http" => data.ProvisionerUrl + tail,
            "disk" => data.Renderer.FileRoot + tail,
            _ => throw new TemplateFunctionException($"Unknown protocol {protocol} (tftp, http, disk)"),
        };
    }

    /// <summary>Every initrd's path, space separated (pxelinux INITRD and GRUB take them that way).</summary>
    private string JoinInitrds(string protocol, string arch)
    {
        var initrds = BootEnvLayout.InitrdsFor(env, arch);
        var paths = new string[initrds.Count];
        for (var i = 0; i < paths.Length; i++)
        {
            paths[i] = PathFor(protocol, initrds[i], arch);
        }

        return string.Join(' ', paths);
    }

    /// <summary>The install source: the first install repo (package-repositories, or the exploded ISO served here);
    /// without either, where the ISO would be served here.</summary>
    private string InstallUrl() =>
        Repos.InstallRepos(data) is [RepoView first, ..] ? first.Url : data.ProvisionerUrl + BootEnvLayout.InstallRoot(env, data.Arch);

    private static List<object?> Strings(IReadOnlyList<string> values)
    {
        var list = new List<object?>(values.Count);
        foreach (var value in values)
        {
            list.Add(value);
        }

        return list;
    }
}

/// <summary><c>.Env.OS</c> (DRP <c>OsInfo</c>): fields plus FamilyName, FamilyType, FamilyVersion and VersionEq.</summary>
internal sealed class OsView(BootEnvOS os) : ITemplateObject
{
    public bool TryGetField(string name, out object? value)
    {
        switch (name)
        {
            case "Name":
                value = os.Name;
                return true;
            case "Family":
                value = os.Family;
                return true;
            case "Codename":
                value = os.Codename;
                return true;
            case "Version":
                value = os.Version;
                return true;
            case "IsoFile":
                value = os.IsoFile;
                return true;
            case "IsoSha256":
                value = os.IsoSha256;
                return true;
            case "IsoUrl":
                value = os.IsoUrl;
                return true;
            case "SupportedArchitectures":
                var arches = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (arch, info) in os.SupportedArchitectures.OrEmpty())
                {
                    if (info is null)
                    {
                        continue;
                    }

                    arches[arch] = new Dictionary<string, object?>(StringComparer.Ordinal)
                    {
                        ["IsoFile"] = info.IsoFile,
                        ["Sha256"] = info.Sha256,
                        ["IsoUrl"] = info.IsoUrl,
                        ["Kernel"] = info.Kernel,
                        ["Initrds"] = info.Initrds.OrEmpty().Cast<object?>().ToList(),
                        ["BootParams"] = info.BootParams,
                        ["Loader"] = info.Loader,
                    };
                }

                value = arches;
                return true;
            case "FamilyName":
                value = FamilyName(os);
                return true;
            case "FamilyType":
                value = FamilyType(os);
                return true;
            case "FamilyVersion":
                value = FamilyVersion(os);
                return true;
            default:
                value = null;
                return false;
        }
    }

    public bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        if (name == "VersionEq")
        {
            result = VersionEq(os, Args.String(args, 0, name));
            return true;
        }

        if (args.Length == 0)
        {
            return TryGetField(name, out result);
        }

        result = null;
        return false;
    }

    /// <summary>DRP: Family if set, else the part of Name before the first dash.</summary>
    public static string FamilyName(BootEnvOS os) => os.Family.Length > 0 ? os.Family : os.Name.Split('-')[0];

    /// <summary>DRP: <c>rhel</c> for the RHEL lineage, <c>debian</c> for Debian's, else the family name.</summary>
    public static string FamilyType(BootEnvOS os) => FamilyName(os) switch
    {
        "centos" or "redhat" or "fedora" or "scientificlinux" => "rhel",
        "debian" or "ubuntu" => "debian",
        var other => other,
    };

    /// <summary>DRP: Version if set, else the part of Name after the first dash.</summary>
    public static string FamilyVersion(BootEnvOS os)
    {
        if (os.Version.Length > 0)
        {
            return os.Version;
        }

        var parts = os.Name.Split('-');
        return parts.Length > 1 ? parts[1] : "";
    }

    /// <summary>DRP: equal to the precision of <paramref name="other"/> — 7.3 equals 7 and 7.3, not 7.3.11.</summary>
    public static bool VersionEq(BootEnvOS os, string other)
    {
        var mine = FamilyVersion(os).Split('.');
        var theirs = other.Split('.');
        if (mine.Length < theirs.Length)
        {
            return false;
        }

        for (var i = 0; i < theirs.Length; i++)
        {
            var equal = long.TryParse(mine[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var a) &&
                        long.TryParse(theirs[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var b)
                ? a == b
                : mine[i] == theirs[i];
            if (!equal)
            {
                return false;
            }
        }

        return true;
    }
}
