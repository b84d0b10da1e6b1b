using System.Net;
using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;

namespace Underlay.Core.Validation;

/// <summary>
/// Validates objects before they are stored and fills <c>Validated</c>, <c>Available</c> and <c>Errors</c>.
/// Built-in rules cover structure and references; projects that know more (template parsing, files on disk)
/// contribute <see cref="IModelRule"/>s.
/// </summary>
public sealed class ModelValidator
{
    /// <summary>DRP's floor for dynamic leases (<c>models/subnet.go</c>): 60 s.</summary>
    public const int MinimumActiveLeaseTime = 60;

    /// <summary>DRP's floor for reserved leases: 7200 s.</summary>
    public const int MinimumReservedLeaseTime = 7200;

    public static readonly IReadOnlyList<string> DefaultPickers = ["hint", "nextFree", "mostExpired"];

    private static readonly HashSet<string> KnownPickers = ["hint", "nextFree", "mostExpired", "none", "point"];

    private static readonly HashSet<string> LeaseStateNames =
        [LeaseStates.Probe, LeaseStates.Offer, LeaseStates.Ack, LeaseStates.Expired, LeaseStates.Invalid, LeaseStates.Fake];

    private static readonly HashSet<string> JobStateNames =
        [JobStates.Created, JobStates.Running, JobStates.Incomplete, JobStates.Failed, JobStates.Finished];

    private readonly List<IModelRule> _rules = [];

    public ModelValidator(ParamSchemas schemas) => Schemas = schemas;

    public ParamSchemas Schemas { get; }

    public void AddRule(IModelRule rule) => _rules.Add(rule);

    /// <summary>Validates <paramref name="model"/> in place and returns the context holding the outcome.</summary>
    public ValidationContext Validate(ModelBase model, IObjectLookup lookup, ValidationMode mode, ModelBase? original = null)
    {
        var context = new ValidationContext(lookup, mode, original);
        switch (model)
        {
            case Machine machine:
                ValidateMachine(machine, context);
                break;
            case Param param:
                ValidateParam(param, context);
                break;
            case Profile profile:
                ValidateProfile(profile, context);
                break;
            case Template template:
                CheckName(context, "ID", template.ID, allowSlash: true);
                break;
            case BootEnv bootEnv:
                ValidateBootEnv(bootEnv, context);
                break;
            case Stage stage:
                ValidateStage(stage, context);
                break;
            case TaskModel task:
                ValidateTask(task, context);
                break;
            case Workflow workflow:
                ValidateWorkflow(workflow, context);
                break;
            case Subnet subnet:
                ValidateSubnet(subnet, context);
                break;
            case Reservation reservation:
                ValidateReservation(reservation, context);
                break;
            case Lease lease:
                ValidateLease(lease, context);
                break;
            case Job job:
                ValidateJob(job, context);
                break;
            case User user:
                ValidateUser(user, context);
                break;
            case Role role:
                ValidateRole(role, context);
                break;
            case NamedModel named:
                CheckName(context, "Name", named.Name);
                break;
            case Pref pref:
                if (pref.Name.Length == 0)
                {
                    context.Invalid("Name", "must not be empty");
                }

                break;
        }

        foreach (var rule in _rules)
        {
            rule.Validate(model, context);
        }

        context.ApplyTo(model);
        return context;
    }

    private static void CheckName(ValidationContext context, string field, string name, bool allowSlash = false)
    {
        if (Names.CheckName(name, allowSlash) is { } problem)
        {
            context.Invalid(field, problem);
        }
    }

    private void ValidateMachine(Machine machine, ValidationContext context)
    {
        if (machine.Uuid == Guid.Empty)
        {
            context.Invalid("Uuid", "must be set");
        }

        CheckName(context, "Name", machine.Name);
        for (var i = 0; i < machine.HardwareAddrs.Count; i++)
        {
            if (Names.TryNormalizeMac(machine.HardwareAddrs[i], out var mac))
            {
                machine.HardwareAddrs[i] = mac;
            }
            else
            {
                context.Invalid("HardwareAddrs", $"'{Names.Truncate(machine.HardwareAddrs[i])}' is not a MAC address");
            }
        }

        if (machine.HardwareAddrs.Distinct(StringComparer.Ordinal).Count() != machine.HardwareAddrs.Count)
        {
            context.Invalid("HardwareAddrs", "lists a MAC address twice");
        }

        if (machine.Address.Length > 0 && !Names.TryParseIPv4(machine.Address, out _))
        {
            context.Invalid("Address", $"'{Names.Truncate(machine.Address)}' is not an IPv4 address");
        }

        if (machine.Arch.Length == 0)
        {
            machine.Arch = "amd64";
        }

        CheckReference<BootEnv>(context, "BootEnv", machine.BootEnv);
        CheckReference<Stage>(context, "Stage", machine.Stage);
        CheckReference<Workflow>(context, "Workflow", machine.Workflow);
        CheckProfiles(context, machine.Profiles, selfName: null);
        CheckParams(context, machine.Params);
        if (machine.CurrentTask < -1 || machine.CurrentTask > machine.Tasks.Count)
        {
            context.Invalid("CurrentTask", $"{machine.CurrentTask} is outside -1..{machine.Tasks.Count}");
        }
    }

