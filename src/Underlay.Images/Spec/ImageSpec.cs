using System.Text.Json.Nodes;

namespace Underlay.Images.Spec;

/// <summary>A LinuxKit YAML document (LINUXKIT.md §1), after parsing and merging.</summary>
internal sealed class ImageSpec
{
    public KernelSpec Kernel { get; set; } = new();
    public List<string> Init { get; } = [];
    public List<ContainerSpec> Onboot { get; } = [];
    public List<ContainerSpec> Onshutdown { get; } = [];
    public List<ContainerSpec> Services { get; } = [];
    public List<FileSpec> Files { get; } = [];
    public List<VolumeSpec> Volumes { get; } = [];
    public List<string> Warnings { get; } = [];
}

internal sealed class KernelSpec
{
    public string? Image { get; set; }
    public string? Cmdline { get; set; }
    public string? Binary { get; set; }

    /// <summary>Null: the default <c>kernel.tar</c>; "" or "none": no module tarball.</summary>
    public string? Tar { get; set; }

    public string? UCode { get; set; }
}

/// <summary>A uid or gid as written in YAML: a number, or the name of a container (allocated per build).</summary>
internal readonly record struct IdValue(string? Name, long Number)
{
    public static IdValue FromNumber(long number) => new(null, number);

    public override string ToString() => Name ?? Number.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

internal sealed class ContainerSpec
{
    public required string Name { get; init; }
    public required string Image { get; init; }
    public required ContainerConfig Config { get; init; }

    /// <summary>"file:line:col" of the entry, for messages.</summary>
    public string Location { get; init; } = "";
}

internal sealed class MountSpec
{
    public string? Destination { get; set; }
    public string? Type { get; set; }
    public string? Source { get; set; }
    public List<string>? Options { get; set; }
}

internal sealed class DeviceSpec
{
    public string Path { get; set; } = "";
    public string Type { get; set; } = "";
    public long Major { get; set; }
    public long Minor { get; set; }
    public string? Mode { get; set; }
}

internal sealed class IdMapping
{
    public long ContainerId { get; set; }
    public long HostId { get; set; }
    public long Size { get; set; }
}

internal sealed class InterfaceSpec
{
    public string? Name { get; set; }
    public string? Add { get; set; }
    public string? Peer { get; set; }
    public bool CreateInRoot { get; set; }
}

internal sealed class BindNamespaces
{
    public string? Cgroup { get; set; }
    public string? Ipc { get; set; }
    public string? Mnt { get; set; }
    public string? Net { get; set; }
    public string? Pid { get; set; }
    public string? User { get; set; }
    public string? Uts { get; set; }
}

/// <summary>Settings LinuxKit's <c>service</c> tool applies before starting a container (written to runtime.json).</summary>
internal sealed class RuntimeSpec
{
    public List<string>? Cgroups { get; set; }
    public List<MountSpec>? Mounts { get; set; }
    public List<string>? Mkdir { get; set; }
    public List<InterfaceSpec>? Interfaces { get; set; }
    public BindNamespaces BindNS { get; set; } = new();
    public string? Namespace { get; set; }
}

/// <summary>
/// The per-container settings (LinuxKit's ImageConfig). Null means "not set", so that the YAML, the image label
/// and the image config can be layered: a set YAML field replaces the label's, the <c>*.add</c> forms merge.
/// </summary>
internal sealed class ContainerConfig
{
    public List<string>? Capabilities { get; set; }
    public List<string>? CapabilitiesAdd { get; set; }
    public List<string>? Ambient { get; set; }
    public List<MountSpec>? Mounts { get; set; }
    public List<string>? Binds { get; set; }
    public List<string>? BindsAdd { get; set; }
    public List<DeviceSpec>? Devices { get; set; }
    public List<string>? Tmpfs { get; set; }
    public List<string>? Command { get; set; }
    public List<string>? Env { get; set; }
    public string? Cwd { get; set; }
    public string? Net { get; set; }
    public string? Pid { get; set; }
    public string? Ipc { get; set; }
    public string? Uts { get; set; }
    public string? Userns { get; set; }
    public string? Hostname { get; set; }
    public bool? Readonly { get; set; }
    public List<string>? MaskedPaths { get; set; }
    public List<string>? ReadonlyPaths { get; set; }
    public IdValue? Uid { get; set; }
    public IdValue? Gid { get; set; }
    public List<IdValue>? AdditionalGids { get; set; }
    public bool? NoNewPrivileges { get; set; }
    public long? OomScoreAdj { get; set; }
    public string? RootfsPropagation { get; set; }
    public string? CgroupsPath { get; set; }

    /// <summary>An OCI <c>linux.resources</c> object, passed through (keys already checked).</summary>
    public JsonObject? Resources { get; set; }

    public Dictionary<string, string>? Sysctl { get; set; }
    public List<string>? Rlimits { get; set; }
    public List<IdMapping>? UidMappings { get; set; }
    public List<IdMapping>? GidMappings { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public RuntimeSpec? Runtime { get; set; }

    public ContainerConfig Clone() => (ContainerConfig)MemberwiseClone();
}

internal sealed class FileSpec
{
    public string Path { get; set; } = "";
    public bool Directory { get; set; }
    public string? Symlink { get; set; }
    public string? Contents { get; set; }
    public string? Source { get; set; }
    public string? Metadata { get; set; }
    public bool Optional { get; set; }
    public string? Mode { get; set; }
    public IdValue? Uid { get; set; }
    public IdValue? Gid { get; set; }
    public string Location { get; init; } = "";
}

internal sealed class VolumeSpec
{
    public string Name { get; set; } = "";
    public string? Image { get; set; }
    public bool Readonly { get; set; }
    public string? Format { get; set; }
    public List<string>? Platforms { get; set; }
    public string Location { get; init; } = "";
}
