using System.Text.Json;
using System.Text.Json.Serialization;

namespace Underlay.Core.Models;

/// <summary>A template reference embedded in bootenvs, stages and tasks (DRP <c>TemplateInfo</c>).</summary>
public sealed class TemplateInfo
{
    public string Name { get; set; } = "";

    /// <summary>Where the render goes: a virtual file path for bootenvs, a file on the machine for tasks. Itself a template.</summary>
    public string Path { get; set; } = "";

    /// <summary>The ID of a stored Template to render.</summary>
    public string ID { get; set; } = "";

    /// <summary>Inline template text, used when <see cref="ID"/> is empty.</summary>
    public string Contents { get; set; } = "";

    /// <summary>A URL to redirect to instead of rendering.</summary>
    public string Link { get; set; } = "";

    public Dictionary<string, string> Meta { get; set; } = [];
}

/// <summary>A machine being provisioned (DRP <c>models.Machine</c>).</summary>
public sealed class Machine : ModelBase, IParamHolder, IProfileHolder
{
    public Guid Uuid { get; set; }

    public string Name { get; set; } = "";

    public string Description { get; set; } = "";

    /// <summary>The IPv4 address used for rendering, updated from DHCP.</summary>
    public string Address { get; set; } = "";

    public List<string> HardwareAddrs { get; set; } = [];

    public string BootEnv { get; set; } = "";

    public string Stage { get; set; } = "";

    public string Workflow { get; set; } = "";

    public List<string> Profiles { get; set; } = [];

    public Dictionary<string, JsonElement> Params { get; set; } = [];

    /// <summary>The expanded task list: task names plus <c>stage:</c>, <c>bootenv:</c>, <c>context:</c> entries.</summary>
    public List<string> Tasks { get; set; } = [];

    /// <summary>Index into <see cref="Tasks"/> of the task being run; -1 before the first.</summary>
    public int CurrentTask { get; set; } = -1;

    public string CurrentJob { get; set; } = "";

    public bool Runnable { get; set; } = true;

    public string Context { get; set; } = "";

    public string Arch { get; set; } = "amd64";

    public string OS { get; set; } = "";

    /// <summary>Signing secret for this machine's tokens; rotating it revokes them.</summary>
    public string Secret { get; set; } = "";

    public bool Locked { get; set; }

    public MachineFingerprint Fingerprint { get; set; } = new();

    public bool WorkflowComplete { get; set; }

    public int RetryTaskAttempt { get; set; }

    public List<List<string>> TaskErrorStacks { get; set; } = [];

    public string Pool { get; set; } = "";

    public string PoolStatus { get; set; } = "";

    public bool PoolAllocated { get; set; }

    [JsonIgnore]
    public override string Prefix => "machines";

    [JsonIgnore]
    public override string Key => Uuid.ToString();

    public override void SetKey(string key) => Uuid = Guid.Parse(key);
}

/// <summary>Hardware evidence used by whoami to recognise a machine (DRP <c>MachineFingerprint</c>).</summary>
public sealed class MachineFingerprint
{
    public string SSNHash { get; set; } = "";

    public string CSNHash { get; set; } = "";

    public string SystemUUID { get; set; } = "";

    public List<string> MemoryIds { get; set; } = [];

    public string CloudInstanceID { get; set; } = "";
}

public sealed class BootEnvOS
{
    public string Name { get; set; } = "";

    public string Family { get; set; } = "";

    public string Codename { get; set; } = "";

    public string Version { get; set; } = "";

    public string IsoFile { get; set; } = "";

    public string IsoSha256 { get; set; } = "";

    public string IsoUrl { get; set; } = "";

    public Dictionary<string, ArchInfo> SupportedArchitectures { get; set; } = [];
}

/// <summary>Per-architecture overrides of a BootEnv's OS image and boot files.</summary>
public sealed class ArchInfo
{
    public string IsoFile { get; set; } = "";

    public string Sha256 { get; set; } = "";

    public string IsoUrl { get; set; } = "";

    public string Kernel { get; set; } = "";

    public List<string> Initrds { get; set; } = [];

    public string BootParams { get; set; } = "";

    public string Loader { get; set; } = "";
}

/// <summary>A boot environment: what a machine network-boots into (DRP <c>models.BootEnv</c>).</summary>
public sealed class BootEnv : NamedModel
{
    public BootEnvOS OS { get; set; } = new();

    public List<TemplateInfo> Templates { get; set; } = [];

    /// <summary>Kernel path relative to the OS install tree; empty means "not net-bootable" (e.g. <c>local</c>).</summary>
    public string Kernel { get; set; } = "";

    public List<string> Initrds { get; set; } = [];

    /// <summary>Kernel command line; a template.</summary>
    public string BootParams { get; set; } = "";

    public List<string> RequiredParams { get; set; } = [];

