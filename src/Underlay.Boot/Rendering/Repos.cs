using System.Globalization;
using System.Text;
using Underlay.Core.Models;
using Underlay.Core.Validation;
using Underlay.Templates;

namespace Underlay.Boot.Rendering;

/// <summary>
/// Package repositories for installers and installed systems, driven by the <c>package-repositories</c> param
/// (DRP <c>.Repos</c>, <c>.MachineRepos</c>, <c>.InstallRepos</c>): a list of
/// <c>{tag, os[], arch, url, installSource, securitySource, distribution, components[], repoType, packageType, bootloc}</c>.
/// </summary>
internal static class Repos
{
    public const string ParamName = "package-repositories";

    /// <summary>Repos whose tag is one of <paramref name="tags"/>, in the param's order.</summary>
    public static List<object?> ByTags(RenderData data, string[] tags)
    {
        var result = new List<object?>();
        var target = TargetOs(data);
        foreach (var repo in Declared(data))
        {
            if (tags.Contains(repo.Tag, StringComparer.Ordinal))
            {
                repo.TargetOs = target;
                result.Add(repo);
            }
        }

        return result;
    }

    /// <summary>
    /// The repos for the machine's OS and architecture: the install tree this server serves for that OS first
    /// (when one is exploded here and is not apt-style), then every declared repo for the OS whose arch matches
    /// (or is <c>any</c>, which install sources cannot be).
    /// </summary>
    public static List<object?> MachineRepos(RenderData data)
    {
        var found = new List<object?>();
        var local = LocalInstallRepo(data);
        var localCounts = local is not null && local.Style != "apt";
        if (localCounts)
        {
            found.Add(local);
        }

        var target = TargetOs(data);
        foreach (var repo in Declared(data))
        {
            if (localCounts && repo.InstallSource)
            {
                continue;
            }

            var archMatches = (repo.Arch == "any" && !repo.InstallSource) || Architectures.AreEqual(repo.Arch, data.Arch);
            if (archMatches && repo.Os.Contains(target, StringComparer.Ordinal))
            {
                repo.TargetOs = target;
                found.Add(repo);
            }
        }

        return found;
    }

    /// <summary>The install source for this machine's OS first, then its security-update source, if any.</summary>
    public static List<object?> InstallRepos(RenderData data)
    {
        var install = LocalInstallRepo(data);
        RepoView? updates = null;
        foreach (var repo in MachineRepos(data).OfType<RepoView>())
        {
            if (install is null && repo.InstallSource)
            {
                install = repo;
            }

            if (updates is null && repo.SecuritySource)
            {
                updates = repo;
            }
        }

        var result = new List<object?>(2);
        if (install is not null)
        {
            result.Add(install);
            if (updates is not null)
            {
                result.Add(updates);
            }
        }

        return result;
    }

    /// <summary>The OS the repos are chosen for: the OS an -install environment installs, else the machine's OS.</summary>
    public static string TargetOs(RenderData data)
    {
        if (data.Env is { OS.Name.Length: > 0 } env && env.Name.OrEmpty().EndsWith("-install", StringComparison.Ordinal))
        {
            return env.OS.Name;
        }

        return data.Machine is { OS.Length: > 0 } machine ? machine.OS : (data.Env?.OS?.Name).OrEmpty();
    }

    private static List<RepoView> Declared(RenderData data)
    {
        var result = new List<RepoView>();
        if (!data.Renderer.Params.TryGet(data.Machine, ParamName, out var value) || TemplateValues.FromJson(value) is not List<object?> list)
        {
            return result;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is Dictionary<string, object?> map)
            {
                result.Add(RepoView.FromMap(data, map, i));
            }
        }

