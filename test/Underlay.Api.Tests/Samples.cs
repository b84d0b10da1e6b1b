using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Api.Tests;

/// <summary>A valid object of every type, with a field that tests change.</summary>
internal static class Samples
{
    public static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>Creates, in dependency order, one sample per type; returns them keyed by prefix.</summary>
    public static IReadOnlyList<(ModelType Type, ModelBase Model)> All(string suffix, int octet)
    {
        var machineId = Guid.NewGuid();
        return
        [
            (ModelTypes.Params, new Param { Name = $"rack/slot-{suffix}", Description = "slot", Schema = Json("""{"type":"integer","minimum":0,"default":3}""") }),
            (ModelTypes.Templates, new Template { ID = $"tmpl-{suffix}.tmpl", Contents = "hello {{.Machine.Name}}" }),
            (ModelTypes.Profiles, new Profile { Name = $"profile-{suffix}", Params = new() { [$"rack/slot-{suffix}"] = Json("7") } }),
            (ModelTypes.Tasks, new TaskModel { Name = $"task-{suffix}", Templates = [new TemplateInfo { Name = "run", Contents = "#!/bin/sh\necho hi\n" }] }),
            (ModelTypes.BootEnvs, new BootEnv { Name = $"env-{suffix}", Templates = [new TemplateInfo { Name = "ipxe", Path = "{{.Machine.Address}}.ipxe", ID = $"tmpl-{suffix}.tmpl" }] }),
            (ModelTypes.Stages, new Stage { Name = $"stage-{suffix}", Tasks = [$"task-{suffix}"], BootEnv = $"env-{suffix}" }),
            (ModelTypes.Workflows, new Core.Models.Workflow { Name = $"flow-{suffix}", Stages = [$"stage-{suffix}"] }),
            (ModelTypes.Contexts, new ContextModel { Name = $"ctx-{suffix}", Engine = "docker", Image = "busybox" }),
            (ModelTypes.Roles, new Role { Name = $"role-{suffix}", Claims = [new Claim { Scope = "profiles", Action = "get,list", Specific = "*" }] }),
            (ModelTypes.Users, new User { Name = $"user-{suffix}", Roles = [$"role-{suffix}"] }),
            (ModelTypes.Tenants, new Tenant { Name = $"tenant-{suffix}", Users = [$"user-{suffix}"] }),
            (ModelTypes.Subnets, new Subnet { Name = $"net-{suffix}", Cidr = $"10.{octet}.0.0/24", ActiveStart = $"10.{octet}.0.10", ActiveEnd = $"10.{octet}.0.200" }),
            (ModelTypes.Reservations, new Reservation { Addr = $"10.{octet}.0.5", Token = $"52:54:00:00:{octet:x2}:05" }),
            (ModelTypes.Leases, new Lease { Addr = $"10.{octet}.0.11", Token = $"52:54:00:00:{octet:x2}:11", State = LeaseStates.Ack, ExpireTime = new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc) }),
            (ModelTypes.Machines, new Machine { Uuid = machineId, Name = $"node-{suffix}.example.com", HardwareAddrs = [$"52:54:00:01:{octet:x2}:01"], Stage = $"stage-{suffix}", Runnable = true, Profiles = [$"profile-{suffix}"], Params = new() { [$"rack/slot-{suffix}"] = Json("9") } }),
            // Jobs are not posted whole: POST /jobs asks the engine for the machine's next one (DRP), which is this task.
            (ModelTypes.Jobs, new Job { Machine = machineId, Task = $"task-{suffix}" }),
        ];
    }
}