    public List<string> OptionalParams { get; set; } = [];

    /// <summary>Rendered only for unknown machines, into the fallback files.</summary>
    public bool OnlyUnknown { get; set; }

    /// <summary>Boot loader overrides keyed by <c>386-pcbios</c>, <c>amd64-uefi</c>, <c>arm64-uefi</c>.</summary>
    public Dictionary<string, string> Loaders { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "bootenvs";
}

/// <summary>A stored Go text/template (DRP <c>models.Template</c>).</summary>
public sealed class Template : ModelBase
{
    public string ID { get; set; } = "";

    public string Description { get; set; } = "";

    public string Contents { get; set; } = "";

    [JsonIgnore]
    public override string Prefix => "templates";

    [JsonIgnore]
    public override string Key => ID;

    public override void SetKey(string key) => ID = key;
}

/// <summary>A parameter definition with a JSON Schema that every stored value must satisfy.</summary>
public sealed class Param : NamedModel
{
    public bool Secure { get; set; }

    /// <summary>JSON Schema (draft 4 compatible); its <c>default</c> is the last-resort value.</summary>
    public JsonElement? Schema { get; set; }

    [JsonIgnore]
    public override string Prefix => "params";
}

public sealed class Profile : NamedModel, IParamHolder, IProfileHolder
{
    public Dictionary<string, JsonElement> Params { get; set; } = [];

    public List<string> Profiles { get; set; } = [];

    public bool Partial { get; set; }

    [JsonIgnore]
    public override string Prefix => "profiles";
}

/// <summary>A DHCP option sent to clients; <see cref="Value"/> is a template.</summary>
public sealed class DhcpOption
{
    public int Code { get; set; }

    public string Value { get; set; } = "";

    public string Description { get; set; } = "";
}

/// <summary>A DHCPv4 scope (DRP <c>models.Subnet</c>).</summary>
public sealed class Subnet : NamedModel
{
    public bool Enabled { get; set; } = true;

    /// <summary>Proxy DHCP: answer PXE clients with boot options only, never with an address.</summary>
    public bool Proxy { get; set; }

    /// <summary>Never send boot options from this subnet.</summary>
    public bool Unmanaged { get; set; }

    /// <summary>The network in CIDR form, e.g. <c>10.0.0.0/24</c>.</summary>
    [JsonPropertyName("Subnet")]
    public string Cidr { get; set; } = "";

    public string NextServer { get; set; } = "";

    public string ActiveStart { get; set; } = "";

    public string ActiveEnd { get; set; } = "";

    /// <summary>Seconds; DRP's default and minimum is 60.</summary>
    public int ActiveLeaseTime { get; set; } = 60;

    /// <summary>Seconds; DRP's default and minimum is 7200.</summary>
    public int ReservedLeaseTime { get; set; } = 7200;

    public bool OnlyReservations { get; set; }

    public List<DhcpOption> Options { get; set; } = [];

    public string Strategy { get; set; } = "MAC";

    public List<string> Pickers { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "subnets";
}

/// <summary>A fixed address for a MAC (DRP <c>models.Reservation</c>).</summary>
public sealed class Reservation : ModelBase
{
    public string Addr { get; set; } = "";

    /// <summary>The client identity, the MAC address for strategy <c>MAC</c>.</summary>
    public string Token { get; set; } = "";

    public string Strategy { get; set; } = "MAC";

    public string Subnet { get; set; } = "";

    public bool Scoped { get; set; }

    public string NextServer { get; set; } = "";

    public List<DhcpOption> Options { get; set; } = [];

    /// <summary>Lease duration in seconds; 0 means the subnet's ReservedLeaseTime.</summary>
    public int Duration { get; set; }

    public string Description { get; set; } = "";

    public string Documentation { get; set; } = "";

    [JsonIgnore]
    public override string Prefix => "reservations";

    [JsonIgnore]
    public override string Key => Addr;

    public override void SetKey(string key) => Addr = key;
}

public static class LeaseStates
{
    public const string Probe = "PROBE";
    public const string Offer = "OFFER";
    public const string Ack = "ACK";
    public const string Expired = "EXPIRED";
    public const string Invalid = "INVALID";
    public const string Fake = "FAKE";
}

/// <summary>An address handed to (or held for) a client (DRP <c>models.Lease</c>).</summary>
public sealed class Lease : ModelBase
{
    public string Addr { get; set; } = "";

    public string Token { get; set; } = "";

    public string Strategy { get; set; } = "MAC";

    public string State { get; set; } = LeaseStates.Offer;

    public DateTime ExpireTime { get; set; }

    /// <summary>The relay (giaddr) or interface address the lease was handed out through.</summary>
    public string Via { get; set; } = "";

    public List<DhcpOption> Options { get; set; } = [];

    public int Duration { get; set; }

