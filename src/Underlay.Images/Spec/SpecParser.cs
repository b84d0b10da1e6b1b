using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Underlay.Images.Spec;

/// <summary>
/// Parses LinuxKit YAML with YamlDotNet's representation model (no reflection, so it is NativeAOT-safe) and checks
/// it against the shape of LinuxKit's JSON schema (<c>moby/schema.go</c>: <c>additionalProperties:false</c>
/// everywhere), reporting unknown keys and wrong types with file, line and column.
/// </summary>
internal sealed class SpecParser
{
    private static readonly string[] TopLevelKeys = ["kernel", "init", "onboot", "onshutdown", "services", "files", "volumes", "trust"];
    private static readonly string[] KernelKeys = ["image", "cmdline", "binary", "tar", "ucode"];
    private static readonly string[] FileKeys = ["path", "directory", "symlink", "contents", "source", "metadata", "optional", "mode", "uid", "gid"];
    private static readonly string[] VolumeKeys = ["name", "image", "readonly", "format", "platforms"];
    private static readonly string[] TrustKeys = ["image", "org"];
    private static readonly string[] MountKeys = ["destination", "type", "source", "options"];
    private static readonly string[] DeviceKeys = ["path", "type", "major", "minor", "mode"];
    private static readonly string[] IdMappingKeys = ["hostID", "containerID", "size"];
    private static readonly string[] RuntimeKeys = ["cgroups", "mounts", "mkdir", "interfaces", "bindNS", "namespace"];
    private static readonly string[] InterfaceKeys = ["name", "add", "peer", "createInRoot"];
    private static readonly string[] NamespaceKeys = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"];

    private static readonly string[] ConfigKeys =
    [
        "capabilities", "capabilities.add", "ambient", "mounts", "binds", "binds.add", "devices", "tmpfs", "command", "env", "cwd",
        "net", "pid", "ipc", "uts", "userns", "hostname", "readonly", "maskedPaths", "readonlyPaths", "uid", "gid", "additionalGids",
        "noNewPrivileges", "oomScoreAdj", "rootfsPropagation", "cgroupsPath", "resources", "sysctl", "rlimits", "uidMappings",
        "gidMappings", "annotations", "runtime",
    ];

    /// <summary>The OCI <c>linux.resources</c> schema: object keys → nested schema (null = scalar, "[]" suffix = array of).</summary>
    private static readonly Dictionary<string, Dictionary<string, string?>> ResourceSchemas = new()
    {
        ["resources"] = new() { ["devices"] = "[]devicecgroup", ["memory"] = "memory", ["cpu"] = "cpu", ["pids"] = "pids", ["blockIO"] = "blockio", ["hugepageLimits"] = "[]hugepagelimit", ["network"] = "network", ["rdma"] = null, ["unified"] = null },
        ["devicecgroup"] = new() { ["allow"] = null, ["type"] = null, ["major"] = null, ["minor"] = null, ["access"] = null },
        ["memory"] = new() { ["limit"] = null, ["reservation"] = null, ["swap"] = null, ["kernel"] = null, ["kernelTCP"] = null, ["swappiness"] = null, ["disableOOMKiller"] = null, ["useHierarchy"] = null, ["checkBeforeUpdate"] = null },
        ["cpu"] = new() { ["shares"] = null, ["quota"] = null, ["burst"] = null, ["period"] = null, ["realtimeRuntime"] = null, ["realtimePeriod"] = null, ["cpus"] = null, ["mems"] = null, ["idle"] = null },
        ["pids"] = new() { ["limit"] = null },
        ["blockio"] = new() { ["weight"] = null, ["leafWeight"] = null, ["weightDevice"] = "[]weightdevice", ["throttleReadBpsDevice"] = "[]throttledevice", ["throttleWriteBpsDevice"] = "[]throttledevice", ["throttleReadIOPSDevice"] = "[]throttledevice", ["throttleWriteIOPSDevice"] = "[]throttledevice" },
        ["weightdevice"] = new() { ["major"] = null, ["minor"] = null, ["weight"] = null, ["leafWeight"] = null },
        ["throttledevice"] = new() { ["major"] = null, ["minor"] = null, ["rate"] = null },
        ["hugepagelimit"] = new() { ["pageSize"] = null, ["limit"] = null },
        ["network"] = new() { ["classID"] = null, ["priorities"] = "[]interfacepriority" },
        ["interfacepriority"] = new() { ["name"] = null, ["priority"] = null },
    };

