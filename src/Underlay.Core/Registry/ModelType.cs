using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Underlay.Core.Json;
using Underlay.Core.Models;

namespace Underlay.Core.Registry;

/// <summary>Everything generic code (store, filters, API, CLI) needs to know about one object type.</summary>
public sealed class ModelType
{
    private readonly Dictionary<string, IndexDefinition> _indexes;

    internal ModelType(string prefix, string singular, Type clrType, JsonTypeInfo typeInfo, Func<ModelBase> create, string keyIndex, IReadOnlyList<IndexDefinition> indexes)
    {
        Prefix = prefix;
        Singular = singular;
        ClrType = clrType;
        TypeInfo = typeInfo;
        Create = create;
        KeyIndex = keyIndex;
        Indexes = indexes;
        _indexes = indexes.ToDictionary(i => i.Name, StringComparer.Ordinal);
        _outputTypeInfo = UnderlayJson.Output.GetTypeInfo(clrType);
    }

    private readonly JsonTypeInfo _outputTypeInfo;

    /// <summary>The plural API prefix, e.g. <c>machines</c>.</summary>
    public string Prefix { get; }

    /// <summary>The singular name, e.g. <c>machine</c>, used in messages.</summary>
    public string Singular { get; }

    public Type ClrType { get; }

    public JsonTypeInfo TypeInfo { get; }

    public Func<ModelBase> Create { get; }

    /// <summary>The name of the index holding the primary key (<c>Uuid</c>, <c>Name</c>, <c>Addr</c>, <c>ID</c>).</summary>
    public string KeyIndex { get; }

    public IReadOnlyList<IndexDefinition> Indexes { get; }

    /// <summary>True for types whose objects carry <c>Params</c>.</summary>
    public bool HasParams => typeof(IParamHolder).IsAssignableFrom(ClrType);

    public IndexDefinition? FindIndex(string name) => _indexes.GetValueOrDefault(name);

    /// <summary>Reads an object with every field (the database's form).</summary>
    public ModelBase Deserialize(ReadOnlySpan<byte> utf8Json) =>
        (ModelBase?)JsonSerializer.Deserialize(utf8Json, TypeInfo) ?? throw new JsonException("null object");

    /// <summary>Reads an object with the given settings (strict for the API, lenient for content packs).</summary>
    public ModelBase Deserialize(ReadOnlySpan<byte> utf8Json, JsonSerializerOptions options) =>
        (ModelBase?)JsonSerializer.Deserialize(utf8Json, options.GetTypeInfo(ClrType)) ?? throw new JsonException("null object");

    public ModelBase Deserialize(JsonElement element, JsonSerializerOptions options) =>
        (ModelBase?)element.Deserialize(options.GetTypeInfo(ClrType)) ?? throw new JsonException("null object");

    /// <summary>Every field, secrets included: only for the database and <see cref="Clone"/>.</summary>
    public byte[] Serialize(ModelBase model) => JsonSerializer.SerializeToUtf8Bytes(model, TypeInfo);

    /// <summary>The form that leaves the server: secrets removed.</summary>
    public byte[] SerializeForOutput(ModelBase model) => JsonSerializer.SerializeToUtf8Bytes(model, _outputTypeInfo);

    /// <summary>Writes the output form to a writer (list responses stream objects one by one).</summary>
    public void WriteForOutput(Utf8JsonWriter writer, ModelBase model) => JsonSerializer.Serialize(writer, model, _outputTypeInfo);

    public JsonElement ToOutputElement(ModelBase model) => JsonSerializer.SerializeToElement(model, _outputTypeInfo);

    /// <summary>A deep copy, for writers that change an object the store already holds.</summary>
    public ModelBase Clone(ModelBase model) => Deserialize(Serialize(model));
}

/// <summary>The table of object types Underlay stores and serves under <c>/api/v3</c>.</summary>
public static class ModelTypes
{
    private static readonly UnderlayJsonContext Json = UnderlayJsonContext.Default;

    public static readonly ModelType Machines = Define<Machine>("machines", "machine", Json.Machine, nameof(Machine.Uuid),
    [
        IndexDefinition.Of<Machine>("Uuid", IndexKind.Uuid, m => m.Uuid, unique: true),
        IndexDefinition.Of<Machine>("Name", IndexKind.String, m => m.Name, unique: true),
        IndexDefinition.Of<Machine>("Address", IndexKind.Address, m => m.Address),
        IndexDefinition.Many<Machine>("HardwareAddrs", m => m.HardwareAddrs, unique: true),
        IndexDefinition.Of<Machine>("BootEnv", IndexKind.String, m => m.BootEnv),
        IndexDefinition.Of<Machine>("Stage", IndexKind.String, m => m.Stage),
        IndexDefinition.Of<Machine>("Workflow", IndexKind.String, m => m.Workflow),
        IndexDefinition.Of<Machine>("Runnable", IndexKind.Boolean, m => m.Runnable),
        IndexDefinition.Of<Machine>("WorkflowComplete", IndexKind.Boolean, m => m.WorkflowComplete),
        IndexDefinition.Of<Machine>("CurrentTask", IndexKind.Integer, m => m.CurrentTask),
        IndexDefinition.Of<Machine>("Context", IndexKind.String, m => m.Context),
        IndexDefinition.Of<Machine>("Arch", IndexKind.String, m => m.Arch),
        IndexDefinition.Of<Machine>("OS", IndexKind.String, m => m.OS),
        IndexDefinition.Of<Machine>("Locked", IndexKind.Boolean, m => m.Locked),
        IndexDefinition.Of<Machine>("Pool", IndexKind.String, m => m.Pool),
        IndexDefinition.Of<Machine>("Description", IndexKind.String, m => m.Description),
    ]);