    private static void ValidateParam(Param param, ValidationContext context)
    {
        CheckName(context, "Name", param.Name, allowSlash: true);
        if (param.Schema is { } schema && schema.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
        {
            if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
            {
                context.Invalid("Schema", "must be a JSON Schema object");
            }
        }
    }

    private void ValidateProfile(Profile profile, ValidationContext context)
    {
        CheckName(context, "Name", profile.Name);
        CheckProfiles(context, profile.Profiles, profile.Name);
        CheckParams(context, profile.Params);
    }

    private static void ValidateBootEnv(BootEnv bootEnv, ValidationContext context)
    {
        CheckName(context, "Name", bootEnv.Name);
        CheckTemplates(context, bootEnv.Templates, requirePath: true);
        foreach (var (key, _) in bootEnv.Loaders)
        {
            if (key is not ("386-pcbios" or "amd64-uefi" or "arm64-uefi" or "amd64-pcbios" or "arm64-pcbios"))
            {
                context.Invalid("Loaders", $"unknown loader slot '{Names.Truncate(key)}' (386-pcbios, amd64-uefi, arm64-uefi)");
            }
        }
    }

    private void ValidateStage(Stage stage, ValidationContext context)
    {
        CheckName(context, "Name", stage.Name);
        CheckReference<BootEnv>(context, "BootEnv", stage.BootEnv);
        foreach (var task in stage.Tasks)
        {
            CheckTaskEntry(context, "Tasks", task);
        }

        CheckProfiles(context, stage.Profiles, selfName: null);
        CheckParams(context, stage.Params);
        CheckTemplates(context, stage.Templates, requirePath: true);
    }

    private static void ValidateTask(TaskModel task, ValidationContext context)
    {
        CheckName(context, "Name", task.Name);
        CheckTemplates(context, task.Templates, requirePath: false);
        foreach (var prerequisite in task.Prerequisites)
        {
            CheckReference<TaskModel>(context, "Prerequisites", prerequisite);
        }

        if (task.Prerequisites.Contains(task.Name, StringComparer.Ordinal) || PrerequisitesLoopBack(task, context.Lookup))
        {
            context.Invalid("Prerequisites", $"task '{task.Name}' depends on itself");
        }
    }

    private static bool PrerequisitesLoopBack(TaskModel task, IObjectLookup lookup)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(task.Prerequisites);
        while (pending.Count > 0)
        {
            var name = pending.Pop();
            if (name == task.Name)
            {
                return true;
            }

            if (!seen.Add(name) || lookup.Get<TaskModel>(name) is not { } other)
            {
                continue;
            }

            foreach (var next in other.Prerequisites)
            {
                pending.Push(next);
            }
        }

        return false;
    }

    private static void ValidateWorkflow(Workflow workflow, ValidationContext context)
    {
        CheckName(context, "Name", workflow.Name);
        foreach (var stage in workflow.Stages)
        {
            CheckReference<Stage>(context, "Stages", stage);
        }
    }

