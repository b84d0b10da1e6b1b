using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Validation;

namespace Underlay.Workflow;

/// <summary>
/// The machine params that steer task execution (DRP v4.6): <c>task-retry</c> <c>{task: n}</c>,
/// <c>task-error-handlers</c> <c>{task: [tasks]}</c>, <c>task-stop-at</c> <c>[tasks]</c>, <c>task-single-step</c> <c>bool</c>.
/// Resolved with the usual precedence, so a profile can set them for a fleet.
/// </summary>
internal static class TaskControl
{
    public const string Retry = "task-retry";
    public const string ErrorHandlers = "task-error-handlers";
    public const string StopAt = "task-stop-at";
    public const string SingleStep = "task-single-step";

    public static int Retries(IObjectLookup lookup, Machine machine, string task) =>
        Resolve(lookup, machine, Retry) is { ValueKind: JsonValueKind.Object } map && map.TryGetProperty(task, out var value) && value.TryGetInt32(out var count)
            ? Math.Max(0, count)
            : 0;

    public static List<string> Handlers(IObjectLookup lookup, Machine machine, string task) =>
        Resolve(lookup, machine, ErrorHandlers) is { ValueKind: JsonValueKind.Object } map && map.TryGetProperty(task, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : [];

    public static bool StopsAt(IObjectLookup lookup, Machine machine, string task) =>
        Resolve(lookup, machine, StopAt) is { ValueKind: JsonValueKind.Array } list &&
        list.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.String && v.GetString() == task);

    public static bool SingleStepping(IObjectLookup lookup, Machine machine) =>
        Resolve(lookup, machine, SingleStep) is { ValueKind: JsonValueKind.True };

    private static JsonElement? Resolve(IObjectLookup lookup, Machine machine, string name) =>
        new ParamResolver(lookup).TryGet(machine, name, out var value) ? value : null;
}