    public static readonly ModelType BootEnvs = Define<BootEnv>("bootenvs", "bootenv", Json.BootEnv, "Name",
    [
        Named<BootEnv>(),
        IndexDefinition.Of<BootEnv>("OnlyUnknown", IndexKind.Boolean, b => b.OnlyUnknown),
        IndexDefinition.Of<BootEnv>("OsName", IndexKind.String, b => b.OS.Name),
    ]);

    public static readonly ModelType Templates = Define<Template>("templates", "template", Json.Template, "ID",
    [
        IndexDefinition.Of<Template>("ID", IndexKind.String, t => t.ID, unique: true),
    ]);

    public static readonly ModelType Params = Define<Param>("params", "param", Json.Param, "Name",
    [
        Named<Param>(),
        IndexDefinition.Of<Param>("Secure", IndexKind.Boolean, p => p.Secure),
    ]);

    public static readonly ModelType Profiles = Define<Profile>("profiles", "profile", Json.Profile, "Name", [Named<Profile>()]);

    public static readonly ModelType Subnets = Define<Subnet>("subnets", "subnet", Json.Subnet, "Name",
    [
        Named<Subnet>(),
        IndexDefinition.Of<Subnet>("Subnet", IndexKind.String, s => s.Cidr),
        IndexDefinition.Of<Subnet>("Enabled", IndexKind.Boolean, s => s.Enabled),
        IndexDefinition.Of<Subnet>("Proxy", IndexKind.Boolean, s => s.Proxy),
        IndexDefinition.Of<Subnet>("Unmanaged", IndexKind.Boolean, s => s.Unmanaged),
        IndexDefinition.Of<Subnet>("OnlyReservations", IndexKind.Boolean, s => s.OnlyReservations),
        IndexDefinition.Of<Subnet>("NextServer", IndexKind.Address, s => s.NextServer),
        IndexDefinition.Of<Subnet>("ActiveStart", IndexKind.Address, s => s.ActiveStart),
        IndexDefinition.Of<Subnet>("ActiveEnd", IndexKind.Address, s => s.ActiveEnd),
        IndexDefinition.Of<Subnet>("ActiveLeaseTime", IndexKind.Integer, s => s.ActiveLeaseTime),
        IndexDefinition.Of<Subnet>("ReservedLeaseTime", IndexKind.Integer, s => s.ReservedLeaseTime),
        IndexDefinition.Of<Subnet>("Strategy", IndexKind.String, s => s.Strategy),
    ]);

    public static readonly ModelType Reservations = Define<Reservation>("reservations", "reservation", Json.Reservation, "Addr",
    [
        IndexDefinition.Of<Reservation>("Addr", IndexKind.Address, r => r.Addr, unique: true),
        IndexDefinition.Of<Reservation>("Token", IndexKind.String, r => r.Token, unique: true),
        IndexDefinition.Of<Reservation>("Strategy", IndexKind.String, r => r.Strategy),
        IndexDefinition.Of<Reservation>("Subnet", IndexKind.String, r => r.Subnet),
        IndexDefinition.Of<Reservation>("NextServer", IndexKind.Address, r => r.NextServer),
        IndexDefinition.Of<Reservation>("Duration", IndexKind.Integer, r => r.Duration),
    ]);

    public static readonly ModelType Leases = Define<Lease>("leases", "lease", Json.Lease, "Addr",
    [
        IndexDefinition.Of<Lease>("Addr", IndexKind.Address, l => l.Addr, unique: true),
        IndexDefinition.Of<Lease>("Token", IndexKind.String, l => l.Token),
        IndexDefinition.Of<Lease>("Strategy", IndexKind.String, l => l.Strategy),
        IndexDefinition.Of<Lease>("State", IndexKind.String, l => l.State),
        IndexDefinition.Of<Lease>("ExpireTime", IndexKind.Time, l => l.ExpireTime),
        IndexDefinition.Of<Lease>("Via", IndexKind.Address, l => l.Via),
    ]);

    public static readonly ModelType Stages = Define<Stage>("stages", "stage", Json.Stage, "Name",
    [
        Named<Stage>(),
        IndexDefinition.Of<Stage>("BootEnv", IndexKind.String, s => s.BootEnv),
        IndexDefinition.Of<Stage>("Reboot", IndexKind.Boolean, s => s.Reboot),
    ]);

