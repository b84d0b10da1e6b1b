using System.Text;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;
using Underlay.Tftp.Transfers;

namespace Underlay.Tftp.Tests;

public sealed class PathNormalizationTests
{
    [Theory]
    [InlineData("pxelinux.0", "pxelinux.0")]
    [InlineData("/pxelinux.0", "pxelinux.0")]
    [InlineData("//boot///grub/./grub.cfg", "boot/grub/grub.cfg")]
    [InlineData("boot\\x86\\wdsnbp.com", "boot/x86/wdsnbp.com")]
    [InlineData("./a/b/", "a/b")]
    [InlineData("pxelinux.cfg/01-aa-bb-cc-dd-ee-ff", "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff")]
    [InlineData("dots..in..name", "dots..in..name")]
    [InlineData("...", "...")]
    public void Names_are_made_relative_to_the_root(string requested, string expected)
    {
        Assert.True(TftpPath.TryNormalize(requested, out var normalized, out _));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("\\\\")]
    [InlineData("./.")]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("a/../b")]
    [InlineData("a\\..\\..\\b")]
    [InlineData("/..")]
    [InlineData("a\0b")]
    public void Escapes_and_empty_names_are_refused(string requested)
    {
        Assert.False(TftpPath.TryNormalize(requested, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}

public sealed class WireFormatTests
{
    [Theory]
    [InlineData(5, 4, 8, 5)]            // inside the window
    [InlineData(4, 4, 8, 4)]            // the block before the window (duplicate)
    [InlineData(8, 4, 8, 8)]            // the window's last block
    [InlineData(9, 4, 8, -1)]           // not sent yet
    [InlineData(3, 4, 8, -1)]           // older than the window
    [InlineData(0, 65530, 65540, 65536)] // after the wrap: wire 0 is block 65536
    [InlineData(65535, 65530, 65540, 65535)]
    [InlineData(3, 65530, 65540, 65539)]
    [InlineData(0, 131071, 131072, 131072)]
    public void Ack_numbers_map_onto_the_window_across_the_wrap(int wire, long before, long end, long expected)
    {
        Assert.Equal(expected, TftpTransfer.MapAcknowledgment((ushort)wire, before, end));
    }

    [Theory]
    [InlineData("0", true, 0L)]
    [InlineData("00512", true, 512L)]
    [InlineData("99999999999999999999999999", true, long.MaxValue)]
    [InlineData("", false, 0L)]
    [InlineData("+5", false, 0L)]
    [InlineData(" 5", false, 0L)]
    [InlineData("5x", false, 0L)]
    public void Option_values_are_plain_decimal_numbers(string text, bool valid, long value)
    {
        Assert.Equal(valid, TftpNegotiation.TryParseDecimal(text, out var parsed));
        Assert.Equal(value, parsed);
    }

    [Fact]
    public void Error_messages_are_truncated_to_fit_one_packet()
    {
        var buffer = new byte[TftpPacket.MaxErrorPacketSize];
        var length = TftpPacket.WriteError(buffer, TftpErrorCode.NotDefined, new string('x', 2000));

        Assert.Equal(TftpPacket.MaxErrorPacketSize, length);
        Assert.Equal(0, buffer[length - 1]);
    }
}

public sealed class NetasciiTests
{
    private static byte[] ReadAll(TftpFile file, int blockSize)
    {
        var output = new MemoryStream();
        var block = new byte[blockSize];
        long offset = 0;
        while (true)
        {
            var read = file.Read(offset, block);
            output.Write(block, 0, read);
            offset += read;
            if (read < blockSize)
            {
                return output.ToArray();
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(512)]
    public void Lf_becomes_cr_lf_and_a_bare_cr_becomes_cr_nul_across_block_boundaries(int blockSize)
    {
        // "1234567\n" puts the CR of the converted newline at the end of an 8-byte block and its LF in the next.
        var source = "1234567\nab\rc\r\n\n"u8.ToArray();
        using var file = new NetasciiTftpFile(TftpFile.FromMemory(source));

        var converted = ReadAll(file, blockSize);

        Assert.Equal("1234567\r\nab\r\0c\r\0\r\n\r\n"u8.ToArray(), converted);
        Assert.Null(file.Length);
        Assert.False(file.SupportsRandomAccess);
    }

    [Fact]
    public void Large_text_converts_the_same_whatever_the_source_chunking()
    {
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 3000).Select(i => $"line {i}\n")));
        using var file = new NetasciiTftpFile(TftpFile.FromStream(new MemoryStream(text)));

        var converted = ReadAll(file, 512);

        Assert.Equal(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(text).Replace("\n", "\r\n")), converted);
    }
}
