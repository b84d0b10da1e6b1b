using System.Formats.Tar;
using System.IO.Compression;
using Underlay.Images.Oci;
using ZstdSharp;

namespace Underlay.Images.Layers;

/// <summary>Opens the raw (compressed) bytes of a blob; implemented by OCI layouts on disk or in a tar.</summary>
internal interface IBlobSource
{
    string Describe { get; }

    Stream OpenBlob(Descriptor descriptor);

    bool HasBlob(string digest);
}

internal enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>
/// One layer blob. The same blob may back layers of several images; it is read once per pass however many images
/// use it. Every read verifies the blob's size and digest (the second pass too: the source might change between).
/// </summary>
internal sealed class LayerBlob
{
    public LayerBlob(Descriptor descriptor, IBlobSource source, string description)
    {
        Descriptor = descriptor;
        Source = source;
        Description = description;
        Compression = descriptor.MediaType switch
        {
            MediaTypes.OciLayerGzip or MediaTypes.DockerLayerGzip or MediaTypes.OciLayerNonDistributableGzip or MediaTypes.DockerForeignLayerGzip => LayerCompression.Gzip,
            MediaTypes.OciLayerZstd => LayerCompression.Zstd,
            MediaTypes.OciLayer or MediaTypes.OciLayerNonDistributable => LayerCompression.None,
            _ => throw new ImageBuildException($"{description}: unsupported layer media type '{descriptor.MediaType}'"),
        };
    }

    public Descriptor Descriptor { get; }
    public IBlobSource Source { get; }
    public string Description { get; }
    public LayerCompression Compression { get; }
    public string Digest => Descriptor.Digest;

    /// <summary>Opens the uncompressed tar stream. Call <see cref="LayerReader.Complete"/> after the last entry.</summary>
    public LayerReader Open()
    {
        var raw = new VerifyingStream(Source.OpenBlob(Descriptor), Descriptor.Digest, Descriptor.Size, Description);
        Stream data = Compression switch
        {
            // GZipStream accepts a stream cut short without complaint, so the CRC32/ISIZE trailer is checked here.
            LayerCompression.Gzip => new CrcCountingStream(new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true)),
            LayerCompression.Zstd => new DecompressionStream(raw, leaveOpen: true),
            _ => raw,
        };
        return new LayerReader(this, raw, data);
    }
}

/// <summary>Reads one layer's tar entries and finally proves the whole blob was intact.</summary>
internal sealed class LayerReader : IDisposable
{
    private readonly VerifyingStream _raw;
    private readonly Stream _data;

    public LayerReader(LayerBlob blob, VerifyingStream raw, Stream data)
    {
        Blob = blob;
        _raw = raw;
        _data = data;
        Tar = new TarReader(data, leaveOpen: true);
    }

    public LayerBlob Blob { get; }
    public TarReader Tar { get; }
    public long CompressedBytesRead => _raw.BytesRead;

    public TarEntry? Next()
    {
        try
        {
            return Tar.GetNextEntry(copyData: false);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or IOException or ZstdException)
        {
            throw Corrupt(e);
        }
    }

    /// <summary>
    /// A layer that cannot be decoded is most often one whose bytes are not what its digest says: check that first
    /// so the message names the real cause.
    /// </summary>
    public ImageBuildException Corrupt(Exception e)
    {
        try
        {
            _raw.Drain();
        }
        catch (ImageBuildException digestError)
        {
            return digestError;
        }
        catch (IOException)
        {
        }

        return new ImageBuildException($"{Blob.Description}: corrupt or truncated layer: {e.Message}", e);
    }

    /// <summary>
    /// Reads to the end of the decompressed stream (so gzip checks its CRC trailer) and of the blob (so the digest
    /// is checked), failing on trailing garbage or truncation.
    /// </summary>
    public void Complete()
    {
        try
        {
            var buffer = new byte[65536];
            while (_data.Read(buffer) > 0)
            {
            }

            _raw.Drain();
            if (_data is CrcCountingStream crc)
            {
                // RFC 1952 §2.3: CRC32 then ISIZE (length mod 2^32), little endian. Layers are written as one gzip
                // member by every common tool; a stream with several members also ends up here and is refused.
                var tail = _raw.Tail;
                var expectedCrc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(tail);
                var expectedSize = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]);
                if (crc.Crc != expectedCrc || (uint)crc.Length != expectedSize)
                {
                    throw new ImageBuildException(
                        $"{Blob.Description}: gzip stream is truncated or corrupt (its CRC32/length trailer does not match the data; multi-member gzip is not supported)");
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException or ZstdException)
        {
            throw Corrupt(e);
        }
    }

    public void Dispose()
    {
        Tar.Dispose();
        _data.Dispose();
        _raw.Dispose();
    }
}

/// <summary>Counts and CRC32s the bytes read through it (to check a gzip trailer, RFC 1952).</summary>
internal sealed class CrcCountingStream(Stream inner) : Stream
{
    private readonly System.IO.Hashing.Crc32 _crc = new();

    public uint Crc => _crc.GetCurrentHashAsUInt32();
    public override long Length => _count;

    private long _count;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Position { get => _count; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        _crc.Append(buffer[..n]);
        _count += n;
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
