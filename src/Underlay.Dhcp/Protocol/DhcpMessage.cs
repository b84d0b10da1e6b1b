using System.Buffers.Binary;

namespace Underlay.Dhcp.Protocol;

/// <summary>Why a received datagram was not accepted as a DHCP request.</summary>
public enum ParseStatus : byte
{
    Ok = 0,
    TooShort,
    NotBootRequest,
    BadHardwareLength,
    BadCookie,
    TruncatedOption,
    TooManyOptions,
    NoMessageType,
    BadMessageType,
    TooLarge,
}

/// <summary>
/// One parsed DHCPv4 message. An instance is reused for every packet a worker receives: parsing copies the
/// option values into the instance's own buffer (so the receive buffer can be reused at once) and allocates
/// nothing. Every option is kept, unknown ones included, in the order of first appearance.
/// <para>
/// RFC 3396 (long options): several instances of one option code are concatenated, in the order the regions
/// are read: the options field, then 'file', then 'sname' when option 52 overloads them (RFC 2131 §4.1).
/// Option 52 is honoured only in the options field, so the overload regions cannot loop.
/// </para>
/// </summary>
internal sealed class DhcpMessage
{
    /// <summary>Larger than any Ethernet frame (jumbo frames included); bigger datagrams are dropped.</summary>
    public const int MaxPacketLength = 16384;

    /// <summary>A fragment needs at least two octets, so a full packet holds fewer than this many.</summary>
    private const int MaxFragments = MaxPacketLength / 2;

    private readonly byte[] _header = new byte[BootpLayout.Options];
    private readonly byte[] _values = new byte[MaxPacketLength];
    private readonly int[] _start = new int[256];
    private readonly int[] _length = new int[256];
    private readonly byte[] _order = new byte[256];
    private readonly int[] _fragmentOffset = new int[MaxFragments];
    private readonly int[] _fragmentLength = new int[MaxFragments];
    private readonly byte[] _fragmentCode = new byte[MaxFragments];
    private int _orderCount;
    private int _fragmentCount;

    public DhcpMessage()
    {
        Array.Fill(_length, -1);
    }

    public int Length { get; private set; }

    public DhcpMessageType MessageType { get; private set; }

    public byte HType => _header[BootpLayout.HType];

    public byte HLen => _header[BootpLayout.HLen];

    public byte Hops => _header[BootpLayout.Hops];