        return result;
    }

    /// <summary>
    /// The install tree of a boot environment for the target OS that is exploded in this server's file root (its
    /// kernel is there), served over HTTP. Apt trees count only with a <c>dists/stable/Release</c> (DRP).
    /// </summary>
    private static RepoView? LocalInstallRepo(RenderData data)
    {
        var target = TargetOs(data);
        if (target.Length == 0)
        {
            return null;
        }

        var candidates = data.Env is { } current && current.OS?.Name == target
            ? new[] { current }.Concat(data.Renderer.Lookup.List<BootEnv>())
            : data.Renderer.Lookup.List<BootEnv>();
        foreach (var env in candidates)
        {
            if (env.OS?.Name != target)
            {
                continue;
            }

            var kernel = BootEnvLayout.KernelFor(env, data.Arch);
            if (kernel.Length == 0 || !File.Exists(data.Renderer.FileRoot + BootEnvLayout.PathFor(env, kernel, data.Arch)))
            {
                continue;
            }

            var root = BootEnvLayout.InstallRoot(env, data.Arch);
            var repo = new RepoView(data, index: -1)
            {
                Tag = env.Name,
                InstallSource = true,
                Os = [target],
                Arch = data.Arch,
                Url = data.ProvisionerUrl + root,
                TargetOs = target,
            };
            if (repo.Style == "apt")
            {
                if (!File.Exists(data.Renderer.FileRoot + root + "/dists/stable/Release"))
                {
                    continue;
                }

                repo.Distribution = "stable";
                repo.Components = ["main", "restricted"];
            }

            return repo;
        }

        return null;
    }
}

/// <summary>One package repository as render data (DRP <c>Repo</c>): its fields, <c>Install</c> (kickstart or
/// preseed lines) and <c>Lines</c> (a yum .repo stanza or an apt sources.list line).</summary>
internal sealed class RepoView(RenderData data, int index) : ITemplateObject
{
    public string Tag { get; set; } = "";

    public List<string> Os { get; set; } = [];

    public string Arch { get; set; } = "";

    public string Url { get; set; } = "";

    public string PackageType { get; set; } = "";

    public string RepoType { get; set; } = "";

    public bool InstallSource { get; set; }

    public bool SecuritySource { get; set; }

    public string Distribution { get; set; } = "";

    public string BootLoc { get; set; } = "";

    public List<string> Components { get; set; } = [];

    public string TargetOs { get; set; } = "";

    /// <summary>The target OS's family: from the boot environment installing it when there is one (its OS.Family),
    /// else the part of its name before the first dash (DRP).</summary>
    public string Family
    {
        get
        {
            foreach (var env in data.Renderer.Lookup.List<BootEnv>())
            {
                if (env.OS?.Name == TargetOs && !string.IsNullOrEmpty(env.OS.Family))
                {
                    return env.OS.Family;
                }
            }

            return TargetOs.Split('-')[0];
        }
    }

    /// <summary>yum, zypp or apt: RepoType if given, else by the target OS's family.</summary>
    public string Style
    {
        get
        {
            if (RepoType.Length > 0)
            {
                return RepoType;
            }

            return Family switch
            {
                "redhat" or "rhel" or "centos" or "scientificlinux" or "fedora" or "rocky" or "almalinux" or "oraclelinux" => "yum",
                "suse" or "sles" or "opensuse" => "zypp",
                "debian" or "ubuntu" => "apt",
                _ => "unknown",
            };
        }
    }

    public static RepoView FromMap(RenderData data, Dictionary<string, object?> map, int index)
    {
        string Text(string key) => map.TryGetValue(key, out var v) && v is string s ? s : "";
        bool Flag(string key) => map.TryGetValue(key, out var v) && v is true;
        List<string> List(string key) => map.TryGetValue(key, out var v) && v is List<object?> l ? [.. l.OfType<string>()] : [];
        return new RepoView(data, index)
        {
            Tag = Text("tag"),
            Os = List("os"),
            Arch = Text("arch"),
            Url = Text("url"),
            PackageType = Text("packageType"),
            RepoType = Text("repoType"),
            InstallSource = Flag("installSource"),
            SecuritySource = Flag("securitySource"),
            Distribution = Text("distribution"),
            BootLoc = Text("bootloc"),
            Components = List("components"),
        };
    }

