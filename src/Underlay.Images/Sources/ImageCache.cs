using System.Text.Json;
using Underlay.Images.Oci;

namespace Underlay.Images.Sources;

/// <summary>
/// The content-addressed image cache: itself an OCI image layout (image-layout.md), like LinuxKit's
/// ~/.linuxkit/cache, so skopeo/umoci can read it. Pulled manifests, configs and layers are written under
/// blobs/sha256 only after their digest was verified (to a temporary file, then renamed), and index.json names
/// each pulled reference with <c>org.opencontainers.image.ref.name</c>.
/// </summary>
internal sealed class ImageCache : Layers.IBlobSource
{
    private readonly string _root;

    public ImageCache(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(Path.Combine(_root, "blobs", "sha256"));
        var layoutFile = Path.Combine(_root, "oci-layout");
        if (!File.Exists(layoutFile))
        {
            WriteAtomically(layoutFile, JsonSerializer.SerializeToUtf8Bytes(new OciLayoutFile(), OciJsonContext.Default.OciLayoutFile));
        }

        if (!File.Exists(IndexPath))
        {
            WriteAtomically(IndexPath, JsonSerializer.SerializeToUtf8Bytes(new ImageIndex { MediaType = MediaTypes.OciIndex }, OciJsonContext.Default.ImageIndex));
        }
    }

    public string Root => _root;

    public string Describe => "image cache " + _root;

    private string IndexPath => Path.Combine(_root, "index.json");

    public bool HasBlob(string digest) => File.Exists(BlobFile(digest));

    public string BlobFile(string digest) => Path.Combine(_root, Digest.BlobPath(digest));

    public Stream OpenBlob(Descriptor descriptor)
    {
        try
        {
            return new FileStream(BlobFile(descriptor.Digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException e)
        {
            throw new ImageBuildException($"{Describe}: blob {descriptor.Digest} is missing", e);
        }
    }

    public byte[] ReadBlob(Descriptor descriptor, string what)
    {
        using var stream = new VerifyingStream(OpenBlob(descriptor), descriptor.Digest, descriptor.Size, what);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        stream.Drain();
        return buffer.ToArray();
    }

    /// <summary>Stores an already verified small blob (a manifest whose digest was computed from its bytes).</summary>
    public void StoreBlob(string digest, byte[] data)
    {
        if (!HasBlob(digest))
        {
            WriteAtomically(BlobFile(digest), data);
        }
    }

    /// <summary>Copies a blob into the cache, verifying size and digest before it becomes visible.</summary>
    public async Task StoreBlobAsync(Descriptor descriptor, Stream source, string what, Action<long>? progress, CancellationToken cancellationToken)
    {
        var target = BlobFile(descriptor.Digest);
        var temporary = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            await using (var verifying = new VerifyingStream(source, descriptor.Digest, descriptor.Size, what))
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                var buffer = new byte[128 * 1024];
                int n;
                while ((n = await verifying.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    progress?.Invoke(n);
                }

                verifying.Drain();
            }

            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public Descriptor? FindRef(string refName)
    {
        var index = ReadIndex();
        return index.Manifests.LastOrDefault(d =>
            d.Annotations?.TryGetValue(OciLayout.RefNameAnnotation, out var name) == true && name == refName);
    }

    /// <summary>Records (or moves) a reference name in index.json; a lock file serialises concurrent builders.</summary>
    public void AddRef(string refName, Descriptor descriptor)
    {
        using var lockFile = AcquireLock();
        var index = ReadIndex();
        index.Manifests.RemoveAll(d => d.Annotations?.TryGetValue(OciLayout.RefNameAnnotation, out var name) == true && name == refName);
        index.Manifests.Add(new Descriptor
        {
            MediaType = descriptor.MediaType,
            Digest = descriptor.Digest,
            Size = descriptor.Size,
            Platform = descriptor.Platform,
            Annotations = new Dictionary<string, string> { [OciLayout.RefNameAnnotation] = refName },
        });
        index.Manifests.Sort((a, b) => string.CompareOrdinal(a.Annotations![OciLayout.RefNameAnnotation], b.Annotations![OciLayout.RefNameAnnotation]));
        WriteAtomically(IndexPath, JsonSerializer.SerializeToUtf8Bytes(index, OciJsonContext.Default.ImageIndex));
    }

    private ImageIndex ReadIndex()
    {
        try
        {
            using var stream = File.OpenRead(IndexPath);
            return JsonSerializer.Deserialize(stream, OciJsonContext.Default.ImageIndex) ?? new ImageIndex();
        }
        catch (JsonException e)
        {
            throw new ImageBuildException($"{Describe}: index.json is corrupt ({e.Message}); delete it to rebuild the cache index", e);
        }
    }

    private FileStream AcquireLock()
    {
        var path = Path.Combine(_root, ".lock");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    private static void WriteAtomically(string path, byte[] data)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temporary, data);
        File.Move(temporary, path, overwrite: true);
    }
}