    private static void ValidateSubnet(Subnet subnet, ValidationContext context)
    {
        CheckName(context, "Name", subnet.Name);
        if (!IPNetwork.TryParse(subnet.Cidr, out var network) || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            context.Invalid("Subnet", $"'{Names.Truncate(subnet.Cidr)}' is not an IPv4 network in CIDR form");
        }
        else
        {
            if (network.PrefixLength > 30)
            {
                context.Invalid("Subnet", "prefix must be /30 or shorter to hold any client address");
            }

            CheckRangeAddress(context, "ActiveStart", subnet.ActiveStart, network, required: !subnet.Proxy);
            CheckRangeAddress(context, "ActiveEnd", subnet.ActiveEnd, network, required: !subnet.Proxy);
            if (Names.TryParseIPv4(subnet.ActiveStart, out var start) && Names.TryParseIPv4(subnet.ActiveEnd, out var end) &&
                AddressMath.ToUInt32(start) > AddressMath.ToUInt32(end))
            {
                context.Invalid("ActiveEnd", "must not be before ActiveStart");
            }

            foreach (var other in context.Lookup.List<Subnet>())
            {
                if (other.Name != subnet.Name && IPNetwork.TryParse(other.Cidr, out var otherNetwork) &&
                    (network.Contains(otherNetwork.BaseAddress) || otherNetwork.Contains(network.BaseAddress)))
                {
                    context.Invalid("Subnet", $"{subnet.Cidr} overlaps subnet '{other.Name}' ({other.Cidr})");
                }
            }
        }

        if (subnet.ActiveLeaseTime < MinimumActiveLeaseTime)
        {
            context.Invalid("ActiveLeaseTime", $"must be at least {MinimumActiveLeaseTime} seconds");
        }

        if (subnet.ReservedLeaseTime < MinimumReservedLeaseTime)
        {
            context.Invalid("ReservedLeaseTime", $"must be at least {MinimumReservedLeaseTime} seconds");
        }

        if (subnet.NextServer.Length > 0 && !Names.TryParseIPv4(subnet.NextServer, out _))
        {
            context.Invalid("NextServer", $"'{Names.Truncate(subnet.NextServer)}' is not an IPv4 address");
        }

        if (subnet.Strategy.Length == 0)
        {
            subnet.Strategy = "MAC";
        }
        else if (subnet.Strategy != "MAC")
        {
            context.Invalid("Strategy", "only 'MAC' is supported");
        }

        if (subnet.Pickers.Count == 0)
        {
            subnet.Pickers = subnet.OnlyReservations ? ["none"] : [.. DefaultPickers];
        }

        foreach (var picker in subnet.Pickers)
        {
            if (!KnownPickers.Contains(picker))
            {
                context.Invalid("Pickers", $"unknown picker '{Names.Truncate(picker)}' (hint, nextFree, mostExpired, none)");
            }
        }

        CheckOptions(context, subnet.Options);
    }

    private static void CheckRangeAddress(ValidationContext context, string field, string text, IPNetwork network, bool required)
    {
        if (text.Length == 0)
        {
            if (required)
            {
                context.Invalid(field, "must be set");
            }

            return;
        }

        if (!Names.TryParseIPv4(text, out var address))
        {
            context.Invalid(field, $"'{Names.Truncate(text)}' is not an IPv4 address");
        }
        else if (!network.Contains(address))
        {
            context.Invalid(field, $"{text} is outside {network}");
        }
    }

    private static void ValidateReservation(Reservation reservation, ValidationContext context)
    {
        if (!Names.TryParseIPv4(reservation.Addr, out _))
        {
            context.Invalid("Addr", $"'{Names.Truncate(reservation.Addr)}' is not an IPv4 address");
        }

        if (reservation.Strategy.Length == 0)
        {
            reservation.Strategy = "MAC";
        }
        else if (reservation.Strategy != "MAC")
        {
            context.Invalid("Strategy", "only 'MAC' is supported");
        }

        if (Names.TryNormalizeMac(reservation.Token, out var mac))
        {
            reservation.Token = mac;
        }
        else
        {
            context.Invalid("Token", $"'{Names.Truncate(reservation.Token)}' is not a MAC address");
        }

        if (reservation.NextServer.Length > 0 && !Names.TryParseIPv4(reservation.NextServer, out _))
        {
            context.Invalid("NextServer", $"'{Names.Truncate(reservation.NextServer)}' is not an IPv4 address");
        }

        if (reservation.Duration < 0)
        {
            context.Invalid("Duration", "must not be negative");
        }

        CheckReference<Subnet>(context, "Subnet", reservation.Subnet);
        CheckOptions(context, reservation.Options);
    }

    private static void ValidateLease(Lease lease, ValidationContext context)
    {
        if (!Names.TryParseIPv4(lease.Addr, out _))
        {
            context.Invalid("Addr", $"'{Names.Truncate(lease.Addr)}' is not an IPv4 address");
        }

        if (lease.Token.Length == 0)
        {
            context.Invalid("Token", "must be set");
        }

        if (!LeaseStateNames.Contains(lease.State))
        {
            context.Invalid("State", $"'{Names.Truncate(lease.State)}' is not one of {string.Join(", ", LeaseStateNames)}");
        }
    }

    private static void ValidateJob(Job job, ValidationContext context)
    {
        if (job.Uuid == Guid.Empty)
        {
            context.Invalid("Uuid", "must be set");
        }

        if (!JobStateNames.Contains(job.State))
        {
            context.Invalid("State", $"'{Names.Truncate(job.State)}' is not one of {string.Join(", ", JobStateNames)}");
        }

        if (job.Machine == Guid.Empty)
        {
            context.Invalid("Machine", "must be set");
        }
        else if (context.Lookup.Get(ModelTypes.Machines, job.Machine.ToString()) is null)
        {
            context.MissingReference("Machine", "machine", job.Machine.ToString());
        }
    }

