using System.Formats.Tar;
using System.Text.Json;
using Underlay.Images.Layers;
using Underlay.Images.Oci;

namespace Underlay.Images.Sources;

/// <summary>
/// An OCI image layout (image-spec image-layout.md): <c>oci-layout</c>, <c>index.json</c> and
/// <c>blobs/&lt;alg&gt;/&lt;encoded&gt;</c>, either a directory or a tar of one. Blobs are read in place.
/// </summary>
internal abstract class OciLayout : IBlobSource, IDisposable
{
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    public abstract string Describe { get; }

    public abstract Stream OpenBlob(Descriptor descriptor);

    public abstract bool HasBlob(string digest);

    public abstract ImageIndex ReadIndex();

    public static OciLayout Open(ImageReference reference) => reference.Kind switch
    {
        ReferenceKind.OciDirectory => new DirectoryLayout(reference.LayoutPath),
        ReferenceKind.OciArchive => new ArchiveLayout(reference.LayoutPath),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Reads a small blob (manifest, index, config) fully and verifies it.</summary>
    public byte[] ReadSmallBlob(Descriptor descriptor, string what)
    {
        const long Limit = 16 * 1024 * 1024;
        if (descriptor.Size > Limit)
        {
            throw new ImageBuildException($"{what}: {descriptor.Digest} is {descriptor.Size} bytes, too large for a manifest or config");
        }

        using var stream = new VerifyingStream(OpenBlob(descriptor), descriptor.Digest, descriptor.Size, what);
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        stream.Drain();
        return buffer.ToArray();
    }

    protected static ImageIndex ParseIndex(Stream stream, string where)
    {
        try
        {
            return JsonSerializer.Deserialize(stream, OciJsonContext.Default.ImageIndex)
                ?? throw new ImageBuildException($"{where}: index.json is empty");
        }
        catch (JsonException e)
        {
            throw new ImageBuildException($"{where}: index.json is not valid: {e.Message}", e);
        }
    }

    public virtual void Dispose()
    {
        GC.SuppressFinalize(this);
    }
}

internal sealed class DirectoryLayout : OciLayout
{
    private readonly string _root;

    public DirectoryLayout(string root)
    {
        _root = root;
        if (!File.Exists(Path.Combine(root, "oci-layout")) || !File.Exists(Path.Combine(root, "index.json")))
        {
            throw new ImageBuildException($"{root} is not an OCI image layout (no oci-layout or index.json)");
        }
    }

    public override string Describe => "OCI layout " + _root;

    public override Stream OpenBlob(Descriptor descriptor)
    {
        var path = Path.Combine(_root, Digest.BlobPath(descriptor.Digest));
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (FileNotFoundException e)
        {
            throw new ImageBuildException($"{Describe}: blob {descriptor.Digest} is missing", e);
        }
    }

    public override bool HasBlob(string digest) => File.Exists(Path.Combine(_root, Digest.BlobPath(digest)));

    public override ImageIndex ReadIndex()
    {
        using var stream = File.OpenRead(Path.Combine(_root, "index.json"));
        return ParseIndex(stream, Describe);
    }
}

/// <summary>A layout packed in an uncompressed tar: blobs are found by their offset, nothing is extracted.</summary>
internal sealed class ArchiveLayout : OciLayout
{
    private readonly string _path;
    private readonly Dictionary<string, (long Offset, long Length)> _entries = new(StringComparer.Ordinal);

    public ArchiveLayout(string path)
    {
        _path = path;
        try
        {
            using var file = File.OpenRead(path);
            using var reader = new TarReader(file);
            while (reader.GetNextEntry(copyData: false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                {
                    var name = entry.Name.TrimStart('.', '/');
                    while (name.StartsWith("./", StringComparison.Ordinal))
                    {
                        name = name[2..];
                    }

                    _entries[name] = (entry.DataOffset, entry.Length);
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new ImageBuildException($"{path} is not a readable OCI layout archive: {e.Message}", e);
        }
        catch (FileNotFoundException e)
        {
            throw new ImageBuildException($"{path} does not exist", e);
        }

        if (!_entries.ContainsKey("oci-layout") || !_entries.ContainsKey("index.json"))
        {
            throw new ImageBuildException($"{path} is not an OCI image layout archive (no oci-layout or index.json)");
        }
    }

    public override string Describe => "OCI archive " + _path;

    public override Stream OpenBlob(Descriptor descriptor) => OpenEntry(Digest.BlobPath(descriptor.Digest));

    public override bool HasBlob(string digest) => _entries.ContainsKey(Digest.BlobPath(digest));

    public override ImageIndex ReadIndex()
    {
        using var stream = OpenEntry("index.json");
        return ParseIndex(stream, Describe);
    }

    private SliceStream OpenEntry(string name)
    {
        if (!_entries.TryGetValue(name, out var location))
        {
            throw new ImageBuildException($"{Describe}: {name} is missing");
        }

        var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        file.Position = location.Offset;
        return new SliceStream(file, location.Length);
    }
}

/// <summary>A read-only window of a longer stream.</summary>
internal sealed class SliceStream(Stream inner, long length) : Stream
{
    private readonly long _length = length;
    private long _remaining = length;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0)
        {
            return 0;
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
