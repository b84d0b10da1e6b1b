using System.Text.Json;
using Underlay.Images.Layers;
using Underlay.Images.Oci;

namespace Underlay.Images.Sources;

/// <summary>An image ready to be read: its manifest, config and layer blobs (all verified on read).</summary>
internal sealed class ResolvedImage
{
    public required ImageReference Reference { get; init; }
    public required string ManifestDigest { get; init; }
    public required ImageManifest Manifest { get; init; }
    public required ImageConfigFile Config { get; init; }
    public required IReadOnlyList<LayerBlob> Layers { get; init; }
}

/// <summary>
/// Turns references into <see cref="ResolvedImage"/>s. Local layouts are read in place. Registry images come
/// from the cache when it has them (a tag recorded in the cache is not looked up again unless AlwaysPull), and
/// are otherwise pulled into it: only the selected platform's manifest, its config and its layers.
/// </summary>
internal sealed class ImageResolver : IDisposable
{
    private readonly ImageCache _cache;
    private readonly RegistryOptions _registryOptions;
    private readonly Platform _platform;
    private readonly bool _alwaysPull;
    private readonly IProgress<BuildProgress>? _progress;
    private readonly string _baseDirectory;
    private readonly Dictionary<string, OciLayout> _layouts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResolvedImage> _resolved = new(StringComparer.Ordinal);
    private RegistryClient? _client;

    public ImageResolver(ImageCache cache, RegistryOptions registryOptions, string platform, bool alwaysPull, IProgress<BuildProgress>? progress, string baseDirectory)
    {
        _cache = cache;
        _registryOptions = registryOptions;
        _platform = ParsePlatform(platform);
        _alwaysPull = alwaysPull;
        _progress = progress;
        _baseDirectory = baseDirectory;
    }

    public int ManifestRequests => _client?.ManifestRequests ?? 0;
    public int BlobRequests => _client?.BlobRequests ?? 0;
    public int BlobsPulled { get; private set; }
    public long BytesPulled { get; private set; }

    public static Platform ParsePlatform(string text)
    {
        var parts = text.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            throw new ImageBuildException($"invalid platform '{text}': expected os/arch[/variant], e.g. linux/amd64");
        }

