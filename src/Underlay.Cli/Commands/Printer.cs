using System.Text;
using System.Text.Json;
using Spectre.Console;
using Underlay.Core.Json;

namespace Underlay.Cli.Commands;

/// <summary>Writes API answers as indented JSON (the default, like drpcli), YAML, or a table for lists.</summary>
internal static class Printer
{
    /// <summary>Columns shown for lists in table form, per type; the key column always comes first.</summary>
    private static readonly Dictionary<string, string[]> TableColumns = new(StringComparer.Ordinal)
    {
        ["machines"] = ["Uuid", "Name", "Address", "BootEnv", "Stage", "Workflow", "Runnable", "WorkflowComplete"],
        ["subnets"] = ["Name", "Subnet", "ActiveStart", "ActiveEnd", "Enabled", "Proxy"],
        ["reservations"] = ["Addr", "Token", "Subnet"],
        ["leases"] = ["Addr", "Token", "State", "ExpireTime", "Via"],
        ["jobs"] = ["Uuid", "Machine", "Task", "State", "ExitState", "StartTime", "EndTime"],
        ["templates"] = ["ID", "Description"],
        ["contents"] = ["Name", "Version", "Description"],
    };

    public static void Write(string format, JsonElement element, string? prefix = null)
    {
        switch (format)
        {
            case "yaml":
                Console.Out.Write(YamlJson.ToYaml(element));
                break;
            case "table" when element.ValueKind == JsonValueKind.Array:
                WriteTable(element, prefix);
                break;
            case "json" or "table":
                Console.Out.WriteLine(Indented(element));
                break;
            default:
                throw new CliException($"unknown --format '{format}' (json, yaml, table)");
        }
    }

    public static void Write(string format, byte[] utf8Json, string? prefix = null)
    {
        using var document = JsonDocument.Parse(utf8Json);
        Write(format, document.RootElement, prefix);
    }

    public static string Indented(JsonElement element)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            element.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteTable(JsonElement array, string? prefix)
    {
        var rows = array.EnumerateArray().ToList();
        string[] columns = prefix is not null && TableColumns.TryGetValue(prefix, out var known)
            ? known
            : rows.FirstOrDefault().ValueKind == JsonValueKind.Object && rows[0].TryGetProperty("Name", out _) ? ["Name", "Description"] : [];
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in columns)
        {
            table.AddColumn(Markup.Escape(column));
        }

        foreach (var row in rows)
        {
            var source = row.TryGetProperty("meta", out var meta) ? meta : row;
            table.AddRow([.. columns.Select(c => Markup.Escape(Cell(source, c)))]);
        }

        // Redirected output has no terminal width; do not wrap identifiers into pieces for scripts and pagers.
        if (Console.IsOutputRedirected)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
            console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var width) && width > 0 ? width : 250;
            console.Write(table);
            return;
        }

        AnsiConsole.Write(table);
    }

    private static string Cell(JsonElement row, string column)
    {
        if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty(column, out var value))
        {
            return "";
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString() ?? "",
            JsonValueKind.Array => string.Join(",", value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())),
            _ => value.GetRawText(),
        };
    }
}
