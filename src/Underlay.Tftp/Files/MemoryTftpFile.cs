namespace Underlay.Tftp.Files;

/// <summary>Rendered or cached content; a read is one memory copy into the packet buffer.</summary>
internal sealed class MemoryTftpFile(ReadOnlyMemory<byte> content) : TftpFile
{
    public override long? Length => content.Length;

    public override int Read(long offset, Span<byte> destination)
    {
        if (offset >= content.Length)
        {
            return 0;
        }

        var source = content.Span.Slice((int)offset, (int)Math.Min(destination.Length, content.Length - offset));
        source.CopyTo(destination);
        return source.Length;
    }
}