    private readonly string _file;

    private SpecParser(string file) => _file = file;

    /// <summary>Parses one YAML document. <paramref name="file"/> only labels messages.</summary>
    public static ImageSpec Parse(string text, string file)
    {
        var parser = new SpecParser(file);
        var root = parser.LoadSingleDocument(text);
        var spec = new ImageSpec();
        if (root is null)
        {
            return spec;
        }

        parser.ParseTop(parser.Map(root, "the document"), spec);
        return spec;
    }

    /// <summary>
    /// Parses an <c>org.mobyproject.config</c> label (JSON, which is YAML) as LinuxKit's NewImage does: a container
    /// config without <c>name</c> or <c>image</c>.
    /// </summary>
    public static ContainerConfig ParseLabel(string text, string imageName)
    {
        var parser = new SpecParser($"label org.mobyproject.config of {imageName}");
        var root = parser.LoadSingleDocument(text);
        if (root is null)
        {
            return new ContainerConfig();
        }

        var map = parser.Map(root, "the label");
        foreach (var key in map.Children.Keys)
        {
            var name = ((YamlScalarNode)key).Value;
            if (name is "name" or "image")
            {
                throw parser.Error(key, $"{name} cannot be set in the org.mobyproject.config label");
            }
        }

        return parser.ParseConfig(map, "the label", allowNameAndImage: false);
    }

    private YamlNode? LoadSingleDocument(string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ImageBuildException($"{_file}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.InnerException?.Message ?? e.Message}", e);
        }

        if (stream.Documents.Count == 0)
        {
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            throw Error(stream.Documents[1].RootNode, "more than one YAML document in one file");
        }