    private static void ValidateUser(User user, ValidationContext context)
    {
        CheckName(context, "Name", user.Name);
        foreach (var role in user.Roles)
        {
            CheckReference<Role>(context, "Roles", role);
        }
    }

    private static void ValidateRole(Role role, ValidationContext context)
    {
        CheckName(context, "Name", role.Name);
        for (var i = 0; i < role.Claims.Count; i++)
        {
            var claim = role.Claims[i];
            if (claim.Scope.Length == 0 || claim.Action.Length == 0 || claim.Specific.Length == 0)
            {
                context.Invalid($"Claims/{i}", "Scope, Action and Specific must all be set ('*' matches anything)");
            }
        }
    }

    private static void CheckOptions(ValidationContext context, List<DhcpOption> options)
    {
        foreach (var option in options)
        {
            if (option.Code is < 1 or > 254)
            {
                context.Invalid("Options", $"option code {option.Code} is outside 1..254");
            }
        }
    }

    private static void CheckTemplates(ValidationContext context, List<TemplateInfo> templates, bool requirePath)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < templates.Count; i++)
        {
            var template = templates[i];
            if (template.Name.Length == 0)
            {
                context.Invalid($"Templates/{i}/Name", "must not be empty");
            }
            else if (!names.Add(template.Name))
            {
                context.Invalid($"Templates/{i}/Name", $"'{template.Name}' is used twice");
            }

            if (requirePath && template.Path.Length == 0)
            {
                context.Invalid($"Templates/{i}/Path", "must not be empty");
            }

            if (template.ID.Length > 0)
            {
                CheckReference<Template>(context, $"Templates/{i}/ID", template.ID);
            }
        }
    }

    /// <summary>Task-list entries may be task names or <c>stage:</c>/<c>bootenv:</c>/<c>context:</c>/<c>action:</c> directives.</summary>
    private static void CheckTaskEntry(ValidationContext context, string field, string entry)
    {
        var colon = entry.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            CheckReference<TaskModel>(context, field, entry);
            return;
        }

        var kind = entry[..colon];
        var value = entry[(colon + 1)..];
        switch (kind)
        {
            case "stage":
                CheckReference<Stage>(context, field, value);
                break;
            case "bootenv":
                CheckReference<BootEnv>(context, field, value);
                break;
            case "context" or "action" or "chroot":
                break;
            default:
                context.Invalid(field, $"'{Names.Truncate(entry)}' is not a task, stage:, bootenv:, context:, action: or chroot: entry");
                break;
        }
    }

    private static void CheckReference<T>(ValidationContext context, string field, string key)
        where T : ModelBase
    {
        if (key.Length > 0 && !context.Lookup.Exists<T>(key))
        {
            context.MissingReference(field, ModelTypes.Of<T>().Singular, key);
        }
    }

    private static void CheckProfiles(ValidationContext context, List<string> profiles, string? selfName)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in profiles)
        {
            if (!seen.Add(name))
            {
                context.Invalid("Profiles", $"profile '{name}' is listed twice");
                continue;
            }

            if (selfName is not null && (name == selfName || ProfileReaches(context.Lookup, name, selfName)))
            {
                context.Invalid("Profiles", $"profile '{name}' includes '{selfName}' again (a cycle)");
                continue;
            }

            CheckReference<Profile>(context, "Profiles", name);
        }
    }

    private static bool ProfileReaches(IObjectLookup lookup, string start, string target)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        pending.Push(start);
        while (pending.Count > 0)
        {
            var name = pending.Pop();
            if (!seen.Add(name) || lookup.Get<Profile>(name) is not { } profile)
            {
                continue;
            }

            foreach (var next in profile.Profiles)
            {
                if (next == target)
                {
                    return true;
                }

                pending.Push(next);
            }
        }

        return false;
    }

    private void CheckParams(ValidationContext context, Dictionary<string, JsonElement> values)
    {
        foreach (var (name, value) in values)
        {
            if (context.Lookup.Get<Param>(name) is not { } param)
            {
                // DRP accepts params nobody defined (content reads many of those); they have no schema to check.
                continue;
            }

            if (Schemas.Check(param, value) is { } problem)
            {
                context.Invalid($"Params/{name}", problem);
            }
        }
    }
}

/// <summary>IPv4 arithmetic used by validation and DHCP.</summary>
public static class AddressMath
{
    public static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public static IPAddress FromUInt32(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
