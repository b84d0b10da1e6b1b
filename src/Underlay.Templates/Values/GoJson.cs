using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Underlay.Templates.Values;

/// <summary>Go's encoding/json over engine values: Marshal (sorted map keys, HTML-safe escapes, Go's float
/// format) and Unmarshal into interface{} (objects to maps, arrays to lists, numbers to float64).</summary>
internal static class GoJson
{
    private const int MaxDepth = 1000;

    public static string? TrySerialize(object? value, bool indent, bool escapeHtml)
    {
        try
        {
            return Serialize(value, indent, escapeHtml);
        }
        catch (TemplateFunctionException)
        {
            return null;
        }
    }

    public static string Serialize(object? value, bool indent, bool escapeHtml)
    {
        var sb = new StringBuilder();
        Write(sb, value, indent, escapeHtml, 0);
        return sb.ToString();
    }

    private static void Newline(StringBuilder sb, int depth)
    {
        sb.Append('\n');
        sb.Append(' ', depth * 2);
    }

    private static void Write(StringBuilder sb, object? value, bool indent, bool escapeHtml, int depth)
    {
        ValueLimit.Check(sb.Length);
        if (depth > MaxDepth)
        {
            throw new TemplateFunctionException("json: unsupported value: encountered a cycle");
        }

        switch (value)
        {
            case null or NoValue:
                sb.Append("null");
                return;
            case bool b:
                sb.Append(b ? "true" : "false");
                return;
            case string s:
                WriteString(sb, s, escapeHtml);
                return;
            case double d:
                if (double.IsNaN(d) || double.IsInfinity(d))
                {
                    throw new TemplateFunctionException($"json: unsupported value: {GoFormat.FormatFloat(d, 'g', -1, 64)}");
                }

                sb.Append(GoFormat.JsonFloat(d));
                return;
            case float f:
                if (float.IsNaN(f) || float.IsInfinity(f))
                {
                    throw new TemplateFunctionException($"json: unsupported value: {GoFormat.FormatFloat(f, 'g', -1, 32)}");
                }

                sb.Append(GoFormat.JsonFloat(f, 32));
                return;
            case byte[] bytes:
                sb.Append('"').Append(Convert.ToBase64String(bytes)).Append('"');
                return;
            case TemplateFunction:
                throw new TemplateFunctionException("json: unsupported type: func");
            case IList list:
                if (list.Count == 0)
                {
                    sb.Append("[]");
                    return;
                }

                sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    if (indent)
                    {
                        Newline(sb, depth + 1);
                    }

                    Write(sb, list[i], indent, escapeHtml, depth + 1);
                }

                if (indent)
                {
                    Newline(sb, depth);
                }

                sb.Append(']');
                return;
        }

        if (GoValue.IsInteger(value))
        {
            sb.Append(value is ulong or uint or ushort or byte
                ? GoValue.ToUInt64(value).ToString(CultureInfo.InvariantCulture)
                : GoValue.ToInt64(value).ToString(CultureInfo.InvariantCulture));
            return;
        }

        if (GoValue.IsMap(value))
        {
            var keys = GoValue.SortedKeys(value);
            if (keys.Length == 0)
            {
                sb.Append("{}");
                return;
            }

            sb.Append('{');
            for (var i = 0; i < keys.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                if (indent)
                {
                    Newline(sb, depth + 1);
                }

                WriteString(sb, keys[i], escapeHtml);
                sb.Append(indent ? ": " : ":");
                Write(sb, GoValue.MapGet(value, keys[i]), indent, escapeHtml, depth + 1);
            }

            if (indent)
            {
                Newline(sb, depth);
            }

            sb.Append('}');
            return;
        }

        // Host objects have no enumerable fields; encode their text form.
        WriteString(sb, value.ToString() ?? "", escapeHtml);
    }

    private static void WriteString(StringBuilder sb, string s, bool escapeHtml)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    continue;
                case '\\':
                    sb.Append("\\\\");
                    continue;
                case '\n':
                    sb.Append("\\n");
                    continue;
                case '\r':
                    sb.Append("\\r");
                    continue;
                case '\t':
                    sb.Append("\\t");
                    continue;
                case '<' or '>' or '&' when escapeHtml:
                    sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    continue;
                case '\u2028' or '\u2029':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    continue;
            }

            if (c < ' ')
            {
                sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                continue;
            }

            sb.Append(c);
        }

        sb.Append('"');
    }

    public static bool TryParse(string text, out object? value, out string? error)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 1000 });
            value = FromElement(doc.RootElement);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            value = null;
            error = text.Length == 0 ? "unexpected end of JSON input" : "invalid character in JSON input: " + ex.Message;
            return false;
        }
    }

    public static object? FromElement(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject())
                {
                    d[p.Name] = FromElement(p.Value);
                }

                return d;
            case JsonValueKind.Array:
                var l = new List<object?>(e.GetArrayLength());
                foreach (var item in e.EnumerateArray())
                {
                    l.Add(FromElement(item));
                }

                return l;
            case JsonValueKind.String:
                return e.GetString();
            case JsonValueKind.Number:
                return e.GetDouble();
            case JsonValueKind.True:
                return GoValue.Box(true);
            case JsonValueKind.False:
                return GoValue.Box(false);
            default:
                return null;
        }
    }
}
