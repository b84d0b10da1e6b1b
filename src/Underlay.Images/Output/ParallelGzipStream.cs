using System.Buffers;
using System.IO.Compression;
using System.IO.Hashing;

namespace Underlay.Images.Output;

/// <summary>
/// A write-only gzip stream (RFC 1952) that deflates fixed-size chunks on several threads and joins them into one
/// member, as pigz does: every chunk but the last ends with a sync flush (an empty stored block, RFC 1951 §3.2.4),
/// so the raw deflate outputs concatenate into one valid stream. Chunk boundaries depend only on the input, so
/// the output is identical from run to run. The header has no name and a zero mtime; OS is Unix (3).
/// Each chunk starts without the previous chunk's window, which costs a little ratio (measured in bench/images).
/// </summary>
internal sealed class ParallelGzipStream : Stream
{
    private readonly Stream _output;
    private readonly CompressionLevel _level;
    private readonly int _chunkSize;
    private readonly int _maxInFlight;
    private readonly Queue<Task<(byte[] Buffer, int Length)>> _inFlight = new();
    private readonly Crc32 _crc = new();
    private byte[] _chunk;
    private int _chunkLength;
    private long _totalLength;
    private bool _finished;

    public ParallelGzipStream(Stream output, CompressionLevel level, int chunkSize = 1 << 20, int? threads = null)
    {
        _output = output;
        _level = level;
        _chunkSize = chunkSize;
        _maxInFlight = Math.Max(1, threads ?? Environment.ProcessorCount);
        _chunk = ArrayPool<byte>.Shared.Rent(chunkSize);
        // RFC 1952 §2.3: ID1 ID2 CM=8 FLG=0 MTIME=0 XFL OS=3
        byte xfl = level switch { CompressionLevel.Fastest => 4, CompressionLevel.SmallestSize => 2, _ => 0 };
        _output.Write([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _totalLength; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _crc.Append(buffer);
        _totalLength += buffer.Length;
        while (buffer.Length > 0)
        {
            var n = Math.Min(buffer.Length, _chunkSize - _chunkLength);
            buffer[..n].CopyTo(_chunk.AsSpan(_chunkLength));
            _chunkLength += n;
            buffer = buffer[n..];
            if (_chunkLength == _chunkSize)
            {
                Submit(final: false);
            }
        }
    }

    private void Submit(bool final)
    {
        var chunk = _chunk;
        var length = _chunkLength;
        var level = _level;
        _inFlight.Enqueue(Task.Run(() => Compress(chunk, length, level, final)));
        _chunk = ArrayPool<byte>.Shared.Rent(_chunkSize);
        _chunkLength = 0;
        while (_inFlight.Count > _maxInFlight)
        {
            WriteOldest();
        }
    }

    private static (byte[] Buffer, int Length) Compress(byte[] chunk, int length, CompressionLevel level, bool final)
    {
        try
        {
            using var compressed = new MemoryStream(length / 2 + 1024);
            var deflate = new DeflateStream(compressed, level, leaveOpen: true);
            deflate.Write(chunk, 0, length);
            if (final)
            {
                deflate.Dispose();
            }
            else
            {
                // Sync flush: all input so far is emitted and the stream ends on a byte boundary, not final.
                deflate.Flush();
                var flushed = compressed.Length;
                deflate.Dispose();
                compressed.SetLength(flushed);
            }

            var result = ArrayPool<byte>.Shared.Rent((int)compressed.Length);
            compressed.Position = 0;
            compressed.ReadExactly(result, 0, (int)compressed.Length);
            return (result, (int)compressed.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private void WriteOldest()
    {
        var (buffer, length) = _inFlight.Dequeue().GetAwaiter().GetResult();
        _output.Write(buffer, 0, length);
        ArrayPool<byte>.Shared.Return(buffer);
    }

    /// <summary>Compresses what is left, writes the CRC32/ISIZE trailer and flushes. Idempotent.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        Submit(final: true);
        while (_inFlight.Count > 0)
        {
            WriteOldest();
        }

        Span<byte> trailer = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], (uint)_totalLength);
        _output.Write(trailer);
        _output.Flush();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Finish();
        }

        base.Dispose(disposing);
    }
}
