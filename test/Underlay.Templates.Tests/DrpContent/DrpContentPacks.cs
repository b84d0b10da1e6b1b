using System.Text.Json;

namespace Underlay.Templates.Tests.DrpContent;

/// <summary>One template text found in a DRP content pack, with where it was found.</summary>
internal sealed record PackTemplate(string Pack, string Where, string Kind, string Text)
{
    public override string ToString() => $"{Pack}: {Where}";
}

/// <summary>
/// Finds the community content packs (the shared folder beside the checkout, as the design documents describe)
/// and every template text in them: template objects' Contents, Templates[] entries' Contents/Path/Link in
/// bootenvs, tasks and stages, BootParams, and param values that hold template actions.
/// </summary>
internal static class DrpContentPacks
{
    private static readonly Lazy<List<PackTemplate>> s_all = new(Load);

    public static IReadOnlyList<PackTemplate> All => s_all.Value;

    public static string Directory()
    {
        var fromEnv = Environment.GetEnvironmentVariable("UNDERLAY_DRP_CONTENT");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Underlay.slnx")))
        {
            dir = dir.Parent;
        }

        Assert.True(dir is not null, $"cannot find the repository root (a folder with Underlay.slnx) above {AppContext.BaseDirectory}");
        var content = Path.GetFullPath(Path.Combine(dir!.FullName, "..", "shared", "content", "drp-community"));
        Assert.True(
            System.IO.Directory.Exists(content),
            $"DRP community content not found at {content}: the tests expect the shared folder beside the checkout (<repo>/../shared/content/drp-community), or set UNDERLAY_DRP_CONTENT");
        return content;
    }

    private static List<PackTemplate> Load()
    {
        var result = new List<PackTemplate>();
        var files = System.IO.Directory.GetFiles(Directory(), "*.json").Order(StringComparer.Ordinal).ToList();
        foreach (var file in files)
        {
            var pack = Path.GetFileNameWithoutExtension(file);
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            if (!doc.RootElement.TryGetProperty("sections", out var sections))
            {
                continue;
            }

            foreach (var section in sections.EnumerateObject())
            {
                foreach (var obj in section.Value.EnumerateObject())
                {
                    Collect(result, pack, section.Name, obj.Name, obj.Value);
                }
            }
        }

        return result;
    }

    private static void Add(List<PackTemplate> result, string pack, string where, string kind, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text)
        {
            result.Add(new PackTemplate(pack, where, kind, text));
        }
    }

    private static void Collect(List<PackTemplate> result, string pack, string section, string key, JsonElement obj)
    {
        var at = $"{section}/{key}";
        if (section == "templates" && obj.TryGetProperty("Contents", out var contents))
        {
            Add(result, pack, at + ".Contents", "template", contents);
        }

        if (obj.TryGetProperty("Templates", out var templates) && templates.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var t in templates.EnumerateArray())
            {
                var name = t.TryGetProperty("Name", out var n) ? n.GetString() : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                foreach (var field in (ReadOnlySpan<string>)["Contents", "Path", "Link"])
                {
                    if (t.TryGetProperty(field, out var v))
                    {
                        Add(result, pack, $"{at}.Templates[{name}].{field}", field.ToLowerInvariant(), v);
                    }
                }

                i++;
            }
        }

        if (section == "bootenvs")
        {
            if (obj.TryGetProperty("BootParams", out var bp))
            {
                Add(result, pack, at + ".BootParams", "bootparams", bp);
            }

            if (obj.TryGetProperty("OS", out var os) && os.TryGetProperty("SupportedArchitectures", out var arches) && arches.ValueKind == JsonValueKind.Object)
            {
                foreach (var arch in arches.EnumerateObject())
                {
                    if (arch.Value.TryGetProperty("BootParams", out var abp))
                    {
                        Add(result, pack, $"{at}.OS.SupportedArchitectures.{arch.Name}.BootParams", "bootparams", abp);
                    }
                }
            }
        }

        // Param values are rendered as templates by .ParamExpand; collect those holding actions.
        if (obj.TryGetProperty("Params", out var ps) && ps.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in ps.EnumerateObject())
            {
                if (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString()!.Contains("{{", StringComparison.Ordinal))
                {
                    Add(result, pack, $"{at}.Params.{p.Name}", "param-value", p.Value);
                }
            }
        }

        if (section == "params" && obj.TryGetProperty("Schema", out var schema) && schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("default", out var def) && def.ValueKind == JsonValueKind.String && def.GetString()!.Contains("{{", StringComparison.Ordinal))
        {
            Add(result, pack, at + ".Schema.default", "param-value", def);
        }
    }
}
