using System.Text.Json;
using System.Text.Json.Serialization;
using Underlay.Core.Models;

namespace Underlay.Core.Json;

/// <summary>
/// Source-generated serializers for every wire type, so the server, the AOT-compiled CLI and the agent share one
/// contract without reflection. Property names are DRP's PascalCase as declared.
/// </summary>
[JsonSourceGenerationOptions(
    WriteIndented = false,
    PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified,
    Converters = [typeof(UtcDateTimeConverter), typeof(LenientGuidConverter)],
    MaxDepth = 64)]
[JsonSerializable(typeof(Machine))]
[JsonSerializable(typeof(BootEnv))]
[JsonSerializable(typeof(Template))]
[JsonSerializable(typeof(Param))]
[JsonSerializable(typeof(Profile))]
[JsonSerializable(typeof(Subnet))]
[JsonSerializable(typeof(Reservation))]
[JsonSerializable(typeof(Lease))]
[JsonSerializable(typeof(Stage))]
[JsonSerializable(typeof(TaskModel))]
[JsonSerializable(typeof(Workflow))]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(User))]
[JsonSerializable(typeof(Role))]
[JsonSerializable(typeof(Tenant))]
[JsonSerializable(typeof(ContextModel))]
[JsonSerializable(typeof(Pref))]
[JsonSerializable(typeof(List<Machine>))]
[JsonSerializable(typeof(List<BootEnv>))]
[JsonSerializable(typeof(List<Template>))]
[JsonSerializable(typeof(List<Param>))]
[JsonSerializable(typeof(List<Profile>))]
[JsonSerializable(typeof(List<Subnet>))]
[JsonSerializable(typeof(List<Reservation>))]
[JsonSerializable(typeof(List<Lease>))]
[JsonSerializable(typeof(List<Stage>))]
[JsonSerializable(typeof(List<TaskModel>))]
[JsonSerializable(typeof(List<Workflow>))]
[JsonSerializable(typeof(List<Job>))]
[JsonSerializable(typeof(List<User>))]
[JsonSerializable(typeof(List<Role>))]
[JsonSerializable(typeof(List<Tenant>))]
[JsonSerializable(typeof(List<ContextModel>))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(Event))]
[JsonSerializable(typeof(ContentPack))]
[JsonSerializable(typeof(ContentMeta))]
[JsonSerializable(typeof(ContentSummary))]
[JsonSerializable(typeof(List<ContentSummary>))]
[JsonSerializable(typeof(Info))]
[JsonSerializable(typeof(UserToken))]
[JsonSerializable(typeof(JobAction))]
[JsonSerializable(typeof(List<JobAction>))]
[JsonSerializable(typeof(JobRequest))]
[JsonSerializable(typeof(WhoamiRequest))]
[JsonSerializable(typeof(WhoamiResult))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(List<JsonElement>))]
public sealed partial class UnderlayJsonContext : JsonSerializerContext;