    public static readonly ModelType Tasks = Define<TaskModel>("tasks", "task", Json.TaskModel, "Name", [Named<TaskModel>()]);

    public static readonly ModelType Workflows = Define<Workflow>("workflows", "workflow", Json.Workflow, "Name", [Named<Workflow>()]);

    public static readonly ModelType Jobs = Define<Job>("jobs", "job", Json.Job, "Uuid",
    [
        IndexDefinition.Of<Job>("Uuid", IndexKind.Uuid, j => j.Uuid, unique: true),
        IndexDefinition.Of<Job>("Machine", IndexKind.Uuid, j => j.Machine),
        IndexDefinition.Of<Job>("Previous", IndexKind.Uuid, j => j.Previous),
        IndexDefinition.Of<Job>("Task", IndexKind.String, j => j.Task),
        IndexDefinition.Of<Job>("Stage", IndexKind.String, j => j.Stage),
        IndexDefinition.Of<Job>("Workflow", IndexKind.String, j => j.Workflow),
        IndexDefinition.Of<Job>("BootEnv", IndexKind.String, j => j.BootEnv),
        IndexDefinition.Of<Job>("Context", IndexKind.String, j => j.Context),
        IndexDefinition.Of<Job>("State", IndexKind.String, j => j.State),
        IndexDefinition.Of<Job>("ExitState", IndexKind.String, j => j.ExitState),
        IndexDefinition.Of<Job>("StartTime", IndexKind.Time, j => j.StartTime),
        IndexDefinition.Of<Job>("EndTime", IndexKind.Time, j => j.EndTime),
        IndexDefinition.Of<Job>("Archived", IndexKind.Boolean, j => j.Archived),
        IndexDefinition.Of<Job>("Current", IndexKind.Boolean, j => j.Current),
    ]);

    public static readonly ModelType Users = Define<User>("users", "user", Json.User, "Name",
    [
        IndexDefinition.Of<User>("Name", IndexKind.String, u => u.Name, unique: true),
    ]);

    public static readonly ModelType Roles = Define<Role>("roles", "role", Json.Role, "Name", [Named<Role>()]);

    public static readonly ModelType Tenants = Define<Tenant>("tenants", "tenant", Json.Tenant, "Name", [Named<Tenant>()]);

    public static readonly ModelType Contexts = Define<ContextModel>("contexts", "context", Json.ContextModel, "Name",
    [
        Named<ContextModel>(),
        IndexDefinition.Of<ContextModel>("Engine", IndexKind.String, c => c.Engine),
        IndexDefinition.Of<ContextModel>("Image", IndexKind.String, c => c.Image),
    ]);

    public static readonly ModelType Prefs = Define<Pref>("prefs", "pref", Json.Pref, "Name",
    [
        IndexDefinition.Of<Pref>("Name", IndexKind.String, p => p.Name, unique: true),
    ]);

    /// <summary>Every stored type, in the order content packs are loaded (definitions before their users).</summary>
    public static readonly IReadOnlyList<ModelType> All =
    [
        Params, Templates, Profiles, Tasks, BootEnvs, Stages, Workflows, Contexts, Roles, Users, Tenants,
        Subnets, Reservations, Leases, Machines, Jobs, Prefs,
    ];

    private static readonly Dictionary<string, ModelType> ByPrefix = All.ToDictionary(t => t.Prefix, StringComparer.Ordinal);

    private static readonly Dictionary<Type, ModelType> ByClrType = All.ToDictionary(t => t.ClrType);

    public static ModelType? Find(string prefix) => ByPrefix.GetValueOrDefault(prefix);

    public static ModelType Of(ModelBase model) => ByClrType[model.GetType()];

    public static ModelType Of<T>()
        where T : ModelBase => ByClrType[typeof(T)];

    private static IndexDefinition Named<T>()
        where T : NamedModel => IndexDefinition.Of<T>("Name", IndexKind.String, m => m.Name, unique: true);

    private static ModelType Define<T>(string prefix, string singular, JsonTypeInfo<T> typeInfo, string keyIndex, IndexDefinition[] specific)
        where T : ModelBase, new()
    {
        // Indexes every DRP type has (frontend filters on them), after the type's own.
        IndexDefinition[] common =
        [
            IndexDefinition.Of<T>("Key", IndexKind.String, m => m.Key),
            IndexDefinition.Of<T>("Available", IndexKind.Boolean, m => m.Available),
            IndexDefinition.Of<T>("Valid", IndexKind.Boolean, m => m.Validated),
            IndexDefinition.Of<T>("ReadOnly", IndexKind.Boolean, m => m.ReadOnly),
            IndexDefinition.Of<T>("Bundle", IndexKind.String, m => m.Bundle),
            IndexDefinition.Of<T>("Endpoint", IndexKind.String, m => m.Endpoint),
        ];
        return new ModelType(prefix, singular, typeof(T), typeInfo, () => new T(), keyIndex, [.. specific, .. common]);
    }
}
