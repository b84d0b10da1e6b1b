using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Underlay.Images.Tests.Support;

public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>One layer's tar, written entry by entry (whiteouts are just files named .wh.*).</summary>
public sealed class LayerBuilder
{
    private static readonly DateTimeOffset Time = DateTimeOffset.FromUnixTimeSeconds(1600000000);
    private readonly List<TarEntry> _entries = [];

    public LayerBuilder(LayerCompression compression = LayerCompression.Gzip) => Compression = compression;

    public LayerCompression Compression { get; }

    public LayerBuilder Dir(string path, int mode = 0x1ED, int uid = 0, int gid = 0) =>
        Add(new PaxTarEntry(TarEntryType.Directory, path.EndsWith('/') ? path : path + "/") { Mode = (UnixFileMode)mode, Uid = uid, Gid = gid, ModificationTime = Time });

    public LayerBuilder File(string path, string text, int mode = 0x1A4, int uid = 0, int gid = 0) => File(path, Encoding.UTF8.GetBytes(text), mode, uid, gid);

    public LayerBuilder File(string path, byte[] data, int mode = 0x1A4, int uid = 0, int gid = 0) =>
        Add(new PaxTarEntry(TarEntryType.RegularFile, path) { Mode = (UnixFileMode)mode, Uid = uid, Gid = gid, ModificationTime = Time, DataStream = new MemoryStream(data) });

    public LayerBuilder Symlink(string path, string target) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target, Mode = (UnixFileMode)0x1FF, ModificationTime = Time });

    public LayerBuilder HardLink(string path, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, path) { LinkName = target, Mode = (UnixFileMode)0x1A4, ModificationTime = Time });

    public LayerBuilder CharDevice(string path, int major, int minor, int mode = 0x1B6) =>
        Add(new PaxTarEntry(TarEntryType.CharacterDevice, path) { DeviceMajor = major, DeviceMinor = minor, Mode = (UnixFileMode)mode, ModificationTime = Time });

    public LayerBuilder Fifo(string path) => Add(new PaxTarEntry(TarEntryType.Fifo, path) { Mode = (UnixFileMode)0x1A4, ModificationTime = Time });

    /// <summary>OCI layer.md whiteout: deletes <paramref name="path"/> from lower layers.</summary>
    public LayerBuilder Whiteout(string path)
    {
        var slash = path.LastIndexOf('/');
        var name = slash < 0 ? ".wh." + path : path[..(slash + 1)] + ".wh." + path[(slash + 1)..];
        return File(name, "", 0x1A4);
    }

    /// <summary>OCI layer.md opaque whiteout: hides all lower children of <paramref name="directory"/>.</summary>
    public LayerBuilder Opaque(string directory) => File(directory.TrimEnd('/') + "/.wh..wh..opq", "", 0x1A4);

    public LayerBuilder Add(TarEntry entry)
    {
        _entries.Add(entry);
        return this;
    }

    public byte[] TarBytes()
    {
        using var buffer = new MemoryStream();
        using (var writer = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                if (entry.DataStream is { } data)
                {
                    data.Position = 0;
                }

                writer.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }

    public (byte[] Blob, string MediaType, string DiffId) Build()
    {
        var tar = TarBytes();
        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        switch (Compression)
        {
            case LayerCompression.None:
                return (tar, "application/vnd.oci.image.layer.v1.tar", diffId);
            case LayerCompression.Zstd:
                using (var compressor = new ZstdSharp.Compressor(3))
                {
                    return (compressor.Wrap(tar).ToArray(), "application/vnd.oci.image.layer.v1.tar+zstd", diffId);
                }

            default:
                using (var gz = new MemoryStream())
                {
                    using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
                    {
                        gzip.Write(tar);
                    }

                    return (gz.ToArray(), "application/vnd.oci.image.layer.v1.tar+gzip", diffId);
                }
        }
    }
}

/// <summary>An image: layers (bottom first) plus the config fields the builder reads.</summary>
public sealed class TestImage
{
    public List<LayerBuilder> Layers { get; } = [];
    public List<string>? Entrypoint { get; set; }
    public List<string>? Cmd { get; set; }
    public List<string>? Env { get; set; }
    public string? WorkingDir { get; set; }
    public Dictionary<string, string> Labels { get; } = [];
    public string Architecture { get; set; } = "amd64";