        var root = stream.Documents[0].RootNode;
        return root is YamlScalarNode { Value: null or "" or "~" or "null" } ? null : root;
    }

    private void ParseTop(YamlMappingNode map, ImageSpec spec)
    {
        foreach (var (keyNode, value) in Entries(map, TopLevelKeys, "the top level"))
        {
            switch (keyNode.Value)
            {
                case "kernel":
                    spec.Kernel = ParseKernel(Map(value, "kernel"));
                    break;
                case "init":
                    spec.Init.AddRange(Strings(value, "init") ?? []);
                    break;
                case "onboot":
                    spec.Onboot.AddRange(Containers(value, "onboot"));
                    break;
                case "onshutdown":
                    spec.Onshutdown.AddRange(Containers(value, "onshutdown"));
                    break;
                case "services":
                    spec.Services.AddRange(Containers(value, "services"));
                    break;
                case "files":
                    spec.Files.AddRange(Files(value));
                    break;
                case "volumes":
                    spec.Volumes.AddRange(Volumes(value));
                    break;
                case "trust":
                    if (!IsNull(value))
                    {
                        foreach (var (_, trustValue) in Entries(Map(value, "trust"), TrustKeys, "trust"))
                        {
                            _ = Strings(trustValue, "trust");
                        }
                    }

                    // Docker Content Trust was removed from LinuxKit in 2021 (LINUXKIT.md §1.6); old files still carry the key.
                    spec.Warnings.Add($"{Where(keyNode)}: 'trust' is ignored: image signature checks (Notary v1) are not supported; images are verified by digest");
                    break;
            }
        }

        CheckUniqueNames(spec.Services, "service");
        var volumes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var volume in spec.Volumes)
        {
            if (!volumes.Add(volume.Name))
            {
                throw new ImageBuildException($"{volume.Location}: duplicate volume name '{volume.Name}'");
            }
        }
    }

    public static void CheckUniqueNames(IEnumerable<ContainerSpec> containers, string what)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var container in containers)
        {
            if (!names.Add(container.Name))
            {
                throw new ImageBuildException($"{container.Location}: duplicate {what} name '{container.Name}'");
            }
        }
    }

    private KernelSpec ParseKernel(YamlMappingNode map)
    {
        var kernel = new KernelSpec();
        foreach (var (key, value) in Entries(map, KernelKeys, "kernel"))
        {
            var text = String(value, "kernel." + key.Value);
            switch (key.Value)
            {
                case "image": kernel.Image = text; break;
                case "cmdline": kernel.Cmdline = text; break;
                case "binary": kernel.Binary = text; break;
                case "tar": kernel.Tar = text ?? ""; break;
                case "ucode": kernel.UCode = text ?? ""; break;
            }
        }

        return kernel;
    }

    private IEnumerable<ContainerSpec> Containers(YamlNode node, string section)
    {
        if (IsNull(node))
        {
            yield break;
        }

        var index = 0;
        foreach (var item in Sequence(node, section).Children)
        {
            var context = $"{section}[{index++}]";
            var map = Map(item, context);
            string? name = null;
            string? image = null;
            foreach (var (key, value) in map.Children)
            {
                switch (((YamlScalarNode)key).Value)
                {
                    case "name": name = String(value, context + ".name"); break;
                    case "image": image = String(value, context + ".image"); break;
                }
            }

            if (string.IsNullOrEmpty(name))
            {
                throw Error(item, $"{context}: 'name' is required");
            }

            if (string.IsNullOrEmpty(image))
            {
                throw Error(item, $"{context}: 'image' is required");
            }

            if (name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
            {
                throw Error(item, $"{context}: invalid name '{name}'");
            }

            yield return new ContainerSpec
            {
                Name = name,
                Image = image,
                Config = ParseConfig(map, $"{context} ({name})", allowNameAndImage: true),
                Location = Where(item),
            };
        }
    }

    private ContainerConfig ParseConfig(YamlMappingNode map, string context, bool allowNameAndImage)
    {
        var config = new ContainerConfig();
        string[] allowed = allowNameAndImage ? ["name", "image", .. ConfigKeys] : ConfigKeys;
        foreach (var (key, value) in Entries(map, allowed, context))
        {
            var field = $"{context}.{key.Value}";
            switch (key.Value)
            {
                case "name" or "image": break;
                case "capabilities": config.Capabilities = Strings(value, field); break;
                case "capabilities.add": config.CapabilitiesAdd = Strings(value, field); break;
                case "ambient": config.Ambient = Strings(value, field); break;
                case "mounts": config.Mounts = Mounts(value, field); break;
                case "binds": config.Binds = Strings(value, field); break;
                case "binds.add": config.BindsAdd = Strings(value, field); break;
                case "devices": config.Devices = Devices(value, field); break;
                case "tmpfs": config.Tmpfs = Strings(value, field); break;
                case "command": config.Command = Strings(value, field); break;
                case "env": config.Env = Strings(value, field); break;
                case "cwd": config.Cwd = String(value, field); break;
                case "net": config.Net = String(value, field); break;
                case "pid": config.Pid = String(value, field); break;
                case "ipc": config.Ipc = String(value, field); break;
                case "uts": config.Uts = String(value, field); break;
                case "userns": config.Userns = String(value, field); break;
                case "hostname": config.Hostname = String(value, field); break;
                case "readonly": config.Readonly = Bool(value, field); break;
                case "maskedPaths": config.MaskedPaths = Strings(value, field); break;
                case "readonlyPaths": config.ReadonlyPaths = Strings(value, field); break;
                case "uid": config.Uid = Id(value, field); break;
                case "gid": config.Gid = Id(value, field); break;
                case "additionalGids":
                    config.AdditionalGids = IsNull(value) ? null : Sequence(value, field).Children.Select(v => Id(v, field) ?? IdValue.FromNumber(0)).ToList();
                    break;
                case "noNewPrivileges": config.NoNewPrivileges = Bool(value, field); break;
                case "oomScoreAdj": config.OomScoreAdj = Integer(value, field); break;
                case "rootfsPropagation": config.RootfsPropagation = String(value, field); break;
                case "cgroupsPath": config.CgroupsPath = String(value, field); break;
                case "resources": config.Resources = IsNull(value) ? null : (JsonObject)ToJson(value, "resources", field); break;
                case "sysctl": config.Sysctl = StringMap(value, field); break;
                case "rlimits": config.Rlimits = Strings(value, field); break;
                case "uidMappings": config.UidMappings = IdMappings(value, field); break;
                case "gidMappings": config.GidMappings = IdMappings(value, field); break;
                case "annotations": config.Annotations = StringMap(value, field); break;
                case "runtime": config.Runtime = IsNull(value) ? null : Runtime(Map(value, field), field); break;
            }
        }

        return config;
    }

    private RuntimeSpec Runtime(YamlMappingNode map, string context)
    {
        var runtime = new RuntimeSpec();
        foreach (var (key, value) in Entries(map, RuntimeKeys, context))
        {
            var field = $"{context}.{key.Value}";
            switch (key.Value)
            {
                case "cgroups": runtime.Cgroups = Strings(value, field); break;
                case "mounts": runtime.Mounts = Mounts(value, field); break;
                case "mkdir": runtime.Mkdir = Strings(value, field); break;
                case "namespace": runtime.Namespace = String(value, field); break;
                case "interfaces":
                    runtime.Interfaces = IsNull(value) ? null : Sequence(value, field).Children.Select(item =>
                    {
                        var spec = new InterfaceSpec();
                        foreach (var (k, v) in Entries(Map(item, field), InterfaceKeys, field))
                        {
                            switch (k.Value)
                            {
                                case "name": spec.Name = String(v, field + ".name"); break;
                                case "add": spec.Add = String(v, field + ".add"); break;
                                case "peer": spec.Peer = String(v, field + ".peer"); break;
                                case "createInRoot": spec.CreateInRoot = Bool(v, field + ".createInRoot") ?? false; break;
                            }
                        }

                        return spec;
                    }).ToList();
                    break;
                case "bindNS":
                    if (!IsNull(value))
                    {
                        foreach (var (k, v) in Entries(Map(value, field), NamespaceKeys, field))
                        {
                            var path = String(v, field + "." + k.Value);
                            switch (k.Value)
                            {
                                case "cgroup": runtime.BindNS.Cgroup = path; break;
                                case "ipc": runtime.BindNS.Ipc = path; break;
                                case "mnt": runtime.BindNS.Mnt = path; break;
                                case "net": runtime.BindNS.Net = path; break;
                                case "pid": runtime.BindNS.Pid = path; break;
                                case "user": runtime.BindNS.User = path; break;
                                case "uts": runtime.BindNS.Uts = path; break;
                            }
                        }
                    }

                    break;
            }
        }

        return runtime;
    }

    private List<MountSpec>? Mounts(YamlNode node, string context) =>
        IsNull(node) ? null : Sequence(node, context).Children.Select(item =>
        {
            var mount = new MountSpec();
            foreach (var (key, value) in Entries(Map(item, context), MountKeys, context))
            {
                switch (key.Value)
                {
                    case "destination": mount.Destination = String(value, context + ".destination"); break;
                    case "type": mount.Type = String(value, context + ".type"); break;
                    case "source": mount.Source = String(value, context + ".source"); break;
                    case "options": mount.Options = Strings(value, context + ".options"); break;
                }
            }

            return mount;
        }).ToList();

    private List<DeviceSpec>? Devices(YamlNode node, string context) =>
        IsNull(node) ? null : Sequence(node, context).Children.Select(item =>
        {
            var device = new DeviceSpec();
            foreach (var (key, value) in Entries(Map(item, context), DeviceKeys, context))
            {
                switch (key.Value)
                {
                    case "path": device.Path = String(value, context + ".path") ?? ""; break;
                    case "type": device.Type = String(value, context + ".type") ?? ""; break;
                    case "major": device.Major = Integer(value, context + ".major") ?? 0; break;
                    case "minor": device.Minor = Integer(value, context + ".minor") ?? 0; break;
                    case "mode": device.Mode = String(value, context + ".mode"); break;
                }
            }

            return device;
        }).ToList();

    private List<IdMapping>? IdMappings(YamlNode node, string context) =>
        IsNull(node) ? null : Sequence(node, context).Children.Select(item =>
        {
            var mapping = new IdMapping();
            foreach (var (key, value) in Entries(Map(item, context), IdMappingKeys, context))
            {
                var number = Integer(value, context + "." + key.Value) ?? 0;
                switch (key.Value)
                {
                    case "hostID": mapping.HostId = number; break;
                    case "containerID": mapping.ContainerId = number; break;
                    case "size": mapping.Size = number; break;
                }
            }

            return mapping;
        }).ToList();

    private IEnumerable<FileSpec> Files(YamlNode node)
    {
        if (IsNull(node))
        {
            yield break;
        }

        var index = 0;
        foreach (var item in Sequence(node, "files").Children)
        {
            var context = $"files[{index++}]";
            var file = new FileSpec { Location = Where(item) };
            foreach (var (key, value) in Entries(Map(item, context), FileKeys, context))
            {
                var field = $"{context}.{key.Value}";
                switch (key.Value)
                {
                    case "path": file.Path = String(value, field) ?? ""; break;
                    case "directory": file.Directory = Bool(value, field) ?? false; break;
                    case "symlink": file.Symlink = String(value, field); break;
                    case "contents": file.Contents = String(value, field) ?? ""; break;
                    case "source": file.Source = String(value, field); break;
                    case "metadata": file.Metadata = String(value, field); break;
                    case "optional": file.Optional = Bool(value, field) ?? false; break;
                    case "mode": file.Mode = String(value, field); break;
                    case "uid": file.Uid = Id(value, field); break;
                    case "gid": file.Gid = Id(value, field); break;
                }
            }

            yield return file;
        }
    }

    private IEnumerable<VolumeSpec> Volumes(YamlNode node)
    {
        if (IsNull(node))
        {
            yield break;
        }

        var index = 0;
        foreach (var item in Sequence(node, "volumes").Children)
        {
            var context = $"volumes[{index++}]";
            var volume = new VolumeSpec { Location = Where(item) };
            foreach (var (key, value) in Entries(Map(item, context), VolumeKeys, context))
            {
                var field = $"{context}.{key.Value}";
                switch (key.Value)
                {
                    case "name": volume.Name = String(value, field) ?? ""; break;
                    case "image": volume.Image = String(value, field); break;
                    case "readonly": volume.Readonly = Bool(value, field) ?? false; break;
                    case "format": volume.Format = String(value, field); break;
                    case "platforms": volume.Platforms = Strings(value, field); break;
                }
            }

            // LinuxKit's volume names must match ^[a-z0-9_-]*$ (moby/config.go uniqueVolumes).
            if (volume.Name.Length == 0 || !volume.Name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-'))
            {
                throw Error(item, $"{context}: invalid volume name '{volume.Name}'");
            }

            if (volume.Format is not (null or "" or "filesystem" or "oci"))
            {
                throw Error(item, $"{context}: unknown volume format '{volume.Format}' (filesystem or oci)");
            }

            yield return volume;
        }
    }

    private IEnumerable<(YamlScalarNode Key, YamlNode Value)> Entries(YamlMappingNode map, string[] allowed, string context)
    {
        foreach (var (key, value) in map.Children)
        {
            if (key is not YamlScalarNode scalarKey || scalarKey.Value is null)
            {
                throw Error(key, $"{context}: keys must be strings");
            }

            if (Array.IndexOf(allowed, scalarKey.Value) < 0)
            {
                throw Error(key, $"unknown key '{scalarKey.Value}' in {context} (allowed: {string.Join(", ", allowed)})");
            }

            yield return (scalarKey, value);
        }
    }

    private JsonNode ToJson(YamlNode node, string schema, string context)
    {
        if (schema.StartsWith("[]", StringComparison.Ordinal))
        {
            var array = new JsonArray();
            foreach (var item in Sequence(node, context).Children)
            {
                array.Add(ToJson(item, schema[2..], context));
            }

            return array;
        }

        var fields = ResourceSchemas[schema];
        var result = new JsonObject();
        foreach (var (key, value) in Map(node, context).Children)
        {
            var name = (key as YamlScalarNode)?.Value ?? throw Error(key, $"{context}: keys must be strings");

            // go-yaml maps struct fields case-insensitively to their lower-case names, so accept "blockio" for "blockIO".
            var match = fields.Keys.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase))
                ?? throw Error(key, $"unknown key '{name}' in {context} (allowed: {string.Join(", ", fields.Keys)})");
            var nested = fields[match];
            result[match] = nested is null ? Scalar(value, $"{context}.{name}") : ToJson(value, nested, $"{context}.{name}");
        }

        return result;
    }

    private JsonNode? Scalar(YamlNode node, string context)
    {
        if (node is YamlMappingNode or YamlSequenceNode)
        {
            // rdma and unified are free-form maps in the runtime spec.
            if (node is YamlMappingNode map)
            {
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    obj[((YamlScalarNode)k).Value!] = Scalar(v, context);
                }

                return obj;
            }

            throw Error(node, $"{context}: expected a scalar");
        }

        var scalar = (YamlScalarNode)node;
        if (scalar.Style == ScalarStyle.Plain)
        {
            var text = scalar.Value ?? "";
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                return JsonValue.Create(number);
            }

            if (bool.TryParse(text, out var flag))
            {
                return JsonValue.Create(flag);
            }

            if (text is "" or "~" or "null")
            {
                return null;
            }
        }

        return JsonValue.Create(scalar.Value ?? "");
    }

    private YamlMappingNode Map(YamlNode node, string context) =>
        node as YamlMappingNode ?? throw Error(node, $"{context}: expected a mapping");

    private YamlSequenceNode Sequence(YamlNode node, string context) =>
        node as YamlSequenceNode ?? throw Error(node, $"{context}: expected a list");

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

    private string? String(YamlNode node, string context)
    {
        if (IsNull(node))
        {
            return null;
        }

        return node is YamlScalarNode scalar ? scalar.Value ?? "" : throw Error(node, $"{context}: expected a string");
    }

    private List<string>? Strings(YamlNode node, string context) =>
        IsNull(node) ? null : Sequence(node, context).Children.Select(item => String(item, context) ?? "").ToList();

    private Dictionary<string, string>? StringMap(YamlNode node, string context)
    {
        if (IsNull(node))
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Map(node, context).Children)
        {
            result[String(key, context) ?? ""] = String(value, context) ?? "";
        }

        return result;
    }

    private bool? Bool(YamlNode node, string context)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlScalarNode { Style: ScalarStyle.Plain } scalar && bool.TryParse(scalar.Value, out var value))
        {
            return value;
        }

        throw Error(node, $"{context}: expected true or false");
    }

    private long? Integer(YamlNode node, string context)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is YamlScalarNode { Style: ScalarStyle.Plain } scalar &&
            long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        throw Error(node, $"{context}: expected an integer");
    }

    /// <summary>uid/gid: an integer, or a string naming a container (resolved to its allocated id) or "root".</summary>
    private IdValue? Id(YamlNode node, string context)
    {
        if (IsNull(node))
        {
            return null;
        }

        if (node is not YamlScalarNode scalar)
        {
            throw Error(node, $"{context}: expected a number or a name");
        }

        if (scalar.Style == ScalarStyle.Plain &&
            long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            return IdValue.FromNumber(number);
        }

        return new IdValue(scalar.Value ?? "", 0);
    }

    private string Where(YamlNode node) => $"{_file}:{node.Start.Line}:{node.Start.Column}";

    private ImageBuildException Error(YamlNode node, string message) => new($"{Where(node)}: {message}");
}
