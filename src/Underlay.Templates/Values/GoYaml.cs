using System.Collections;
using System.Globalization;
using System.Text;

namespace Underlay.Templates.Values;

/// <summary>
/// toYaml in the shape Helm's (sigs.k8s.io/yaml over yaml.v2) produces: sorted keys, two-space indents, sequences
/// at the parent's indent, plain scalars unless they would read back as something else, and no trailing newline.
/// </summary>
internal static class GoYaml
{
    public static string Serialize(object? value)
    {
        var sb = new StringBuilder();
        WriteNode(sb, value, 0, 0);
        return sb.ToString().TrimEnd('\n');
    }

    private static bool IsCollection(object? v, out bool empty)
    {
        empty = false;
        if (v is IList l and not byte[])
        {
            empty = l.Count == 0;
            return true;
        }

        if (v is not null && GoValue.IsMap(v))
        {
            empty = GoValue.MapCount(v) == 0;
            return true;
        }

        return false;
    }

    private static void WriteNode(StringBuilder sb, object? value, int indent, int depth)
    {
        ValueLimit.Check(sb.Length);
        if (depth > 500)
        {
            throw new TemplateFunctionException("value nested too deep for YAML");
        }

        if (value is IList list and not byte[])
        {
            if (list.Count == 0)
            {
                sb.Append("[]\n");
                return;
            }

            foreach (var item in list)
            {
                sb.Append(' ', indent).Append("- ");
                WriteInline(sb, item, indent + 2, depth);
            }

            return;
        }

        if (value is not null && GoValue.IsMap(value))
        {
            var keys = GoValue.SortedKeys(value);
            if (keys.Length == 0)
            {
                sb.Append("{}\n");
                return;
            }

            foreach (var key in keys)
            {
                sb.Append(' ', indent).Append(Scalar(key)).Append(':');
                var v = GoValue.MapGet(value, key);
                if (IsCollection(v, out var empty) && !empty)
                {
                    sb.Append('\n');
                    WriteNode(sb, v, v is IList ? indent : indent + 2, depth + 1);
                }
                else
                {
                    sb.Append(' ');
                    WriteScalarLine(sb, v, indent + 2);
                }
            }

            return;
        }

        WriteScalarLine(sb, value, indent);
    }

    /// <summary>A value that follows "- " on the same line.</summary>
    private static void WriteInline(StringBuilder sb, object? item, int indent, int depth)
    {
        if (IsCollection(item, out var empty) && !empty)
        {
            var nested = new StringBuilder();
            WriteNode(nested, item, indent, depth + 1);

            // The first line moves up beside the dash.
            var text = nested.ToString();
            sb.Append(text.AsSpan(indent));
            return;
        }

        WriteScalarLine(sb, item, indent);
    }

    private static void WriteScalarLine(StringBuilder sb, object? v, int indent)
    {
        switch (v)
        {
            case IList:
                sb.Append("[]\n");
                return;
            case not null when GoValue.IsMap(v):
                sb.Append("{}\n");
                return;
            case string s when s.Contains('\n', StringComparison.Ordinal):
                sb.Append(s.EndsWith('\n') ? "|\n" : "|-\n");
                foreach (var line in s.TrimEnd('\n').Split('\n'))
                {
                    if (line.Length > 0)
                    {
                        sb.Append(' ', indent);
                    }

                    sb.Append(line).Append('\n');
                }

                return;
        }

        sb.Append(Scalar(v)).Append('\n');
    }

    private static string Scalar(object? v) => v switch
    {
        null or NoValue => "null",
        bool b => b ? "true" : "false",
        string s => QuoteIfNeeded(s),
        double d => d == Math.Floor(d) && Math.Abs(d) < 1e21 ? d.ToString("0", CultureInfo.InvariantCulture) : GoFormat.FormatFloat(d, 'g', -1, 64),
        float f => GoFormat.FormatFloat(f, 'g', -1, 32),
        _ when GoValue.IsInteger(v) => GoFormat.Sprint(v),
        _ => QuoteIfNeeded(v.ToString() ?? ""),
    };

    private static string QuoteIfNeeded(string s)
    {
        if (s.Length == 0)
        {
            return "\"\"";
        }

        var lower = s.ToLowerInvariant();
        var ambiguous = lower is "true" or "false" or "yes" or "no" or "on" or "off" or "y" or "n" or "null" or "~"
            || double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            || s.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        var special = s[0] is '-' or '?' or ':' or ',' or '[' or ']' or '{' or '}' or '#' or '&' or '*' or '!' or '|' or '>' or '\'' or '"' or '%' or '@' or '`' or ' '
            || s[^1] == ' ' || s.Contains(": ", StringComparison.Ordinal) || s.Contains(" #", StringComparison.Ordinal) || s.EndsWith(':');
        if (!ambiguous && !special)
        {
            foreach (var c in s)
            {
                if (c < ' ')
                {
                    special = true;
                    break;
                }
            }
        }

        return ambiguous || special ? GoFormat.Quote(s) : s;
    }
}
