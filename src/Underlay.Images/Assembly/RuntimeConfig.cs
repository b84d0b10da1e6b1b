using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Underlay.Images.Oci;
using Underlay.Images.Spec;

namespace Underlay.Images.Assembly;

/// <summary>The generated bundle files of one container.</summary>
internal sealed record BundleConfig(byte[] ConfigJson, ResolvedRuntime Runtime, bool Readonly);

/// <summary>runtime.json content after the label/YAML merge; the rootfs mounts are prepended later.</summary>
internal sealed class ResolvedRuntime
{
    public List<string> Cgroups { get; init; } = [];
    public List<MountSpec> Mounts { get; init; } = [];
    public List<string> Mkdir { get; init; } = [];
    public List<InterfaceSpec> Interfaces { get; init; } = [];
    public BindNamespaces BindNS { get; init; } = new();
    public string Namespace { get; init; } = "";
}

/// <summary>
/// Builds an OCI runtime-spec <c>config.json</c> for a LinuxKit container from three layers of settings, lowest
/// first: the image config (Entrypoint+Cmd, Env, WorkingDir), the <c>org.mobyproject.config</c> label, and the
/// YAML entry (LINUXKIT.md §1.4). A YAML field replaces the label's; <c>capabilities.add</c> and
/// <c>binds.add</c> extend the label's list unless the YAML also sets the full list.
/// </summary>
internal static class RuntimeConfig
{
    public const string LabelName = "org.mobyproject.config";
    public const string OciVersion = "1.1.0";

    /// <summary>Linux capabilities 0..40 (include/uapi/linux/capability.h), the set "all" expands to.</summary>
    public static readonly string[] AllCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
        "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    private static readonly HashSet<string> Rlimits =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
        "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];

    /// <summary>Container ids by name: 100, 101, … in the order onboot, onshutdown, services (LINUXKIT.md §1.4).</summary>
    public static Dictionary<string, long> AllocateIds(ImageSpec spec)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        long next = 100;
        foreach (var container in spec.Onboot.Concat(spec.Onshutdown).Concat(spec.Services))
        {
            ids[container.Name] = next++;
        }

