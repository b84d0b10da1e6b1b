using System.Text;
using Underlay.Dhcp.Protocol;
using Underlay.Dhcp.Tests.Support;

namespace Underlay.Dhcp.Tests;

public sealed class CodecTests
{
    private const ulong Mac = 0x5254be1e0000;

    [Fact]
    public void A_discover_parses_header_fields_and_every_option_in_order()
    {
        var packet = PacketBuilder.Discover(Mac).Pxe(7).RequestList(1, 3, 67).With(250, 1, 2, 3);
        packet.Xid = 0xed2b0d78;
        packet.Flags = 0x8000;
        var message = new DhcpMessage();

        Assert.Equal(ParseStatus.Ok, message.Parse(packet.Build()));
        Assert.Equal(DhcpMessageType.Discover, message.MessageType);
        Assert.Equal(0xed2b0d78u, message.Xid);
        Assert.True(message.Broadcast);
        Assert.Equal(Mac, message.Mac);
        Assert.Equal(7, message.ClientArchitecture);
        Assert.Equal([53, 60, 93, 55, 250], message.OptionCodes.ToArray());
        Assert.Equal([1, 2, 3], message.Option(250).ToArray());
        Assert.StartsWith("PXEClient", Encoding.ASCII.GetString(message.Option(60)), StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_option_codes_concatenate_as_long_options()
    {
        // RFC 3396 §5: instances of one code join in order of appearance.
        var packet = PacketBuilder.Discover(Mac).With(43, 1, 2).With(12, (byte)'h').With(43, 3, 4, 5);
        var message = new DhcpMessage();

        Assert.Equal(ParseStatus.Ok, message.Parse(packet.Build()));
        Assert.Equal([1, 2, 3, 4, 5], message.Option(43).ToArray());
        Assert.Equal("h"u8.ToArray(), message.Option(12).ToArray());
    }

    [Fact]
    public void Option_overload_reads_file_then_sname_as_options()
    {
        // RFC 2131 §4.1: options field, then 'file' (overload 1 or 3), then 'sname' (2 or 3); a value continues across them.
        var packet = PacketBuilder.Discover(Mac).With(52, 3).With(77, (byte)'i');
        packet.File = [77, 2, (byte)'P', (byte)'X', 12, 3, (byte)'a', (byte)'b', (byte)'c', 255];
        packet.SName = [77, 1, (byte)'E', 66, 2, (byte)'s', (byte)'n', 255];
        var message = new DhcpMessage();

        Assert.Equal(ParseStatus.Ok, message.Parse(packet.Build()));
        Assert.Equal("iPXE", Encoding.ASCII.GetString(message.Option(77)));
        Assert.Equal("abc", Encoding.ASCII.GetString(message.Option(12)));
        Assert.Equal("sn", Encoding.ASCII.GetString(message.Option(66)));
    }

    [Fact]
    public void Without_overload_file_and_sname_are_not_read_as_options()
    {
        var packet = PacketBuilder.Discover(Mac);
        packet.File = Encoding.ASCII.GetBytes("pxelinux.0");
        var message = new DhcpMessage();

        Assert.Equal(ParseStatus.Ok, message.Parse(packet.Build()));
        Assert.False(message.HasOption((byte)'p'));
    }

    [Fact]
    public void Option_52_inside_an_overloaded_field_cannot_loop()
    {
        var packet = PacketBuilder.Discover(Mac).With(52, 1);
        packet.File = [52, 1, 3, 52, 1, 2, 12, 1, (byte)'x', 255];
        var message = new DhcpMessage();

        Assert.Equal(ParseStatus.Ok, message.Parse(packet.Build()));
        Assert.Equal([1], message.Option(52).ToArray());
        Assert.Equal("x", Encoding.ASCII.GetString(message.Option(12)));
    }

    [Theory]
    [InlineData(100, ParseStatus.TooShort)]
    [InlineData(239, ParseStatus.TooShort)]
    public void Short_datagrams_are_rejected(int length, ParseStatus expected)
    {
        var bytes = PacketBuilder.Discover(Mac).Build().AsSpan(0, length).ToArray();
        Assert.Equal(expected, new DhcpMessage().Parse(bytes));
    }

    [Fact]
    public void Bad_cookie_bad_op_bad_hlen_and_missing_type_are_rejected()
    {
        var message = new DhcpMessage();
        Assert.Equal(ParseStatus.BadCookie, message.Parse(new PacketBuilder(1, Mac) { Cookie = 0x63825364 }.Build()));
        Assert.Equal(ParseStatus.NotBootRequest, message.Parse(new PacketBuilder(1, Mac) { Op = 2 }.Build()));
        Assert.Equal(ParseStatus.BadHardwareLength, message.Parse(new PacketBuilder(1, Mac) { HLen = 17 }.Build()));
        Assert.Equal(ParseStatus.NoMessageType, message.Parse(new PacketBuilder(0, Mac).Build()));
        Assert.Equal(ParseStatus.BadMessageType, message.Parse(new PacketBuilder(9, Mac).Build()));
    }

    [Fact]
    public void An_option_running_past_the_end_is_rejected()
    {
        var bytes = PacketBuilder.Discover(Mac).Build();
        var truncated = bytes.AsSpan(0, 244).ToArray();
        truncated[243] = 12; // code 12 with no length octet
        Assert.Equal(ParseStatus.TruncatedOption, new DhcpMessage().Parse(truncated));

        var badLength = bytes.AsSpan(0, 246).ToArray();
        badLength[243] = 12;
        badLength[244] = 200; // claims 200 octets, 1 left
        Assert.Equal(ParseStatus.TruncatedOption, new DhcpMessage().Parse(badLength));
    }

    [Fact]
    public void A_failed_parse_leaves_no_options_behind()
    {
        var message = new DhcpMessage();
        Assert.Equal(ParseStatus.Ok, message.Parse(PacketBuilder.Discover(Mac).With(12, (byte)'a').Build()));
        Assert.Equal(ParseStatus.NoMessageType, message.Parse(new PacketBuilder(0, Mac).With(12, (byte)'b').Build()));
        Assert.False(message.HasOption(12));
        Assert.Equal(ParseStatus.Ok, message.Parse(PacketBuilder.Discover(Mac).Build()));
        Assert.False(message.HasOption(12));
        Assert.Equal([53], message.OptionCodes.ToArray());
    }

    [Fact]
    public void The_writer_splits_values_longer_than_255_octets()
    {
        var buffer = new byte[1500];
        var request = PacketBuilder.Discover(Mac).Build();
        var writer = new DhcpWriter(buffer, 1500);
        writer.WriteHeader(request, 0, PacketBuilder.Address("10.0.0.5"), PacketBuilder.Address("10.0.0.1"), broadcast: true);
        var value = Enumerable.Range(0, 600).Select(i => (byte)i).ToArray();
        Assert.True(writer.WriteOption(53, 1));
        Assert.True(writer.WriteOption(43, value));
        var length = writer.Finish();

        var reply = new Reply(buffer.AsSpan(0, length).ToArray(), 0, 0);
        Assert.Equal(2, reply.Op);
        Assert.Equal(0x8000, reply.Flags);
        Assert.Equal("10.0.0.5", reply.YiAddr);
        Assert.Equal([255, 255, 90], reply.Options.Where(o => o.Code == 43).Select(o => o.Value.Length).ToArray());

        // Reading it back (as a request) joins the pieces again.
        buffer[0] = 1;
        var message = new DhcpMessage();
        Assert.Equal(ParseStatus.Ok, message.Parse(buffer.AsSpan(0, length)));
        Assert.Equal(value, message.Option(43).ToArray());
    }

    [Fact]
    public void The_writer_drops_options_that_do_not_fit_and_pads_to_300_octets()
    {
        var buffer = new byte[1500];
        var writer = new DhcpWriter(buffer, 300);
        writer.WriteHeader(PacketBuilder.Discover(Mac).Build(), 0, 0, 0, broadcast: false);
        Assert.True(writer.WriteOption(53, 2));
        Assert.False(writer.WriteOption(43, new byte[100]));
        var length = writer.Finish();
        Assert.Equal(300, length);
        Assert.Equal(1, writer.Dropped);
    }

    [Theory]
    [InlineData(1, "255.255.255.0", new byte[] { 255, 255, 255, 0 })]
    [InlineData(3, "10.0.0.1,10.0.0.2", new byte[] { 10, 0, 0, 1, 10, 0, 0, 2 })]
    [InlineData(51, "3600", new byte[] { 0, 0, 14, 16 })]
    [InlineData(93, "7", new byte[] { 0, 7 })]
    [InlineData(19, "1", new byte[] { 1 })]
    [InlineData(67, "ipxe.efi", new byte[] { 105, 112, 120, 101, 46, 101, 102, 105 })]
    [InlineData(53, "ack", new byte[] { 5 })]
    [InlineData(43, "6,1,8,255", new byte[] { 6, 1, 8, 255 })]
    [InlineData(200, "string:ab", new byte[] { 97, 98 })]
    public void Option_text_converts_both_ways_like_drp(byte code, string text, byte[] bytes)
    {
        Assert.Equal(bytes, OptionValues.ToBytes(code, text));
        if (!text.StartsWith("string:", StringComparison.Ordinal))
        {
            Assert.Equal(text, OptionValues.ToText(code, bytes));
        }
    }

    [Fact]
    public void Option_text_that_does_not_fit_the_type_is_refused()
    {
        Assert.Null(OptionValues.ToBytes(1, "not-an-address"));
        Assert.Null(OptionValues.ToBytes(51, "soon"));
        Assert.Null(OptionValues.ToBytes(93, "70000"));
        Assert.Null(OptionValues.ToBytes(43, "1,2,300"));
    }

    [Fact]
    public void Relay_agent_sub_options_are_read_safely()
    {
        byte[] option82 = [1, 3, (byte)'a', (byte)'b', (byte)'c', 5, 4, 10, 1, 2, 0, 11, 4, 10, 9, 9, 9];
        Assert.Equal(PacketBuilder.Address("10.1.2.0"), RelayAgentInformation.ReadAddress(option82, 5));
        Assert.Equal(PacketBuilder.Address("10.9.9.9"), RelayAgentInformation.ReadAddress(option82, 11));
        Assert.Equal(0u, RelayAgentInformation.ReadAddress([5, 9, 1], 5));
        Assert.Equal(0u, RelayAgentInformation.ReadAddress([5, 3, 1, 2, 3], 5));
    }

    [Fact]
    public void Macs_format_in_drp_form()
    {
        Assert.Equal("52:54:be:1e:00:00", OptionValues.FormatMac(Mac));
        Assert.True(OptionValues.TryParseMac("52-54-BE-1E-00-00", out var parsed));
        Assert.Equal(Mac, parsed);
    }
}
