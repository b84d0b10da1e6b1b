using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Underlay.Images;

// generate <layout-dir> <megabytes> <layers> [kernel-file]: an OCI layout with image "rootfs" (host files from /usr,
//   spread over N gzip layers, about the given size uncompressed) and "kernel" (the given kernel, or 10 MB of bytes).
// build <spec> <out-dir> <cache-dir> <fastest|optimal|smallest> <cache|nocache>: one build, prints the wall time.
return args switch
{
    ["generate", var dir, var mb, var layers, .. var rest] => Generate(dir, long.Parse(mb, System.Globalization.CultureInfo.InvariantCulture) << 20,
        int.Parse(layers, System.Globalization.CultureInfo.InvariantCulture), rest.FirstOrDefault()),
    ["build", var spec, var output, var cache, var compression, var useCache] => await BuildAsync(spec, output, cache, compression, useCache == "cache"),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: ImagesBench generate DIR MB LAYERS [KERNEL] | build SPEC OUT CACHE fastest|optimal|smallest cache|nocache");
    return 2;
}

static async Task<int> BuildAsync(string spec, string output, string cache, string compression, bool useCache)
{
    var watch = Stopwatch.StartNew();
    var result = await ImageBuilder.BuildAsync(new BuildRequest
    {
        SpecFiles = [spec],
        OutputDirectory = output,
        CacheDirectory = cache,
        Name = "bench",
        UseOutputCache = useCache,
        Compression = compression switch { "optimal" => InitrdCompression.Optimal, "smallest" => InitrdCompression.SmallestSize, _ => InitrdCompression.Fastest },
    });
    Console.WriteLine($"elapsed {watch.Elapsed.TotalSeconds:0.000} s, up-to-date {result.UpToDate}, initrd {result.Outputs.Single(o => o.Path.EndsWith("-initrd.img", StringComparison.Ordinal)).Size} bytes");
    return 0;
}

static int Generate(string root, long targetBytes, int layerCount, string? kernelFile)
{
    // Real files make a realistic compression ratio: binaries, libraries, text, in a fixed (sorted) order.
    var files = new List<(string Path, long Size)>();
    long total = 0;
    foreach (var path in Directory.EnumerateFiles("/usr", "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
                 .Order(StringComparer.Ordinal))
    {
        var info = new FileInfo(path);
        if (info.Length is 0 or > 64L << 20)
        {
            continue;
        }

        files.Add((path.TrimStart('/'), info.Length));
        total += info.Length;
        if (total >= targetBytes)
        {
            break;
        }
    }

    Directory.CreateDirectory(Path.Combine(root, "blobs", "sha256"));
    File.WriteAllText(Path.Combine(root, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    var manifests = new List<string>();
    var perLayer = (files.Count + layerCount - 1) / layerCount;
    var layers = new List<(string Digest, long Size, string DiffId)>();
    for (var i = 0; i < layerCount; i++)
    {
        var chunk = files.Skip(i * perLayer).Take(perLayer).ToList();
        layers.Add(WriteLayer(root, chunk));
    }

    manifests.Add(WriteImage(root, "rootfs", layers));
    var kernel = kernelFile is not null && File.Exists(kernelFile) ? File.ReadAllBytes(kernelFile) : RandomNumberGenerator.GetBytes(10 << 20);
    using (var tar = new MemoryStream())
    {
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "kernel") { DataStream = new MemoryStream(kernel), Mode = (UnixFileMode)0x1A4 });
        }

        manifests.Add(WriteImage(root, "kernel", [Compress(root, tar.ToArray())]));
    }

    File.WriteAllText(Path.Combine(root, "index.json"), "{\"schemaVersion\":2,\"manifests\":[" + string.Join(',', manifests) + "]}");
    Console.WriteLine($"generated {files.Count} files, {total >> 20} MiB, {layerCount} layers in {root}");
    return 0;
}

static (string, long, string) WriteLayer(string root, List<(string Path, long Size)> files)
{
    var temporary = Path.Combine(root, "layer.tar.tmp");
    using (var tar = File.Create(temporary))
    using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
    {
        var directories = new HashSet<string>();
        foreach (var (path, _) in files)
        {
            var parts = path.Split('/');
            for (var i = 1; i < parts.Length; i++)
            {
                var dir = string.Join('/', parts[..i]);
                if (directories.Add(dir))
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, dir + "/") { Mode = (UnixFileMode)0x1ED });
                }
            }

            using var data = File.OpenRead("/" + path);
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = data, Mode = (UnixFileMode)0x1ED });
        }
    }

    var result = Compress(root, File.ReadAllBytes(temporary));
    File.Delete(temporary);
    return result;
}

static (string, long, string) Compress(string root, byte[] tar)
{
    var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
    using var gz = new MemoryStream();
    using (var gzip = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
    {
        gzip.Write(tar);
    }

    var blob = gz.ToArray();
    var digest = Convert.ToHexStringLower(SHA256.HashData(blob));
    File.WriteAllBytes(Path.Combine(root, "blobs", "sha256", digest), blob);
    return ("sha256:" + digest, blob.Length, diffId);
}

static string WriteImage(string root, string name, List<(string Digest, long Size, string DiffId)> layers)
{
    var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" +
                                        string.Join(',', layers.Select(l => $"\"{l.DiffId}\"")) + "]}}");
    var configDigest = Convert.ToHexStringLower(SHA256.HashData(config));
    File.WriteAllBytes(Path.Combine(root, "blobs", "sha256", configDigest), config);
    var manifest = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" +
                                          configDigest + $"\",\"size\":{config.Length}}},\"layers\":[" +
                                          string.Join(',', layers.Select(l => $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{l.Digest}\",\"size\":{l.Size}}}")) + "]}");
    var manifestDigest = Convert.ToHexStringLower(SHA256.HashData(manifest));
    File.WriteAllBytes(Path.Combine(root, "blobs", "sha256", manifestDigest), manifest);
    return $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{manifestDigest}\",\"size\":{manifest.Length},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"{name}\"}}}}";
}
