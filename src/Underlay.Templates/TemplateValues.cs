using System.Text.Json;
using System.Text.Json.Nodes;
using Underlay.Templates.Values;

namespace Underlay.Templates;

/// <summary>Builds engine values from JSON the way Go's encoding/json decodes into interface{}: objects become
/// <c>Dictionary&lt;string, object?&gt;</c> (Go maps), arrays <c>List&lt;object?&gt;</c>, every number a
/// double (float64), so <c>{{ .Param "count" }}</c> of 1000000 prints <c>1e+06</c> exactly as DRP does.</summary>
public static class TemplateValues
{
    /// <summary>Converts a JSON element.</summary>
    public static object? FromJson(JsonElement element) => GoJson.FromElement(element);

    /// <summary>Converts a JSON node (null for JSON null).</summary>
    public static object? FromJson(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                var d = new Dictionary<string, object?>(obj.Count, StringComparer.Ordinal);
                foreach (var (key, value) in obj)
                {
                    d[key] = FromJson(value);
                }

                return d;
            case JsonArray arr:
                var l = new List<object?>(arr.Count);
                foreach (var item in arr)
                {
                    l.Add(FromJson(item));
                }

                return l;
            default:
                var v = node.AsValue();
                return v.GetValueKind() switch
                {
                    JsonValueKind.String => v.GetValue<string>(),
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Number => v.TryGetValue<double>(out var dbl) ? dbl : double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture),
                    _ => null,
                };
        }
    }

    /// <summary>Parses JSON text into engine values.</summary>
    /// <exception cref="JsonException">The text is not JSON.</exception>
    public static object? FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return GoJson.FromElement(doc.RootElement);
    }

    /// <summary>Encodes an engine value as Go's json.Marshal would (sorted keys, HTML-safe escaping).</summary>
    public static string ToJson(object? value) => GoJson.Serialize(value, indent: false, escapeHtml: true);
}