        return new Platform { Os = parts[0], Architecture = parts[1], Variant = parts.Length == 3 ? parts[2] : null };
    }

    public async Task<ResolvedImage> ResolveAsync(string text, CancellationToken cancellationToken)
    {
        var reference = ImageReference.Parse(text, _baseDirectory);
        if (_resolved.TryGetValue(reference.Canonical, out var known))
        {
            return known;
        }

        _progress?.Report(new BuildProgress(BuildPhase.Resolve, reference.Canonical));
        var resolved = reference.Kind == ReferenceKind.Registry
            ? await ResolveRegistryAsync(reference, cancellationToken).ConfigureAwait(false)
            : ResolveLayout(reference);
        _resolved[reference.Canonical] = resolved;
        return resolved;
    }

    private ResolvedImage ResolveLayout(ImageReference reference)
    {
        if (!_layouts.TryGetValue(reference.LayoutPath, out var layout))
        {
            layout = OciLayout.Open(reference);
            _layouts[reference.LayoutPath] = layout;
        }

        var index = layout.ReadIndex();
        Descriptor descriptor;
        if (reference.LayoutRefName is { } refName)
        {
            descriptor = index.Manifests.LastOrDefault(d => d.Annotations?.GetValueOrDefault(OciLayout.RefNameAnnotation) == refName)
                ?? throw new ImageBuildException($"{reference}: {layout.Describe} has no image named '{refName}'");
        }
        else if (index.Manifests.Count == 1)
        {
            descriptor = index.Manifests[0];
        }
        else
        {
            var names = index.Manifests.Select(d => d.Annotations?.GetValueOrDefault(OciLayout.RefNameAnnotation) ?? d.Digest);
            throw new ImageBuildException($"{reference}: {layout.Describe} holds {index.Manifests.Count} images; name one of: {string.Join(", ", names)}");
        }

        var what = reference.Canonical;
        while (MediaTypes.IsIndex(descriptor.MediaType))
        {
            var nested = Parse(layout.ReadSmallBlob(descriptor, what), OciJsonContext.Default.ImageIndex, what);
            descriptor = SelectPlatform(nested, what);
        }

        return Load(reference, descriptor, layout, d => layout.ReadSmallBlob(d, what));
    }

    private async Task<ResolvedImage> ResolveRegistryAsync(ImageReference reference, CancellationToken cancellationToken)
    {
        var what = reference.Canonical;
        if (!_alwaysPull)
        {
            var cached = reference.Digest is { } digest && _cache.HasBlob(digest)
                ? new Descriptor { Digest = digest, MediaType = ProbeType(_cache.ReadBlob(new Descriptor { Digest = digest, Size = -1 }, what), what) , Size = -1 }
                : _cache.FindRef(reference.Canonical);
            if (cached is not null && TryFromCache(reference, cached) is { } fromCache)
            {
                return fromCache;
            }
        }

        _client ??= new RegistryClient(_registryOptions);
        var (body, mediaType, manifestDigest) = await _client.GetManifestAsync(reference, reference.Digest ?? reference.Tag!, cancellationToken).ConfigureAwait(false);
        mediaType = string.IsNullOrEmpty(mediaType) || mediaType == "application/json" ? ProbeType(body, what) : mediaType;
        _cache.StoreBlob(manifestDigest, body);
        var top = new Descriptor { MediaType = mediaType, Digest = manifestDigest, Size = body.Length };
        var descriptor = top;
        while (MediaTypes.IsIndex(descriptor.MediaType))
        {
            var index = Parse(body, OciJsonContext.Default.ImageIndex, what);
            descriptor = SelectPlatform(index, what);
            if (_cache.HasBlob(descriptor.Digest))
            {
                body = _cache.ReadBlob(descriptor, what);
            }
            else
            {
                (body, _, var digest) = await _client.GetManifestAsync(reference, descriptor.Digest, cancellationToken).ConfigureAwait(false);
                if (digest != descriptor.Digest)
                {
                    throw new ImageBuildException($"{what}: manifest digest mismatch: expected {descriptor.Digest}, got {digest}");
                }

                _cache.StoreBlob(digest, body);
            }
        }

        if (!MediaTypes.IsManifest(descriptor.MediaType))
        {
            throw new ImageBuildException($"{what}: unsupported manifest media type '{descriptor.MediaType}' (OCI and Docker v2 schema 2 are supported)");
        }

        var manifest = Parse(body, OciJsonContext.Default.ImageManifest, what);
        foreach (var blob in manifest.Layers.Prepend(manifest.Config))
        {
            Digest.Validate(blob.Digest);
            if (_cache.HasBlob(blob.Digest))
            {
                continue;
            }

            _progress?.Report(new BuildProgress(BuildPhase.Pull, $"{what}: {blob.Digest}", 0, blob.Size));
            await using var stream = await _client.OpenBlobAsync(reference, blob, cancellationToken).ConfigureAwait(false);
            await _cache.StoreBlobAsync(blob, stream, $"{what}: blob {blob.Digest}",
                n => _progress?.Report(new BuildProgress(BuildPhase.Pull, blob.Digest, n, blob.Size)), cancellationToken).ConfigureAwait(false);
            BlobsPulled++;
            BytesPulled += blob.Size;
        }

        _cache.AddRef(reference.Canonical, top);
        return Load(reference, descriptor, _cache, d => _cache.ReadBlob(d, what));
    }

    /// <summary>Everything the build needs already in the cache? Then no request is made at all.</summary>
    private ResolvedImage? TryFromCache(ImageReference reference, Descriptor top)
    {
        var what = reference.Canonical;
        var descriptor = top;
        if (!_cache.HasBlob(descriptor.Digest))
        {
            return null;
        }

        while (MediaTypes.IsIndex(descriptor.MediaType))
        {
            var index = Parse(_cache.ReadBlob(descriptor, what), OciJsonContext.Default.ImageIndex, what);
            descriptor = SelectPlatform(index, what);
            if (!_cache.HasBlob(descriptor.Digest))
            {
                return null;
            }
        }

        var manifest = Parse(_cache.ReadBlob(descriptor, what), OciJsonContext.Default.ImageManifest, what);
        if (!manifest.Layers.Prepend(manifest.Config).All(d => _cache.HasBlob(d.Digest)))
        {
            return null;
        }

        return Load(reference, descriptor, _cache, d => _cache.ReadBlob(d, what));
    }

    private ResolvedImage Load(ImageReference reference, Descriptor manifestDescriptor, IBlobSource source, Func<Descriptor, byte[]> read)
    {
        var what = reference.Canonical;
        if (!MediaTypes.IsManifest(manifestDescriptor.MediaType) && !string.IsNullOrEmpty(manifestDescriptor.MediaType))
        {
            throw new ImageBuildException($"{what}: unsupported manifest media type '{manifestDescriptor.MediaType}'");
        }

        var manifest = Parse(read(manifestDescriptor), OciJsonContext.Default.ImageManifest, what);
        if (manifest.SchemaVersion != 2)
        {
            throw new ImageBuildException($"{what}: manifest schema version {manifest.SchemaVersion} is not supported");
        }

        var config = Parse(read(manifest.Config), OciJsonContext.Default.ImageConfigFile, what);
        if (!string.IsNullOrEmpty(config.Architecture) && config.Architecture != _platform.Architecture)
        {
            throw new ImageBuildException($"{what}: image is for {config.Os}/{config.Architecture}, not {_platform}");
        }

        var layers = manifest.Layers.Select((d, i) =>
        {
            Digest.Validate(d.Digest);
            return new LayerBlob(d, source, $"image {what}, layer {i + 1} ({d.Digest})");
        }).ToList();
        return new ResolvedImage
        {
            Reference = reference,
            ManifestDigest = manifestDescriptor.Digest,
            Manifest = manifest,
            Config = config,
            Layers = layers,
        };
    }

    private Descriptor SelectPlatform(ImageIndex index, string what)
    {
        var match = index.Manifests.FirstOrDefault(d => d.Platform is { } p && p.Os == _platform.Os && p.Architecture == _platform.Architecture &&
                                                        (_platform.Variant is null || p.Variant == _platform.Variant))
            ?? (index.Manifests.Count == 1 && index.Manifests[0].Platform is null ? index.Manifests[0] : null);
        if (match is null)
        {
            var available = index.Manifests.Where(d => d.Platform is not null).Select(d => d.Platform!.ToString());
            throw new ImageBuildException($"{what}: no image for platform {_platform} (available: {string.Join(", ", available)})");
        }

        Digest.Validate(match.Digest);
        return match;
    }

    private static string ProbeType(byte[] body, string what)
    {
        var probe = Parse(body, OciJsonContext.Default.ManifestProbe, what);
        if (!string.IsNullOrEmpty(probe.MediaType))
        {
            return probe.MediaType;
        }

        return probe.Manifests is not null ? MediaTypes.OciIndex : probe.Config is not null ? MediaTypes.OciManifest
            : throw new ImageBuildException($"{what}: not a manifest or an index");
    }

    private static T Parse<T>(byte[] data, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string what)
    {
        try
        {
            return JsonSerializer.Deserialize(data, type) ?? throw new ImageBuildException($"{what}: empty JSON document");
        }
        catch (JsonException e)
        {
            throw new ImageBuildException($"{what}: invalid {typeof(T).Name} JSON: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        foreach (var layout in _layouts.Values)
        {
            layout.Dispose();
        }

        _client?.Dispose();
    }
}
