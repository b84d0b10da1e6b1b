using System.Text.Json;

namespace Underlay.Templates.Tests.Conformance;

/// <summary>One conformance case from GoOracle/cases/*.cases (format in GoOracle/README.md).</summary>
internal sealed class TemplateCase
{
    public required string Name { get; init; }

    public string Template { get; set; } = "";

    public string Data { get; set; } = "";

    public Dictionary<string, string> Options { get; } = [];

    public SortedDictionary<string, string> Defines { get; } = new(StringComparer.Ordinal);

    /// <summary>Hand-written expected output, for features newer than the Go the oracle runs (1.19).</summary>
    public string? Expect { get; set; }

    /// <summary>Hand-written expected error text (a substring of the message).</summary>
    public string? ExpectError { get; set; }

    public override string ToString() => Name;
}

internal static class CaseFile
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "GoOracle");

    private static readonly Lazy<Dictionary<string, TemplateCase>> s_cases = new(LoadAll);
    private static readonly Lazy<Dictionary<string, Golden>> s_goldens = new(LoadGoldens);

    public static IReadOnlyDictionary<string, TemplateCase> Cases => s_cases.Value;

    public static IReadOnlyDictionary<string, Golden> Goldens => s_goldens.Value;

    internal sealed record Golden(string? Output, string? Error);

    private static Dictionary<string, TemplateCase> LoadAll()
    {
        var all = new Dictionary<string, TemplateCase>(StringComparer.Ordinal);
        foreach (var file in System.IO.Directory.GetFiles(Path.Combine(Directory, "cases"), "*.cases").Order(StringComparer.Ordinal))
        {
            foreach (var c in Parse(File.ReadAllText(file)))
            {
                if (!all.TryAdd(c.Name, c))
                {
                    throw new InvalidOperationException($"duplicate case {c.Name} in {file}");
                }
            }
        }

        return all;
    }

    private static Dictionary<string, Golden> LoadGoldens()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "goldens.json")));
        var result = new Dictionary<string, Golden>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            var output = p.Value.TryGetProperty("output", out var o) ? o.GetString() : null;
            var error = p.Value.TryGetProperty("error", out var e) ? e.GetString() : null;
            result[p.Name] = new Golden(output, error);
        }

        return result;
    }

    /// <summary>Same rules as oracle.go's readCases: a section runs to the next marker; its final newline is dropped.</summary>
    public static List<TemplateCase> Parse(string text)
    {
        var cases = new List<TemplateCase>();
        TemplateCase? current = null;
        string? section = null;
        var buffer = new List<string>();

        void Flush()
        {
            if (current is null || section is null)
            {
                return;
            }

            var body = string.Join('\n', buffer);
            switch (section)
            {
                case "template":
                    current.Template = body;
                    break;
                case "data":
                    current.Data = body;
                    break;
                case "options":
                    foreach (var field in body.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries))
                    {
                        var eq = field.IndexOf('=', StringComparison.Ordinal);
                        if (eq > 0)
                        {
                            current.Options[field[..eq]] = field[(eq + 1)..];
                        }
                        else
                        {
                            current.Options[field] = "true";
                        }
                    }

                    break;
                case "expect":
                    current.Expect = body;
                    break;
                case "expect-error":
                    current.ExpectError = body;
                    break;
                default:
                    if (section.StartsWith("define ", StringComparison.Ordinal))
                    {
                        current.Defines[section["define ".Length..]] = body;
                    }

                    break;
            }

            buffer.Clear();
        }

        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0)
        {
            // Like Go's line scanner: a final newline does not start another (empty) line.
            lines = lines[..^1];
        }

        foreach (var line in lines)
        {
            if (line.StartsWith("=== ", StringComparison.Ordinal))
            {
                Flush();
                current = new TemplateCase { Name = line[4..].Trim() };
                cases.Add(current);
                section = null;
            }
            else if (line.StartsWith("--- ", StringComparison.Ordinal) && current is not null)
            {
                Flush();
                section = line[4..].Trim();
            }
            else if (line.StartsWith('#') && section is null)
            {
                // A comment between cases.
            }
            else if (section is not null)
            {
                buffer.Add(line);
            }
        }

        Flush();
        return cases;
    }
}
