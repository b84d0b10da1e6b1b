using System.Text.Json;
using System.Text.Json.Nodes;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Store.Content;

/// <summary>
/// Reads content packs from disk in either DRP form: a bundled file (<c>pack.json</c> / <c>pack.yaml</c> with
/// <c>meta</c> and <c>sections</c>), or an unbundled directory (<c>meta.yaml</c> plus <c>&lt;prefix&gt;/&lt;key&gt;.yaml</c>;
/// files under <c>templates/</c> that are not YAML or JSON are raw template text keyed by file name).
/// </summary>
public static class ContentDirectory
{
    /// <summary>Every pack directly under <paramref name="root"/>, in name order; none if the folder is absent.</summary>
    public static IReadOnlyList<ContentPack> LoadAll(string root)
    {
        if (!Directory.Exists(root))
        {
            return [];
        }

        var packs = new List<ContentPack>();
        foreach (var path in Directory.EnumerateFileSystemEntries(root).Order(StringComparer.Ordinal))
        {
            if (Directory.Exists(path) && File.Exists(Path.Combine(path, "meta.yaml")))
            {
                packs.Add(LoadDirectory(path));
            }
            else if (File.Exists(path) && Path.GetExtension(path) is ".json" or ".yaml" or ".yml")
            {
                packs.Add(LoadFile(path));
            }
        }

        return packs;
    }

    public static ContentPack LoadFile(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(YamlJson.ToJsonBytes(File.ReadAllBytes(path)), UnderlayJsonContext.Default.ContentPack)
                   ?? throw new InvalidDataException($"{path}: empty content pack");
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    public static ContentPack LoadDirectory(string directory)
    {
        var pack = new ContentPack { Meta = Read<ContentMeta>(Path.Combine(directory, "meta.yaml"), UnderlayJsonContext.Default.ContentMeta) };
        if (pack.Meta.Name.Length == 0)
        {
            pack.Meta.Name = Path.GetFileName(directory);
        }

        foreach (var sectionDirectory in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            var prefix = Path.GetFileName(sectionDirectory);
            if (ModelTypes.Find(prefix) is not { } type)
            {
                throw new InvalidDataException($"{sectionDirectory}: '{prefix}' is not an object type");
            }

            var section = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var file in Directory.EnumerateFiles(sectionDirectory).Order(StringComparer.Ordinal))
            {
                var extension = Path.GetExtension(file);
                JsonElement element;
                string key;
                if (extension is ".yaml" or ".yml" or ".json")
                {
                    element = ParseElement(file);
                    var model = type.Deserialize(element, UnderlayJson.LenientInput);
                    key = model.Key.Length > 0 ? model.Key : Path.GetFileNameWithoutExtension(file);
                }
                else if (type == ModelTypes.Templates)
                {
                    key = Path.GetFileName(file);
                    var template = new JsonObject { ["ID"] = key, ["Contents"] = File.ReadAllText(file) };
                    element = JsonSerializer.SerializeToElement(template, UnderlayJsonNodeContext.Default.JsonObject);
                }
                else
                {
                    continue;
                }

                if (!section.TryAdd(key, element))
                {
                    throw new InvalidDataException($"{file}: {prefix}/{key} is defined twice");
                }
            }

            pack.Sections[prefix] = section;
        }

        return pack;
    }

    private static T Read<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return ParseElement(path).Deserialize(typeInfo) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static JsonElement ParseElement(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(YamlJson.ToJsonBytes(File.ReadAllBytes(path)));
            return document.RootElement.Clone();
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}