    public uint Xid => BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(BootpLayout.Xid));

    public ushort Secs => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(BootpLayout.Secs));

    public ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(BootpLayout.Flags));

    public bool Broadcast => (Flags & BootpLayout.BroadcastFlag) != 0;

    public uint CiAddr => BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(BootpLayout.CiAddr));

    public uint YiAddr => BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(BootpLayout.YiAddr));

    public uint SiAddr => BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(BootpLayout.SiAddr));

    public uint GiAddr => BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(BootpLayout.GiAddr));

    /// <summary>The 16-octet client hardware address field as sent.</summary>
    public ReadOnlySpan<byte> ChAddrField => _header.AsSpan(BootpLayout.ChAddr, BootpLayout.ChAddrLength);

    /// <summary>The Ethernet MAC (first six octets of chaddr) in the low 48 bits; the server's client identity (DRP strategy MAC).</summary>
    public ulong Mac { get; private set; }

    /// <summary>The raw fixed header (236 octets plus the cookie), for building replies.</summary>
    public ReadOnlySpan<byte> Header => _header;

    /// <summary>Option codes present, in the order they first appeared.</summary>
    public ReadOnlySpan<byte> OptionCodes => _order.AsSpan(0, _orderCount);

    public bool HasOption(byte code) => _length[code] >= 0;

    public bool TryGetOption(byte code, out ReadOnlySpan<byte> value)
    {
        var length = _length[code];
        if (length < 0)
        {
            value = default;
            return false;
        }

        value = _values.AsSpan(_start[code], length);
        return true;
    }

    /// <summary>The option's value, or an empty span when it is absent.</summary>
    public ReadOnlySpan<byte> Option(byte code) => _length[code] < 0 ? default : _values.AsSpan(_start[code], _length[code]);

    /// <summary>Option 50, the address the client asks for; 0 when absent or malformed.</summary>
    public uint RequestedAddress => ReadAddressOption(OptionCode.RequestedAddress);

    /// <summary>Option 54, the server the client selected; 0 when absent.</summary>
    public uint ServerIdentifier => ReadAddressOption(OptionCode.ServerIdentifier);

    /// <summary>Option 93 (RFC 4578 §2.1): the first architecture type listed, or -1 when absent.</summary>
    public int ClientArchitecture
    {
        get
        {
            var value = Option(OptionCode.ClientArchitecture);
            return value.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(value) : -1;
        }
    }

    /// <summary>Option 57, bounded to what the server can build; the RFC 2131 default when absent or too small.</summary>
    public int MaxReplySize
    {
        get
        {
            var value = Option(OptionCode.MaxMessageSize);
            var size = value.Length == 2 ? BinaryPrimitives.ReadUInt16BigEndian(value) - 28 : BootpLayout.DefaultMaxMessageSize;
            return Math.Clamp(size, BootpLayout.DefaultMaxMessageSize, 1472);
        }
    }

    /// <summary>Parses <paramref name="packet"/>; on failure the message is left empty and must not be used.</summary>
    public ParseStatus Parse(ReadOnlySpan<byte> packet)
    {
        Reset();
        if (packet.Length < BootpLayout.Options)
        {
            return ParseStatus.TooShort;
        }

        if (packet.Length > MaxPacketLength)
        {
            return ParseStatus.TooLarge;
        }

        if (packet[BootpLayout.Op] != BootpLayout.BootRequest)
        {
            return ParseStatus.NotBootRequest;
        }

        if (packet[BootpLayout.HLen] > BootpLayout.ChAddrLength)
        {
            return ParseStatus.BadHardwareLength;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(packet[BootpLayout.Cookie..]) != BootpLayout.MagicCookie)
        {
            return ParseStatus.BadCookie;
        }

        packet[..BootpLayout.Options].CopyTo(_header);
        Length = packet.Length;

        // RFC 2131 §4.1: options field first; option 52 then says whether 'file' and/or 'sname' carry more.
        var status = CollectFragments(packet, BootpLayout.Options, packet.Length, allowOverload: true, out var overload);
        if (status != ParseStatus.Ok)
        {
            return Fail(status);
        }

        if ((overload & 1) != 0)
        {
            status = CollectFragments(packet, BootpLayout.File, BootpLayout.File + BootpLayout.FileLength, allowOverload: false, out _);
            if (status != ParseStatus.Ok)
            {
                return Fail(status);
            }
        }

        if ((overload & 2) != 0)
        {
            status = CollectFragments(packet, BootpLayout.SName, BootpLayout.SName + BootpLayout.SNameLength, allowOverload: false, out _);
            if (status != ParseStatus.Ok)
            {
                return Fail(status);
            }
        }

        Assemble(packet);

        var type = Option(OptionCode.MessageType);
        if (type.Length == 0)
        {
            return Fail(ParseStatus.NoMessageType);
        }

        if (type.Length != 1 || type[0] is < (byte)DhcpMessageType.Discover or > (byte)DhcpMessageType.Inform)
        {
            return Fail(ParseStatus.BadMessageType);
        }

        MessageType = (DhcpMessageType)type[0];
        var mac = 0UL;
        for (var i = 0; i < 6; i++)
        {
            mac = (mac << 8) | _header[BootpLayout.ChAddr + i];
        }

        Mac = mac;
        return ParseStatus.Ok;
    }

    private ParseStatus CollectFragments(ReadOnlySpan<byte> packet, int start, int end, bool allowOverload, out int overload)
    {
        overload = 0;
        var sawOverload = false;
        var i = start;
        while (i < end)
        {
            var code = packet[i];
            if (code == OptionCode.Pad)
            {
                i++;
                continue;
            }

            if (code == OptionCode.End)
            {
                break;
            }

            if (i + 1 >= end)
            {
                return ParseStatus.TruncatedOption;
            }

            var length = packet[i + 1];
            if (i + 2 + length > end)
            {
                return ParseStatus.TruncatedOption;
            }

            if (code == OptionCode.Overload)
            {
                // RFC 2131 §4.1: option 52 is meaningful only in the options field; inside 'file' or 'sname' it would
                // point back at itself. Only its first instance counts.
                if (allowOverload && !sawOverload && length == 1 && packet[i + 2] is >= 1 and <= 3)
                {
                    overload = packet[i + 2];
                    sawOverload = true;
                }

                if (!allowOverload)
                {
                    i += 2 + length;
                    continue;
                }
            }

            if (_fragmentCount == MaxFragments)
            {
                return ParseStatus.TooManyOptions;
            }

            _fragmentCode[_fragmentCount] = code;
            _fragmentOffset[_fragmentCount] = i + 2;
            _fragmentLength[_fragmentCount] = length;
            _fragmentCount++;
            i += 2 + length;
        }

        return ParseStatus.Ok;
    }

    private void Assemble(ReadOnlySpan<byte> packet)
    {
        // Pass 1: total length per code, codes in order of first appearance.
        for (var f = 0; f < _fragmentCount; f++)
        {
            var code = _fragmentCode[f];
            if (_length[code] < 0)
            {
                _length[code] = 0;
                _order[_orderCount++] = code;
            }

            _length[code] += _fragmentLength[f];
        }

        // Pass 2: give each code a contiguous slot (RFC 3396 §5: the values concatenate).
        var next = 0;
        for (var o = 0; o < _orderCount; o++)
        {
            var code = _order[o];
            _start[code] = next;
            next += _length[code];
            _length[code] = 0;
        }

        // Pass 3: copy; _length counts up again to the total.
        for (var f = 0; f < _fragmentCount; f++)
        {
            var code = _fragmentCode[f];
            var length = _fragmentLength[f];
            packet.Slice(_fragmentOffset[f], length).CopyTo(_values.AsSpan(_start[code] + _length[code]));
            _length[code] += length;
        }
    }

    private ParseStatus Fail(ParseStatus status)
    {
        Reset();
        return status;
    }

    private void Reset()
    {
        for (var o = 0; o < _orderCount; o++)
        {
            _length[_order[o]] = -1;
        }

        _orderCount = 0;
        _fragmentCount = 0;
        MessageType = DhcpMessageType.None;
        Length = 0;
        Mac = 0;
    }

    private uint ReadAddressOption(byte code)
    {
        var value = Option(code);
        return value.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(value) : 0;
    }
}
