using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Underlay.Images.Spec;

/// <summary>
/// Writes the resolved spec for <c>files: - metadata: json|yaml</c> (LinuxKit embeds its config this way, e.g.
/// /etc/linuxkit.yml). Built from JSON nodes and YamlDotNet's representation model, so no reflection is involved.
/// </summary>
internal static class SpecSerializer
{
    public static byte[] Serialize(ImageSpec spec, string format, string context)
    {
        var root = ToJson(spec);
        return format switch
        {
            "json" => Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, IndentSize = 4 })),
            "yaml" => Encoding.UTF8.GetBytes(ToYaml(root)),
            _ => throw new ImageBuildException($"{context}: unsupported metadata type '{format}' (json or yaml)"),
        };
    }

    public static JsonObject ToJson(ImageSpec spec)
    {
        var kernel = new JsonObject { ["image"] = spec.Kernel.Image ?? "" };
        Add(kernel, "cmdline", spec.Kernel.Cmdline);
        Add(kernel, "binary", spec.Kernel.Binary);
        Add(kernel, "tar", spec.Kernel.Tar);
        Add(kernel, "ucode", spec.Kernel.UCode);
        var root = new JsonObject
        {
            ["kernel"] = kernel,
            ["init"] = Strings(spec.Init),
            ["onboot"] = Containers(spec.Onboot),
            ["onshutdown"] = Containers(spec.Onshutdown),
            ["services"] = Containers(spec.Services),
            ["files"] = new JsonArray(spec.Files.Select(File).ToArray<JsonNode?>()),
        };
        if (spec.Volumes.Count > 0)
        {
            root["volumes"] = new JsonArray(spec.Volumes.Select(v =>
            {
                var o = new JsonObject { ["name"] = v.Name };
                Add(o, "image", v.Image);
                if (v.Readonly)
                {
                    o["readonly"] = true;
                }

                Add(o, "format", v.Format);
                if (v.Platforms is not null)
                {
                    o["platforms"] = Strings(v.Platforms);
                }

                return (JsonNode?)o;
            }).ToArray());
        }

        return root;
    }

    private static JsonObject File(FileSpec f)
    {
        var o = new JsonObject { ["path"] = f.Path };
        if (f.Directory)
        {
            o["directory"] = true;
        }

        Add(o, "symlink", f.Symlink);
        if (f.Contents is not null)
        {
            o["contents"] = f.Contents;
        }

        Add(o, "source", f.Source);
        Add(o, "metadata", f.Metadata);
        if (f.Optional)
        {
            o["optional"] = true;
        }

        Add(o, "mode", f.Mode);
        AddId(o, "uid", f.Uid);
        AddId(o, "gid", f.Gid);
        return o;
    }

    private static JsonArray Containers(List<ContainerSpec> containers) =>
        new(containers.Select(c =>
        {
            var o = new JsonObject { ["name"] = c.Name, ["image"] = c.Image };
            var x = c.Config;
            AddList(o, "capabilities", x.Capabilities);
            AddList(o, "capabilities.add", x.CapabilitiesAdd);
            AddList(o, "ambient", x.Ambient);
            if (x.Mounts is not null)
            {
                o["mounts"] = Mounts(x.Mounts);
            }

            AddList(o, "binds", x.Binds);
            AddList(o, "binds.add", x.BindsAdd);
            if (x.Devices is not null)
            {
                o["devices"] = new JsonArray(x.Devices.Select(d =>
                {
                    var device = new JsonObject { ["path"] = d.Path, ["type"] = d.Type, ["major"] = d.Major, ["minor"] = d.Minor };
                    Add(device, "mode", d.Mode);
                    return (JsonNode?)device;
                }).ToArray());
            }

            AddList(o, "tmpfs", x.Tmpfs);
            AddList(o, "command", x.Command);
            AddList(o, "env", x.Env);
            Add(o, "cwd", x.Cwd);
            Add(o, "net", x.Net);
            Add(o, "pid", x.Pid);
            Add(o, "ipc", x.Ipc);
            Add(o, "uts", x.Uts);
            Add(o, "userns", x.Userns);
            Add(o, "hostname", x.Hostname);
            if (x.Readonly is { } ro)
            {
                o["readonly"] = ro;
            }

            AddList(o, "maskedPaths", x.MaskedPaths);
            AddList(o, "readonlyPaths", x.ReadonlyPaths);
            AddId(o, "uid", x.Uid);
            AddId(o, "gid", x.Gid);
            if (x.AdditionalGids is not null)
            {
                o["additionalGids"] = new JsonArray(x.AdditionalGids.Select(g => g.Name is null ? (JsonNode?)JsonValue.Create(g.Number) : JsonValue.Create(g.Name)).ToArray());
            }

            if (x.NoNewPrivileges is { } nnp)
            {
                o["noNewPrivileges"] = nnp;
            }

            if (x.OomScoreAdj is { } oom)
            {
                o["oomScoreAdj"] = oom;
            }

            Add(o, "rootfsPropagation", x.RootfsPropagation);
            Add(o, "cgroupsPath", x.CgroupsPath);
            if (x.Resources is not null)
            {
                o["resources"] = x.Resources.DeepClone();
            }

            AddMap(o, "sysctl", x.Sysctl);
            AddList(o, "rlimits", x.Rlimits);
            AddMap(o, "annotations", x.Annotations);
            return (JsonNode?)o;
        }).ToArray());

    private static JsonArray Mounts(List<MountSpec> mounts) =>
        new(mounts.Select(m =>
        {
            var o = new JsonObject();
            Add(o, "destination", m.Destination);
            Add(o, "type", m.Type);
            Add(o, "source", m.Source);
            AddList(o, "options", m.Options);
            return (JsonNode?)o;
        }).ToArray());

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    private static void Add(JsonObject o, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            o[name] = value;
        }
    }

    private static void AddList(JsonObject o, string name, List<string>? values)
    {
        if (values is not null)
        {
            o[name] = Strings(values);
        }
    }

    private static void AddMap(JsonObject o, string name, Dictionary<string, string>? map)
    {
        if (map is not null)
        {
            var m = new JsonObject();
            foreach (var (k, v) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                m[k] = v;
            }

            o[name] = m;
        }
    }

    private static void AddId(JsonObject o, string name, IdValue? id)
    {
        if (id is { } value)
        {
            o[name] = value.Name is null ? JsonValue.Create(value.Number) : JsonValue.Create(value.Name);
        }
    }

    private static string ToYaml(JsonNode root)
    {
        var stream = new YamlStream(new YamlDocument(ToYamlNode(root)));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        var text = writer.ToString();
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    private static YamlNode ToYamlNode(JsonNode? node) => node switch
    {
        JsonObject o => new YamlMappingNode(o.Select(p => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(p.Key), ToYamlNode(p.Value)))),
        JsonArray a => new YamlSequenceNode(a.Select(ToYamlNode)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => new YamlScalarNode(v.GetValue<string>()) { Style = ScalarStyle.DoubleQuoted },
        null => new YamlScalarNode("null"),
        _ => new YamlScalarNode(node.ToJsonString()),
    };
}