    public TestImage Layer(LayerBuilder layer)
    {
        Layers.Add(layer);
        return this;
    }
}

/// <summary>Writes OCI image layouts (image-spec image-layout.md) by hand, for tests that need real images offline.</summary>
public sealed class OciLayoutWriter
{
    private readonly string _root;
    private readonly JsonArray _manifests = [];

    public OciLayoutWriter(string root)
    {
        _root = root;
        Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
        System.IO.File.WriteAllText(Path.Combine(root, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        Save();
    }

    public string Root => _root;

    /// <summary>
    /// Adds an image under ref name <paramref name="refName"/>; returns the manifest digest. <paramref name="tamperLastLayer"/>
    /// rewrites the top layer's blob before it is stored and described (its digest then matches the tampered bytes).
    /// </summary>
    public string Add(string refName, TestImage image, Func<byte[], byte[]>? tamperLastLayer = null)
    {
        var layers = new JsonArray();
        var diffIds = new JsonArray();
        foreach (var layer in image.Layers)
        {
            var (blob, mediaType, diffId) = layer.Build();
            if (tamperLastLayer is not null && ReferenceEquals(layer, image.Layers[^1]))
            {
                blob = tamperLastLayer(blob);
            }

            var digest = WriteBlob(blob);
            layers.Add(Descriptor(mediaType, digest, blob.Length));
            diffIds.Add(diffId);
        }

        var containerConfig = new JsonObject();
        if (image.Entrypoint is not null)
        {
            containerConfig["Entrypoint"] = new JsonArray(image.Entrypoint.Select(s => (JsonNode?)s).ToArray());
        }

        if (image.Cmd is not null)
        {
            containerConfig["Cmd"] = new JsonArray(image.Cmd.Select(s => (JsonNode?)s).ToArray());
        }

        if (image.Env is not null)
        {
            containerConfig["Env"] = new JsonArray(image.Env.Select(s => (JsonNode?)s).ToArray());
        }

        if (image.WorkingDir is not null)
        {
            containerConfig["WorkingDir"] = image.WorkingDir;
        }

        if (image.Labels.Count > 0)
        {
            var labels = new JsonObject();
            foreach (var (k, v) in image.Labels)
            {
                labels[k] = v;
            }

            containerConfig["Labels"] = labels;
        }

        var config = new JsonObject
        {
            ["architecture"] = image.Architecture,
            ["os"] = "linux",
            ["config"] = containerConfig,
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = diffIds },
        };
        var configBytes = Encoding.UTF8.GetBytes(config.ToJsonString());
        var configDigest = WriteBlob(configBytes);
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.manifest.v1+json",
            ["config"] = Descriptor("application/vnd.oci.image.config.v1+json", configDigest, configBytes.Length),
            ["layers"] = layers,
        };
        var manifestBytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var manifestDigest = WriteBlob(manifestBytes);
        var entry = Descriptor("application/vnd.oci.image.manifest.v1+json", manifestDigest, manifestBytes.Length);
        entry["annotations"] = new JsonObject { ["org.opencontainers.image.ref.name"] = refName };
        entry["platform"] = new JsonObject { ["architecture"] = image.Architecture, ["os"] = "linux" };
        _manifests.Add(entry);
        Save();
        return manifestDigest;
    }

    public string WriteBlob(byte[] data)
    {
        var hex = Convert.ToHexStringLower(SHA256.HashData(data));
        System.IO.File.WriteAllBytes(Path.Combine(_root, "blobs", "sha256", hex), data);
        return "sha256:" + hex;
    }

    public string BlobPath(string digest) => Path.Combine(_root, "blobs", "sha256", digest["sha256:".Length..]);

    private static JsonObject Descriptor(string mediaType, string digest, long size) =>
        new() { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };

    private void Save()
    {
        var index = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = "application/vnd.oci.image.index.v1+json", ["manifests"] = _manifests.DeepClone() };
        System.IO.File.WriteAllText(Path.Combine(_root, "index.json"), index.ToJsonString());
    }
}
