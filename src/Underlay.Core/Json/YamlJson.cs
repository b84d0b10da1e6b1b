using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Underlay.Core.Json;

/// <summary>
/// Converts between YAML and JSON through YamlDotNet's representation model (no reflection, so it works in the
/// NativeAOT CLI). Plain scalars are typed with the YAML 1.2 core schema (null, booleans, integers, floats);
/// quoted scalars stay strings.
/// </summary>
public static partial class YamlJson
{
    [GeneratedRegex(@"^[-+]?(0|[1-9][0-9]*)$")]
    private static partial Regex IntegerRule();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatRule();

    /// <summary>True when the text looks like YAML rather than JSON (JSON is valid YAML, but JSON parses faster).</summary>
    public static bool LooksLikeJson(ReadOnlySpan<byte> utf8)
    {
        foreach (var b in utf8)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF)
            {
                continue;
            }

            return b is (byte)'{' or (byte)'[' or (byte)'"';
        }

        return false;
    }

    /// <summary>Parses one YAML document into JSON; throws <see cref="FormatException"/> naming the line on errors.</summary>
    public static JsonNode? Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new FormatException($"YAML line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }

        if (stream.Documents.Count == 0)
        {
            return null;
        }

        return ToJson(stream.Documents[0].RootNode, 0);
    }

    /// <summary>Parses JSON or YAML bytes into UTF-8 JSON.</summary>
    public static byte[] ToJsonBytes(byte[] jsonOrYaml)
    {
        if (LooksLikeJson(jsonOrYaml))
        {
            try
            {
                using var _ = JsonDocument.Parse(jsonOrYaml, new JsonDocumentOptions { MaxDepth = 64 });
                return jsonOrYaml;
            }
            catch (JsonException)
            {
                // Flow-style YAML ({Name: x}) also starts with a brace; let the YAML parser have it.
            }
        }

        var node = Parse(Encoding.UTF8.GetString(jsonOrYaml));
        return JsonSerializer.SerializeToUtf8Bytes(node, UnderlayJsonNodeContext.Default.JsonNode);
    }

    private static JsonNode? ToJson(YamlNode node, int depth)
    {
        if (depth > 64)
        {
            throw new FormatException("YAML nested deeper than 64 levels");
        }

        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (key, value) in mapping.Children)
                {
                    var name = key is YamlScalarNode scalarKey ? scalarKey.Value ?? "" : throw new FormatException($"YAML line {key.Start.Line}: only scalar keys are supported");
                    obj[name] = ToJson(value, depth + 1);
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                foreach (var item in sequence.Children)
                {
                    array.Add(ToJson(item, depth + 1));
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                return null;
        }
    }

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(text);
        }

        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (IntegerRule().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (FloatRule().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }

        return JsonValue.Create(text);
    }

    /// <summary>Writes JSON as block-style YAML (for <c>--format yaml</c> output).</summary>
    public static string ToYaml(JsonElement element)
    {
        var document = new YamlDocument(ToYamlNode(element));
        var stream = new YamlStream(document);
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();

        // YamlDotNet ends every document with an explicit "..." marker; people do not want it.
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode ToYamlNode(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => new YamlMappingNode(element.EnumerateObject().Select(p =>
            new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(p.Name), ToYamlNode(p.Value)))),
        JsonValueKind.Array => new YamlSequenceNode(element.EnumerateArray().Select(ToYamlNode)),
        JsonValueKind.String => StringNode(element.GetString() ?? ""),
        JsonValueKind.Number => new YamlScalarNode(element.GetRawText()),
        JsonValueKind.True => new YamlScalarNode("true"),
        JsonValueKind.False => new YamlScalarNode("false"),
        _ => new YamlScalarNode("null"),
    };

    private static YamlScalarNode StringNode(string text)
    {
        // Quote strings that would otherwise read back as another type, and use literal blocks for multi-line text.
        if (text.Contains('\n', StringComparison.Ordinal))
        {
            return new YamlScalarNode(text) { Style = ScalarStyle.Literal };
        }

        var ambiguous = text.Length == 0 || Scalar(new YamlScalarNode(text)) is not { } value || value.GetValueKind() != JsonValueKind.String;
        return new YamlScalarNode(text) { Style = ambiguous ? ScalarStyle.DoubleQuoted : ScalarStyle.Any };
    }
}