    public bool TryGetField(string name, out object? value)
    {
        switch (name)
        {
            case "Tag":
                value = Tag;
                return true;
            case "OS":
                value = Os.Cast<object?>().ToList();
                return true;
            case "Arch":
                value = Arch;
                return true;
            case "URL":
                value = Url;
                return true;
            case "PackageType":
                value = PackageType;
                return true;
            case "RepoType":
                value = RepoType;
                return true;
            case "InstallSource":
                value = InstallSource;
                return true;
            case "SecuritySource":
                value = SecuritySource;
                return true;
            case "Distribution":
                value = Distribution;
                return true;
            case "BootLoc":
                value = BootLoc;
                return true;
            case "Components":
                value = Components.Cast<object?>().ToList();
                return true;
            case "JoinedComponents":
                value = string.Join(' ', Components);
                return true;
            case "Target":
                value = TargetOs;
                return true;
            case "R":
                value = data;
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
            case "UrlFor":
                result = UrlFor(args.Length > 0 ? Args.String(args, 0, name) : "");
                return true;
            case "Install":
                result = Install();
                return true;
            case "Lines":
                result = Lines();
                return true;
        }

        if (args.Length == 0)
        {
            return TryGetField(name, out result);
        }

        result = null;
        return false;
    }

    /// <summary>A component's URL: mirror layouts of CentOS and Scientific Linux put the component in the path.</summary>
    public string UrlFor(string component)
    {
        if (InstallSource || Distribution.Length == 0 || component.Length == 0)
        {
            return Url;
        }

        return Family switch
        {
            "centos" => $"{Url}/{Distribution}/{component}/$basearch",
            "scientificlinux" => $"{Url}/{Distribution}/$basearch/{component}",
            _ => Url,
        };
    }

    /// <summary>Kickstart (<c>url</c>/<c>repo</c>) or preseed (<c>d-i mirror/...</c>, <c>apt-setup/...</c>) lines.</summary>
    public string Install()
    {
        var text = new StringBuilder();
        switch (Style)
        {
            case "yum":
                var proxy = data.ParamExists("proxy-servers") && data.Param("proxy-servers") is List<object?> { Count: > 0 } proxies
                    ? $" --proxy=\"{proxies[0]}\""
                    : "";
                if (InstallSource)
                {
                    text.Append(CultureInfo.InvariantCulture, $"url --url {Url}{proxy}\n");
                }
                else if (Components.Count == 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"repo --name=\"{Tag}\" --baseurl={Url} --cost=200{proxy}\n");
                }
                else
                {
                    foreach (var component in Components)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"repo --name=\"{Tag}-{component}\" --baseurl={UrlFor(component)} --cost=200{proxy}\n");
                    }
                }

                break;
            case "apt":
                if (InstallSource)
                {
                    text.Append(CultureInfo.InvariantCulture, $"d-i mirror/protocol string {RenderData.ParseUrl("scheme", Url)}\n");
                    text.Append(CultureInfo.InvariantCulture, $"d-i mirror/http/hostname string {RenderData.ParseUrl("host", Url)}\n");
                    text.Append(CultureInfo.InvariantCulture, $"d-i mirror/http/directory string {RenderData.ParseUrl("path", Url)}\n");
                }
                else if (SecuritySource)
                {
                    text.Append(CultureInfo.InvariantCulture, $"d-i apt-setup/security_host string {RenderData.ParseUrl("host", Url)}\n");
                    text.Append(CultureInfo.InvariantCulture, $"d-i apt-setup/security_path string {RenderData.ParseUrl("path", Url)}\n");
                }
                else
                {
                    var slot = Math.Max(0, index);
                    text.Append(CultureInfo.InvariantCulture, $"d-i apt-setup/local{slot}/repository string deb {Url} {Distribution} {string.Join(' ', Components)}\n");
                }

                break;
            default:
                throw new TemplateFunctionException($"No idea how to handle repos for {TargetOs}");
        }

        return text.ToString();
    }

    /// <summary>A yum/zypper .repo stanza per component, or an apt sources.list line.</summary>
    public string Lines()
    {
        var text = new StringBuilder();
        switch (Style)
        {
            case "yum" or "zypp":
                if (Components.Count == 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"[{Tag}]\nname={TargetOs} - {Tag}\nbaseurl={UrlFor("")}\ngpgcheck=0\n");
                }
                else
                {
                    foreach (var component in Components)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"[{Tag}-{component}]\nname={Tag} - {component}\nbaseurl={UrlFor(component)}\ngpgcheck=0\n");
                    }
                }

                break;
            case "apt":
                text.Append(CultureInfo.InvariantCulture, $"deb {Url} {Distribution} {string.Join(' ', Components)}\n");
                break;
            default:
                throw new TemplateFunctionException($"No idea how to handle repos for {TargetOs}");
        }

        return text.ToString();
    }
}