    public string NextServer { get; set; } = "";

    [JsonIgnore]
    public override string Prefix => "leases";

    [JsonIgnore]
    public override string Key => Addr;

    public override void SetKey(string key) => Addr = key;
}

public sealed class Stage : NamedModel, IParamHolder, IProfileHolder
{
    /// <summary>Empty means "keep the machine's current bootenv".</summary>
    public string BootEnv { get; set; } = "";

    public List<string> Tasks { get; set; } = [];

    public List<string> Profiles { get; set; } = [];

    public Dictionary<string, JsonElement> Params { get; set; } = [];

    public List<TemplateInfo> Templates { get; set; } = [];

    public List<string> RequiredParams { get; set; } = [];

    public List<string> OptionalParams { get; set; } = [];

    /// <summary>Deprecated in DRP v4; kept for content compatibility.</summary>
    public bool Reboot { get; set; }

    /// <summary>Deprecated in DRP v4; kept for content compatibility.</summary>
    public bool RunnerWait { get; set; }

    public bool Partial { get; set; }

    [JsonIgnore]
    public override string Prefix => "stages";
}

/// <summary>A claim (scope, action, specific); any part may be <c>*</c> or a comma-separated list.</summary>
public sealed class Claim
{
    public string Scope { get; set; } = "";

    public string Action { get; set; } = "";

    public string Specific { get; set; } = "";
}

public sealed class TaskModel : NamedModel
{
    public List<TemplateInfo> Templates { get; set; } = [];

    public List<string> RequiredParams { get; set; } = [];

    public List<string> OptionalParams { get; set; } = [];

    /// <summary>Tasks inserted before this one when a task list is expanded.</summary>
    public List<string> Prerequisites { get; set; } = [];

    public List<Claim> ExtraClaims { get; set; } = [];

    public List<string> ExtraRoles { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "tasks";
}

public sealed class Workflow : NamedModel
{
    public List<string> Stages { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "workflows";
}

public static class JobStates
{
    public const string Created = "created";
    public const string Running = "running";
    public const string Incomplete = "incomplete";
    public const string Failed = "failed";
    public const string Finished = "finished";
}

/// <summary>One run of a task on a machine (DRP <c>models.Job</c>).</summary>
public sealed class Job : ModelBase
{
    public Guid Uuid { get; set; }

    public Guid Previous { get; set; }

    public Guid Machine { get; set; }

    public string Task { get; set; } = "";

    public string Stage { get; set; } = "";

    public string Workflow { get; set; } = "";

    public string BootEnv { get; set; } = "";

    public string Context { get; set; } = "";

    public string State { get; set; } = JobStates.Created;

    /// <summary>reboot, poweroff, stop, complete or failed.</summary>
    public string ExitState { get; set; } = "";

    public DateTime StartTime { get; set; }

    public DateTime EndTime { get; set; }

    public bool Current { get; set; }

    public int CurrentIndex { get; set; }

    public int NextIndex { get; set; }

    public bool Archived { get; set; }

    public List<string> ResultErrors { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "jobs";

    [JsonIgnore]
    public override string Key => Uuid.ToString();

    public override void SetKey(string key) => Uuid = Guid.Parse(key);
}

public sealed class User : ModelBase
{
    public string Name { get; set; } = "";

    public string Description { get; set; } = "";

    /// <summary>Never returned by the API (see <see cref="Json.UnderlayJson"/>); set through the password endpoint.</summary>
    public string PasswordHash { get; set; } = "";

    /// <summary>Signing secret; rotating it revokes the user's tokens.</summary>
    public string Secret { get; set; } = "";

    public List<string> Roles { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "users";

    [JsonIgnore]
    public override string Key => Name;

    public override void SetKey(string key) => Name = key;
}

public sealed class Role : NamedModel
{
    public List<Claim> Claims { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "roles";
}

public sealed class Tenant : NamedModel
{
    public Dictionary<string, List<string>> Members { get; set; } = [];

    public List<string> Users { get; set; } = [];

    [JsonIgnore]
    public override string Prefix => "tenants";
}

/// <summary>A task execution context (DRP v4.1); loaded from content packs, not yet run by Underlay.</summary>
public sealed class ContextModel : NamedModel
{
    public string Engine { get; set; } = "";

    public string Image { get; set; } = "";

    [JsonIgnore]
    public override string Prefix => "contexts";
}

/// <summary>A server preference such as <c>unknownBootEnv</c>; exposed as a map through <c>/api/v3/prefs</c>.</summary>
public sealed class Pref : ModelBase
{
    public string Name { get; set; } = "";

    public string Val { get; set; } = "";

    [JsonIgnore]
    public override string Prefix => "prefs";

    [JsonIgnore]
    public override string Key => Name;

    public override void SetKey(string key) => Name = key;
}