        return ids;
    }

    public static long ResolveId(IdValue? id, IReadOnlyDictionary<string, long> ids, string context)
    {
        if (id is not { } value)
        {
            return 0;
        }

        if (value.Name is null)
        {
            return value.Number;
        }

        if (value.Name is "" or "root")
        {
            return 0;
        }

        return ids.TryGetValue(value.Name, out var number)
            ? number
            : throw new ImageBuildException($"{context}: cannot find id '{value.Name}' (ids are names of onboot, onshutdown or service containers)");
    }

    public static BundleConfig Build(ContainerSpec container, ImageConfigFile? image, IReadOnlyDictionary<string, long> ids)
    {
        var context = $"{container.Location}: {container.Name}";
        var yaml = container.Config;
        var defaults = image?.Config;
        var label = new ContainerConfig();
        if (defaults?.Labels is { } labels && labels.TryGetValue(LabelName, out var labelText) && !string.IsNullOrWhiteSpace(labelText))
        {
            label = SpecParser.ParseLabel(labelText, container.Image);
        }

        var args = yaml.Command ?? label.Command ?? [.. defaults?.Entrypoint ?? [], .. defaults?.Cmd ?? []];
        var env = yaml.Env ?? label.Env ?? defaults?.Env ?? [];
        var cwd = FirstNonEmpty(yaml.Cwd, label.Cwd, defaults?.WorkingDir) ?? "/";
        var readOnly = yaml.Readonly ?? label.Readonly ?? false;

        // Docker's default mount options; /dev/shm and /dev/mqueue are left out as LinuxKit does.
        var mounts = new Dictionary<string, MountSpec>(StringComparer.Ordinal)
        {
            ["/proc"] = new() { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "nodev", "noexec", "relatime"] },
            ["/dev"] = new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k", .. readOnly ? new[] { "ro" } : []] },
            ["/dev/pts"] = new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
            ["/sys"] = new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", .. readOnly ? new[] { "ro" } : []] },
            ["/sys/fs/cgroup"] = new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = ["nosuid", "noexec", "nodev", "relatime", "ro"] },
        };
        foreach (var tmpfs in yaml.Tmpfs ?? label.Tmpfs ?? [])
        {
            var parts = tmpfs.Split(':');
            if (parts.Length > 2)
            {
                throw new ImageBuildException($"{context}: cannot parse tmpfs '{tmpfs}': too many ':'");
            }

            mounts[parts[0]] = new MountSpec { Destination = parts[0], Type = "tmpfs", Source = "tmpfs", Options = parts.Length == 2 ? [.. parts[1].Split(',')] : null };
        }

        foreach (var bind in yaml.Binds ?? Union(label.Binds, yaml.BindsAdd))
        {
            var parts = bind.Split(':');
            if (parts.Length is < 2 or > 3)
            {
                throw new ImageBuildException($"{context}: cannot parse bind '{bind}': expected source:destination[:options]");
            }

            // Binds default to rw,rbind,rshared; explicit options get rbind appended.
            List<string> options = parts.Length == 3 ? [.. parts[2].Split(','), "rbind"] : ["rw", "rbind", "rshared"];
            mounts[parts[1]] = new MountSpec { Destination = parts[1], Type = "bind", Source = parts[0], Options = options };
        }

        foreach (var mount in yaml.Mounts ?? label.Mounts ?? [])
        {
            var type = mount.Type;
            if (string.IsNullOrEmpty(type) && mount.Source is "mqueue" or "devpts" or "proc" or "sysfs" or "cgroup")
            {
                type = mount.Source;
            }

            if (string.IsNullOrEmpty(type) && mount.Destination == "/dev")
            {
                type = "tmpfs";
            }

            if (string.IsNullOrEmpty(type))
            {
                throw new ImageBuildException($"{context}: mount for destination {mount.Destination} is missing its type");
            }

            var destination = string.IsNullOrEmpty(mount.Destination) ? DefaultMountpoint(type) : mount.Destination;
            if (string.IsNullOrEmpty(destination))
            {
                throw new ImageBuildException($"{context}: mount of type {type} is missing its destination");
            }

            mounts[destination] = new MountSpec { Destination = destination, Type = type, Source = string.IsNullOrEmpty(mount.Source) ? type : mount.Source, Options = mount.Options };
        }

        var namespaces = new List<(string Type, string Path)>();
        AddNamespace(namespaces, "network", FirstNonEmpty(yaml.Net, label.Net) ?? "root", newValues: ["none", "new"]);
        AddNamespace(namespaces, "ipc", FirstNonEmpty(yaml.Ipc, label.Ipc) ?? "root", newValues: ["new"]);
        AddNamespace(namespaces, "uts", FirstNonEmpty(yaml.Uts, label.Uts) ?? "root", newValues: ["new"]);
        AddNamespace(namespaces, "pid", FirstNonEmpty(yaml.Pid, label.Pid) ?? "", newValues: ["new"]); // a new pid namespace unless "host"
        AddNamespace(namespaces, "user", FirstNonEmpty(yaml.Userns, label.Userns) ?? "root", newValues: ["new"]);
        namespaces.Add(("mount", ""));
        namespaces.Add(("cgroup", ""));

        var capabilities = ExpandCapabilities(yaml.Capabilities ?? Union(label.Capabilities, yaml.CapabilitiesAdd), context);
        var ambient = ExpandCapabilities(yaml.Ambient ?? label.Ambient ?? [], context);
        var bounding = capabilities.Concat(ambient).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        var rlimits = new List<(string Type, ulong Soft, ulong Hard)>();
        foreach (var text in yaml.Rlimits ?? label.Rlimits ?? [])
        {
            var parts = text.Split(',', 3);
            if (parts.Length != 3)
            {
                throw new ImageBuildException($"{context}: cannot parse rlimit '{text}': expected name,soft,hard");
            }

            var type = parts[0].Trim().ToUpperInvariant();
            if (!type.StartsWith("RLIMIT_", StringComparison.Ordinal))
            {
                type = "RLIMIT_" + type;
            }

            if (!Rlimits.Contains(type))
            {
                throw new ImageBuildException($"{context}: unknown rlimit '{parts[0].Trim()}'");
            }

            rlimits.Add((type, ParseLimit(parts[1], context), ParseLimit(parts[2], context)));
        }

        var uid = ResolveId(yaml.Uid ?? label.Uid, ids, context);
        var gid = ResolveId(yaml.Gid ?? label.Gid, ids, context);
        var additionalGids = (yaml.AdditionalGids ?? label.AdditionalGids ?? []).Select(g => ResolveId(g, ids, context)).ToList();

        var resources = (JsonObject?)(yaml.Resources ?? label.Resources)?.DeepClone() ?? new JsonObject();
        var devices = new List<DeviceSpec>();
        foreach (var device in yaml.Devices ?? label.Devices ?? [])
        {
            var cgroupDevices = resources["devices"] as JsonArray ?? [];
            resources["devices"] = cgroupDevices;
            if (device.Path == "all")
            {
                // A whole device class: only a device-cgroup allow rule.
                cgroupDevices.Add((JsonNode)new JsonObject { ["allow"] = true, ["type"] = device.Type, ["access"] = "rwm" });
                continue;
            }

            if (string.IsNullOrEmpty(device.Mode) || !TryParseOctal(device.Mode, out _))
            {
                throw new ImageBuildException($"{context}: device {device.Path}: cannot parse mode '{device.Mode}' as an octal value");
            }

            devices.Add(device);
            cgroupDevices.Add((JsonNode)new JsonObject { ["allow"] = true, ["type"] = device.Type, ["major"] = device.Major, ["minor"] = device.Minor, ["access"] = "rwm" });
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 4 }))
        {
            json.WriteStartObject();
            json.WriteString("ociVersion", OciVersion);
            json.WriteStartObject("process");
            json.WriteStartObject("user");
            json.WriteNumber("uid", uid);
            json.WriteNumber("gid", gid);
            WriteNumbers(json, "additionalGids", additionalGids);
            json.WriteEndObject();
            WriteStrings(json, "args", args);
            WriteStrings(json, "env", env);
            json.WriteString("cwd", cwd);
            json.WriteStartObject("capabilities");
            WriteStrings(json, "bounding", bounding);
            WriteStrings(json, "effective", capabilities);
            WriteStrings(json, "inheritable", bounding);
            WriteStrings(json, "permitted", bounding);
            WriteStrings(json, "ambient", ambient);
            json.WriteEndObject();
            if (rlimits.Count > 0)
            {
                json.WriteStartArray("rlimits");
                foreach (var (type, soft, hard) in rlimits)
                {
                    json.WriteStartObject();
                    json.WriteString("type", type);
                    json.WriteNumber("hard", hard);
                    json.WriteNumber("soft", soft);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            if (yaml.NoNewPrivileges ?? label.NoNewPrivileges ?? false)
            {
                json.WriteBoolean("noNewPrivileges", true);
            }

            if ((yaml.OomScoreAdj ?? label.OomScoreAdj) is { } oom)
            {
                json.WriteNumber("oomScoreAdj", oom);
            }

            json.WriteEndObject();
            json.WriteStartObject("root");
            json.WriteString("path", "rootfs");
            if (readOnly)
            {
                json.WriteBoolean("readonly", true);
            }

            json.WriteEndObject();
            if (FirstNonEmpty(yaml.Hostname, label.Hostname) is { } hostname)
            {
                json.WriteString("hostname", hostname);
            }

            // Sorted by destination so the order is stable and /dev precedes /dev/pts.
            json.WriteStartArray("mounts");
            foreach (var mount in mounts.Values.OrderBy(m => m.Destination, StringComparer.Ordinal))
            {
                WriteMount(json, mount);
            }

            json.WriteEndArray();
            WriteMap(json, "annotations", yaml.Annotations ?? label.Annotations);
            json.WriteStartObject("linux");
            WriteMappings(json, "uidMappings", yaml.UidMappings ?? label.UidMappings);
            WriteMappings(json, "gidMappings", yaml.GidMappings ?? label.GidMappings);
            WriteMap(json, "sysctl", yaml.Sysctl ?? label.Sysctl);
            json.WritePropertyName("resources");
            resources.WriteTo(json);
            if (FirstNonEmpty(yaml.CgroupsPath, label.CgroupsPath) is { } cgroupsPath)
            {
                json.WriteString("cgroupsPath", cgroupsPath);
            }

            json.WriteStartArray("namespaces");
            foreach (var (type, path) in namespaces)
            {
                json.WriteStartObject();
                json.WriteString("type", type);
                if (path.Length > 0)
                {
                    json.WriteString("path", path);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (devices.Count > 0)
            {
                json.WriteStartArray("devices");
                foreach (var device in devices)
                {
                    json.WriteStartObject();
                    json.WriteString("path", device.Path);
                    json.WriteString("type", device.Type);
                    json.WriteNumber("major", device.Major);
                    json.WriteNumber("minor", device.Minor);
                    _ = TryParseOctal(device.Mode!, out var mode);
                    json.WriteNumber("fileMode", mode);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            if (FirstNonEmpty(yaml.RootfsPropagation, label.RootfsPropagation) is { } propagation)
            {
                json.WriteString("rootfsPropagation", propagation);
            }

            WriteStrings(json, "maskedPaths", yaml.MaskedPaths ?? label.MaskedPaths ?? []);
            WriteStrings(json, "readonlyPaths", yaml.ReadonlyPaths ?? label.ReadonlyPaths ?? []);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        var runtime = MergeRuntime(label.Runtime, yaml.Runtime);
        return new BundleConfig(buffer.ToArray(), runtime, readOnly);
    }

    /// <summary>Each runtime field: the YAML's if set, else the label's.</summary>
    private static ResolvedRuntime MergeRuntime(RuntimeSpec? label, RuntimeSpec? yaml) => new()
    {
        Cgroups = yaml?.Cgroups ?? label?.Cgroups ?? [],
        Mounts = yaml?.Mounts ?? label?.Mounts ?? [],
        Mkdir = yaml?.Mkdir ?? label?.Mkdir ?? [],
        Interfaces = yaml?.Interfaces ?? label?.Interfaces ?? [],
        BindNS = new BindNamespaces
        {
            Cgroup = yaml?.BindNS.Cgroup ?? label?.BindNS.Cgroup ?? "",
            Ipc = yaml?.BindNS.Ipc ?? label?.BindNS.Ipc ?? "",
            Mnt = yaml?.BindNS.Mnt ?? label?.BindNS.Mnt ?? "",
            Net = yaml?.BindNS.Net ?? label?.BindNS.Net ?? "",
            Pid = yaml?.BindNS.Pid ?? label?.BindNS.Pid ?? "",
            User = yaml?.BindNS.User ?? label?.BindNS.User ?? "",
            Uts = yaml?.BindNS.Uts ?? label?.BindNS.Uts ?? "",
        },
        Namespace = yaml?.Namespace ?? label?.Namespace ?? "",
    };

    /// <summary>runtime.json as LinuxKit's <c>service</c> tool reads it; <paramref name="rootfsMounts"/> go first.</summary>
    public static byte[] RuntimeJson(ResolvedRuntime runtime, IEnumerable<MountSpec> rootfsMounts)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, IndentSize = 4 }))
        {
            json.WriteStartObject();
            json.WriteStartArray("cgroups");
            runtime.Cgroups.ForEach(json.WriteStringValue);
            json.WriteEndArray();
            json.WriteStartArray("mounts");
            foreach (var mount in rootfsMounts.Concat(runtime.Mounts))
            {
                WriteMount(json, mount);
            }

            json.WriteEndArray();
            json.WriteStartArray("mkdir");
            runtime.Mkdir.ForEach(json.WriteStringValue);
            json.WriteEndArray();
            json.WriteStartArray("interfaces");
            foreach (var item in runtime.Interfaces)
            {
                json.WriteStartObject();
                WriteOptional(json, "name", item.Name);
                WriteOptional(json, "add", item.Add);
                WriteOptional(json, "peer", item.Peer);
                json.WriteBoolean("createInRoot", item.CreateInRoot);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartObject("bindNS");
            json.WriteString("cgroup", runtime.BindNS.Cgroup ?? "");
            json.WriteString("ipc", runtime.BindNS.Ipc ?? "");
            json.WriteString("mnt", runtime.BindNS.Mnt ?? "");
            json.WriteString("net", runtime.BindNS.Net ?? "");
            json.WriteString("pid", runtime.BindNS.Pid ?? "");
            json.WriteString("user", runtime.BindNS.User ?? "");
            json.WriteString("uts", runtime.BindNS.Uts ?? "");
            json.WriteEndObject();
            json.WriteString("namespace", runtime.Namespace);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void AddNamespace(List<(string, string)> namespaces, string type, string value, string[] newValues)
    {
        if (value is "host" or "root")
        {
            return;
        }

        namespaces.Add((type, newValues.Contains(value) ? "" : value));
    }

    private static List<string> ExpandCapabilities(List<string> capabilities, string context)
    {
        if (capabilities.Count == 1)
        {
            switch (capabilities[0].ToLowerInvariant())
            {
                case "none":
                    return [];
                case "all":
                    return [.. AllCapabilities];
            }
        }

        foreach (var capability in capabilities)
        {
            if (Array.IndexOf(AllCapabilities, capability) < 0)
            {
                throw new ImageBuildException($"{context}: unknown capability '{capability}'");
            }
        }

        return capabilities;
    }

    /// <summary>The label's list followed by the additions, without repeats.</summary>
    private static List<string> Union(List<string>? first, List<string>? second) =>
        (first ?? []).Concat(second ?? []).Distinct(StringComparer.Ordinal).ToList();

    private static string? FirstNonEmpty(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));

    private static string DefaultMountpoint(string type) => type switch
    {
        "proc" => "/proc",
        "devpts" => "/dev/pts",
        "sysfs" => "/sys",
        "cgroup" => "/sys/fs/cgroup",
        "mqueue" => "/dev/mqueue",
        _ => "",
    };

    private static ulong ParseLimit(string text, string context)
    {
        text = text.Trim();
        if (text.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.MaxValue;
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ImageBuildException($"{context}: cannot parse rlimit value '{text}'");
    }

    public static bool TryParseOctal(string text, out int value)
    {
        value = 0;
        if (text.Length == 0 || text.Length > 11)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }

            value = (value * 8) + (c - '0');
        }

        return true;
    }

    private static void WriteMount(Utf8JsonWriter json, MountSpec mount)
    {
        json.WriteStartObject();
        json.WriteString("destination", mount.Destination ?? "");
        WriteOptional(json, "type", mount.Type);
        WriteOptional(json, "source", mount.Source);
        if (mount.Options is { Count: > 0 })
        {
            WriteStrings(json, "options", mount.Options);
        }

        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, List<string> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        json.WriteStartArray(name);
        values.ForEach(json.WriteStringValue);
        json.WriteEndArray();
    }

    private static void WriteNumbers(Utf8JsonWriter json, string name, List<long> values)
    {
        if (values.Count == 0)
        {
            return;
        }

        json.WriteStartArray(name);
        values.ForEach(json.WriteNumberValue);
        json.WriteEndArray();
    }

    private static void WriteMap(Utf8JsonWriter json, string name, Dictionary<string, string>? map)
    {
        if (map is not { Count: > 0 })
        {
            return;
        }

        json.WriteStartObject(name);
        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }

    private static void WriteMappings(Utf8JsonWriter json, string name, List<IdMapping>? mappings)
    {
        if (mappings is not { Count: > 0 })
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var mapping in mappings)
        {
            json.WriteStartObject();
            json.WriteNumber("containerID", mapping.ContainerId);
            json.WriteNumber("hostID", mapping.HostId);
            json.WriteNumber("size", mapping.Size);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }
}
