using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;

namespace Underlay.Dhcp.Protocol;

/// <summary>
/// The text form of option values, as DRP's subnets and reservations write them and as option templates see the
/// request: addresses in dotted quads (comma-separated lists), integers in decimal, strings as is, message types
/// as <c>dis/ofr/req/...</c>, anything else as comma-separated decimal octets (or <c>string:text</c>).
/// Used when subnets are compiled and templates render, never per packet for constant options.
/// </summary>
internal static class OptionValues
{
    private enum Kind
    {
        Bytes,
        MessageType,
        Address,
        AddressList,
        Text,
        UInt32,
        UInt16,
        UInt8,
    }

    private static readonly string[] MessageTypeNames = ["", "dis", "ofr", "req", "dec", "ack", "nak", "rel", "inf"];

    private static Kind KindOf(byte code) => code switch
    {
        53 => Kind.MessageType,
        1 or 16 or 28 or 32 or 50 or 54 => Kind.Address,
        3 or 4 or 5 or 6 or 7 or 8 or 9 or 10 or 11 or 21 or 33 or 41 or 42 or 44 or 45 or 48 or 49 or 65 or 68 or 69 or 70
            or 71 or 72 or 73 or 74 or 75 or 76 => Kind.AddressList,
        12 or 14 or 15 or 17 or 18 or 40 or 47 or 56 or 60 or 64 or 66 or 67 or 77 or 100 or 101 => Kind.Text,
        2 or 24 or 35 or 38 or 51 or 58 or 59 => Kind.UInt32,
        13 or 22 or 26 or 57 or 93 => Kind.UInt16,
        19 or 20 or 23 or 27 or 29 or 30 or 31 or 34 or 36 or 37 or 39 or 46 or 52 => Kind.UInt8,
        _ => Kind.Bytes,
    };

    /// <summary>Converts the text form of option <paramref name="code"/> to its wire value; null when the text does not fit the type.</summary>
    public static byte[]? ToBytes(byte code, string text)
    {
        try
        {
            switch (KindOf(code))
            {
                case Kind.MessageType:
                    var index = Array.IndexOf(MessageTypeNames, text);
                    return index > 0 ? [(byte)index] : null;
                case Kind.Address:
                    return ParseAddress(text.Trim()) is { } single ? single : null;
                case Kind.AddressList:
                    var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                    var list = new byte[parts.Length * 4];
                    for (var i = 0; i < parts.Length; i++)
                    {
                        if (ParseAddress(parts[i]) is not { } address)
                        {
                            return null;
                        }

                        address.CopyTo(list, i * 4);
                    }

                    return list.Length > 0 ? list : null;
                case Kind.Text:
                    return Encoding.UTF8.GetBytes(text);
                case Kind.UInt32:
                    var u32 = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(u32, unchecked((uint)long.Parse(text.Trim(), CultureInfo.InvariantCulture)));
                    return u32;
                case Kind.UInt16:
                    var u16 = new byte[2];
                    BinaryPrimitives.WriteUInt16BigEndian(u16, ushort.Parse(text.Trim(), CultureInfo.InvariantCulture));
                    return u16;
                case Kind.UInt8:
                    return [byte.Parse(text.Trim(), CultureInfo.InvariantCulture)];
                default:
                    if (text.StartsWith("string:", StringComparison.Ordinal))
                    {
                        return Encoding.UTF8.GetBytes(text["string:".Length..]);
                    }

                    if (text.Length == 0)
                    {
                        return [];
                    }

                    var octets = text.Split(',', StringSplitOptions.TrimEntries);
                    var bytes = new byte[octets.Length];
                    for (var i = 0; i < octets.Length; i++)
                    {
                        bytes[i] = byte.Parse(octets[i], CultureInfo.InvariantCulture);
                    }

                    return bytes;
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>The text form of a received value (what option templates see as <c>index . CODE</c>).</summary>
    public static string ToText(byte code, ReadOnlySpan<byte> value)
    {
        switch (KindOf(code))
        {
            case Kind.MessageType when value.Length == 1:
                return value[0] < MessageTypeNames.Length ? MessageTypeNames[value[0]] : "unk";
            case Kind.Address when value.Length == 4:
                return FormatAddress(BinaryPrimitives.ReadUInt32BigEndian(value));
            case Kind.AddressList when value.Length % 4 == 0 && value.Length > 0:
                var builder = new StringBuilder();
                for (var i = 0; i < value.Length; i += 4)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    builder.Append(FormatAddress(BinaryPrimitives.ReadUInt32BigEndian(value[i..])));
                }

                return builder.ToString();
            case Kind.Text:
                return Encoding.UTF8.GetString(value.TrimEnd((byte)0));
            case Kind.UInt32 when value.Length == 4:
                return BinaryPrimitives.ReadUInt32BigEndian(value).ToString(CultureInfo.InvariantCulture);
            case Kind.UInt16 when value.Length >= 2:
                return BinaryPrimitives.ReadUInt16BigEndian(value).ToString(CultureInfo.InvariantCulture);
            case Kind.UInt8 when value.Length == 1:
                return value[0].ToString(CultureInfo.InvariantCulture);
            default:
                var octets = new StringBuilder(value.Length * 4);
                for (var i = 0; i < value.Length; i++)
                {
                    if (i > 0)
                    {
                        octets.Append(',');
                    }

                    octets.Append(value[i].ToString(CultureInfo.InvariantCulture));
                }

                return octets.ToString();
        }
    }

    public static string FormatAddress(uint address) =>
        string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 0xff}.{(address >> 8) & 0xff}.{address & 0xff}");

    public static bool TryParseAddress(string text, out uint address)
    {
        if (ParseAddress(text) is { } bytes)
        {
            address = BinaryPrimitives.ReadUInt32BigEndian(bytes);
            return true;
        }

        address = 0;
        return false;
    }

    public static IPAddress ToIPAddress(uint address) => new(BinaryPrimitives.ReverseEndianness(address));

    public static uint FromIPAddress(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        return address.TryWriteBytes(bytes, out var written) && written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : 0;
    }

    /// <summary>Formats a MAC held in the low 48 bits as DRP's lowercase colon form.</summary>
    public static string FormatMac(ulong mac) => string.Create(17, mac, static (span, value) =>
    {
        const string hex = "0123456789abcdef";
        for (var i = 0; i < 6; i++)
        {
            var octet = (byte)(value >> (8 * (5 - i)));
            span[i * 3] = hex[octet >> 4];
            span[(i * 3) + 1] = hex[octet & 0xf];
            if (i < 5)
            {
                span[(i * 3) + 2] = ':';
            }
        }
    });

    public static bool TryParseMac(string text, out ulong mac)
    {
        mac = 0;
        if (!Underlay.Core.Validation.Names.TryNormalizeMac(text, out var normalized))
        {
            return false;
        }

        for (var i = 0; i < 6; i++)
        {
            mac = (mac << 8) | byte.Parse(normalized.AsSpan(i * 3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        return true;
    }

    private static byte[]? ParseAddress(string text)
    {
        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork ||
            text.Count(c => c == '.') != 3)
        {
            return null;
        }

        return address.GetAddressBytes();
    }
}
