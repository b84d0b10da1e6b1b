using System.Globalization;
using System.Text.Json;

namespace Underlay.Templates.Tests.Conformance;

/// <summary>Builds render data from a case's JSON exactly as oracle.go does: whole numbers become Go int
/// (C# int) unless numbers=float, and single-key objects like {"$int64": "5"} make other Go kinds.</summary>
internal static class CaseData
{
    public static object? Build(string json, bool floats)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(json);
        return Convert(doc.RootElement, floats);
    }

    private static object? Convert(JsonElement e, bool floats)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                if (!floats && long.TryParse(e.GetRawText(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return l is >= int.MinValue and <= int.MaxValue ? (object)(int)l : l;
                }

                return e.GetDouble();
            case JsonValueKind.Array:
                var list = new List<object?>();
                foreach (var item in e.EnumerateArray())
                {
                    list.Add(Convert(item, floats));
                }

                return list;
            case JsonValueKind.Object:
                var props = e.EnumerateObject().ToList();
                if (props.Count == 1 && props[0].Name.StartsWith('$'))
                {
                    return Typed(props[0].Name[1..], props[0].Value);
                }

                var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var p in props)
                {
                    map[p.Name] = Convert(p.Value, floats);
                }

                return map;
            case JsonValueKind.String:
                return e.GetString();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    private static object? Typed(string kind, JsonElement v)
    {
        var s = v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText();
        return kind switch
        {
            "int64" => long.Parse(s, CultureInfo.InvariantCulture),
            "uint" => uint.Parse(s, CultureInfo.InvariantCulture),
            "uint8" => byte.Parse(s, CultureInfo.InvariantCulture),
            "uint64" => ulong.Parse(s, CultureInfo.InvariantCulture),
            "float64" => double.Parse(s, CultureInfo.InvariantCulture),
            "float32" => float.Parse(s, CultureInfo.InvariantCulture),
            "bytes" => System.Text.Encoding.UTF8.GetBytes(s),
            "strings" => v.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText()).ToArray(),
            "nil" => null,
            _ => throw new InvalidOperationException("unknown typed value $" + kind),
        };
    }
}
