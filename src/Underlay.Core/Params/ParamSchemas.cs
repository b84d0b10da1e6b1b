using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;
using Underlay.Core.Models;

namespace Underlay.Core.Params;

/// <summary>
/// Compiled param schemas, cached by schema text so a param edited through the API recompiles and every other
/// lookup is a dictionary hit. DRP writes draft-4 schemas; draft 7 evaluates the keywords they use identically.
/// </summary>
public sealed class ParamSchemas
{
    private readonly ConcurrentDictionary<string, CompiledSchema> _cache = new(StringComparer.Ordinal);

    /// <summary>Compiles a param's schema, or returns why it cannot be compiled.</summary>
    public CompiledSchema Compile(JsonElement schema)
    {
        var text = schema.GetRawText();
        return _cache.GetOrAdd(text, static (_, element) => CompiledSchema.Build(element), schema);
    }

    /// <summary>Checks a value against the param's schema; returns null when it conforms, else the reason.</summary>
    public string? Check(Param param, JsonElement value)
    {
        if (param.Schema is not { } schema || schema.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        var compiled = Compile(schema);
        return compiled.Error ?? compiled.Check(value);
    }

    /// <summary>The schema's <c>default</c>, the last-resort value of param resolution.</summary>
    public static bool TryGetDefault(Param param, out JsonElement value)
    {
        if (param.Schema is { ValueKind: JsonValueKind.Object } schema && schema.TryGetProperty("default", out var found))
        {
            value = found;
            return true;
        }

        value = default;
        return false;
    }
}

/// <summary>One compiled schema or the error that stopped it compiling.</summary>
public sealed class CompiledSchema
{
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };

    private readonly JsonSchema? _schema;

    private CompiledSchema(JsonSchema? schema, string? error)
    {
        _schema = schema;
        Error = error;
    }

    public string? Error { get; }

    internal static CompiledSchema Build(JsonElement element)
    {
        try
        {
            // A private registry per schema: DRP schemas carry no $id, and sharing the global registry would make
            // two params' schemas collide on the default base URI.
            var options = new BuildOptions { Dialect = Dialect.Draft07, SchemaRegistry = new SchemaRegistry() };
            return new CompiledSchema(JsonSchema.Build(element.Clone(), options), null);
        }
        catch (Exception e) when (e is JsonSchemaException or JsonException or ArgumentException or InvalidOperationException or RefResolutionException)
        {
            return new CompiledSchema(null, $"invalid schema: {e.Message}");
        }
    }

    public string? Check(JsonElement value)
    {
        if (_schema is null)
        {
            return Error;
        }

        var results = _schema.Evaluate(value, Evaluation);
        if (results.IsValid)
        {
            return null;
        }

        var reasons = new List<string>();
        Collect(results, reasons);
        return reasons.Count == 0 ? "value does not match the schema" : string.Join("; ", reasons.Distinct());
    }

    private static void Collect(EvaluationResults results, List<string> reasons)
    {
        if (results.Errors is { Count: > 0 } errors)
        {
            foreach (var (keyword, message) in errors)
            {
                var location = results.InstanceLocation.ToString();
                reasons.Add(location.Length > 0 ? $"{location} {keyword}: {message}" : $"{keyword}: {message}");
            }
        }

        if (results.Details is { Count: > 0 } details)
        {
            foreach (var detail in details)
            {
                Collect(detail, reasons);
            }
        }
    }
}
