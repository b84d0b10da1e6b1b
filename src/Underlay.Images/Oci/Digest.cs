using System.Security.Cryptography;

namespace Underlay.Images.Oci;

/// <summary>
/// Content digests as in image-spec descriptor.md ("algorithm:encoded"). Only sha256 and sha512 are
/// registered algorithms; we refuse anything else rather than trust unverifiable content.
/// </summary>
internal static class Digest
{
    public static string Sha256(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    public static bool IsValid(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var algorithm = digest[..colon];
        var hex = digest[(colon + 1)..];
        var expected = algorithm switch { "sha256" => 64, "sha512" => 128, _ => -1 };
        return expected == hex.Length && hex.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
    }

    public static void Validate(string digest)
    {
        if (!IsValid(digest))
        {
            throw new ImageBuildException($"unsupported or malformed digest '{digest}'");
        }
    }

    public static IncrementalHash CreateHash(string digest) =>
        digest.StartsWith("sha512:", StringComparison.Ordinal)
            ? IncrementalHash.CreateHash(HashAlgorithmName.SHA512)
            : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public static string Format(string digest, byte[] hash) =>
        digest[..digest.IndexOf(':', StringComparison.Ordinal)] + ":" + Convert.ToHexStringLower(hash);

    /// <summary>Relative path of a blob inside an OCI layout (image-layout.md: blobs/&lt;alg&gt;/&lt;encoded&gt;).</summary>
    public static string BlobPath(string digest)
    {
        Validate(digest);
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        return "blobs/" + digest[..colon] + "/" + digest[(colon + 1)..];
    }
}

/// <summary>
/// Wraps a blob stream, hashes every byte read, and checks the size and digest at the end of the stream:
/// a blob is only trusted once all of it has been read and matched (image-spec descriptor.md "Verification").
/// </summary>
internal sealed class VerifyingStream : Stream
{
    private readonly Stream _inner;
    private readonly string _expected;
    private readonly long _expectedSize;
    private readonly string _what;
    private readonly IncrementalHash _hash;
    private readonly byte[] _tail = new byte[8];
    private long _read;
    private bool _verified;

    public VerifyingStream(Stream inner, string expectedDigest, long expectedSize, string what)
    {
        _inner = inner;
        _expected = expectedDigest;
        _expectedSize = expectedSize;
        _what = what;
        _hash = Digest.CreateHash(expectedDigest);
    }

    public long BytesRead => _read;

    /// <summary>The last 8 bytes read (a gzip member's CRC32 and ISIZE trailer, RFC 1952 §2.3).</summary>
    public ReadOnlySpan<byte> Tail => _tail;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = _inner.Read(buffer);
        Account(buffer[..n], buffer.Length);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Account(buffer.Span[..n], buffer.Length);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Account(ReadOnlySpan<byte> data, int requested)
    {
        if (data.Length == 0)
        {
            // Only a read that asked for bytes and got none is the end of the stream.
            if (requested > 0)
            {
                Verify();
            }

            return;
        }

        _read += data.Length;
        if (_expectedSize >= 0 && _read > _expectedSize)
        {
            throw new ImageBuildException($"{_what}: blob {_expected} is larger than its descriptor's size {_expectedSize}");
        }

        _hash.AppendData(data);
        if (data.Length >= 8)
        {
            data[^8..].CopyTo(_tail);
        }
        else
        {
            _tail.AsSpan(data.Length).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(8 - data.Length));
        }
    }

    /// <summary>Reads any remaining bytes (decompressors may stop before the end) and checks the digest.</summary>
    public void Drain()
    {
        var buffer = new byte[81920];
        while (Read(buffer) > 0)
        {
        }

        Verify();
    }

    private void Verify()
    {
        if (_verified)
        {
            return;
        }

        _verified = true;
        if (_expectedSize >= 0 && _read != _expectedSize)
        {
            throw new ImageBuildException($"{_what}: blob {_expected} is truncated ({_read} of {_expectedSize} bytes)");
        }

        var actual = Digest.Format(_expected, _hash.GetHashAndReset());
        if (!string.Equals(actual, _expected, StringComparison.Ordinal))
        {
            throw new ImageBuildException($"{_what}: digest mismatch: expected {_expected}, got {actual}");
        }
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
            _inner.Dispose();
            _hash.Dispose();
        }

        base.Dispose(disposing);
    }
}
