using System.Text.Json;
using System.Text.Json.Nodes;
using Underlay.Core.Models;
using Underlay.Core.Validation;

namespace Underlay.Core.Params;

/// <summary>
/// Finds the value of a param for a machine with DRP's precedence (kb-00057), first match wins:
/// the machine's Params; its Profiles in order, each recursively; the Stage's Params, then the Stage's Profiles;
/// the <c>global</c> profile; the Param schema's <c>default</c>.
/// </summary>
public sealed class ParamResolver
{
    public const string GlobalProfile = "global";

    private readonly IObjectLookup _lookup;

    public ParamResolver(IObjectLookup lookup) => _lookup = lookup;

    /// <summary>Resolves <paramref name="name"/>; <paramref name="machine"/> may be null (renders for unknown machines).</summary>
    public bool TryGet(Machine? machine, string name, out JsonElement value)
    {
        foreach (var holder in Holders(machine))
        {
            if (holder.Params.TryGetValue(name, out value))
            {
                return true;
            }
        }

        if (_lookup.Get<Param>(name) is { } param && ParamSchemas.TryGetDefault(param, out value))
        {
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Merges a param across every level instead of stopping at the first (<c>.ComposeParam</c>): objects merge key by
    /// key with the higher level winning, arrays concatenate higher levels first without duplicates, and for any
    /// other value the highest level wins.
    /// </summary>
    public bool TryCompose(Machine? machine, string name, out JsonElement value)
    {
        JsonNode? composed = null;
        var found = false;
        foreach (var holder in Holders(machine))
        {
            if (holder.Params.TryGetValue(name, out var level))
            {
                composed = found ? Merge(composed, JsonNode.Parse(level.GetRawText())) : JsonNode.Parse(level.GetRawText());
                found = true;
            }
        }

        if (_lookup.Get<Param>(name) is { } param && ParamSchemas.TryGetDefault(param, out var fallback))
        {
            composed = found ? Merge(composed, JsonNode.Parse(fallback.GetRawText())) : JsonNode.Parse(fallback.GetRawText());
            found = true;
        }

        value = found ? JsonSerializer.SerializeToElement(composed, Json.UnderlayJsonNodeContext.Default.JsonNode) : default;
        return found;
    }

    /// <summary>Every param visible to the machine with its winning value (<c>?aggregate=true</c>).</summary>
    public Dictionary<string, JsonElement> Aggregate(Machine? machine)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var holder in Holders(machine))
        {
            foreach (var (name, value) in holder.Params)
            {
                result.TryAdd(name, value);
            }
        }

        return result;
    }

    /// <summary>The param holders in precedence order for a machine.</summary>
    public IEnumerable<IParamHolder> Holders(Machine? machine)
    {
        var visited = new HashSet<string>(StringComparer.Ordinal);
        if (machine is not null)
        {
            yield return machine;
            foreach (var profile in ProfilesDepthFirst(machine.Profiles, visited))
            {
                yield return profile;
            }

            if (_lookup.Get<Stage>(machine.Stage) is { } stage)
            {
                yield return stage;
                foreach (var profile in ProfilesDepthFirst(stage.Profiles, visited))
                {
                    yield return profile;
                }
            }
        }

        if (!visited.Contains(GlobalProfile) && _lookup.Get<Profile>(GlobalProfile) is { } global)
        {
            visited.Add(GlobalProfile);
            yield return global;
            foreach (var profile in ProfilesDepthFirst(global.Profiles, visited))
            {
                yield return profile;
            }
        }
    }

    private IEnumerable<Profile> ProfilesDepthFirst(List<string> names, HashSet<string> visited)
    {
        foreach (var name in names)
        {
            // A profile reached twice contributes once, at its highest-precedence position; this also stops cycles.
            if (!visited.Add(name) || _lookup.Get<Profile>(name) is not { } profile)
            {
                continue;
            }

            yield return profile;
            foreach (var nested in ProfilesDepthFirst(profile.Profiles, visited))
            {
                yield return nested;
            }
        }
    }

    private static JsonNode? Merge(JsonNode? higher, JsonNode? lower)
    {
        switch (higher)
        {
            case JsonObject higherObject when lower is JsonObject lowerObject:
                foreach (var (key, lowerValue) in lowerObject.ToList())
                {
                    if (higherObject.TryGetPropertyValue(key, out var higherValue))
                    {
                        higherObject[key] = Merge(higherValue, lowerValue?.DeepClone());
                    }
                    else
                    {
                        higherObject[key] = lowerValue?.DeepClone();
                    }
                }

                return higherObject;
            case JsonArray higherArray when lower is JsonArray lowerArray:
                foreach (var item in lowerArray)
                {
                    if (!higherArray.Any(existing => JsonNode.DeepEquals(existing, item)))
                    {
                        higherArray.Add(item?.DeepClone());
                    }
                }

                return higherArray;
            default:
                return higher;
        }
    }
}
