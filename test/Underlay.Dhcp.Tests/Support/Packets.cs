using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Underlay.Dhcp.Tests.Support;

/// <summary>Builds client requests byte by byte, independently of the server's writer.</summary>
internal sealed class PacketBuilder
{
    private readonly List<(byte Code, byte[] Value)> _options = [];

    public PacketBuilder(byte type, ulong mac)
    {
        Mac = mac;
        if (type != 0)
        {
            _options.Add((53, [type]));
        }
    }

    public byte Op { get; set; } = 1;

    public byte HLen { get; set; } = 6;

    public uint Xid { get; set; } = 0x12345678;

    public ushort Flags { get; set; }

    public uint CiAddr { get; set; }

    public uint GiAddr { get; set; }

    public ulong Mac { get; set; }

    public byte[] SName { get; set; } = [];

    public byte[] File { get; set; } = [];

    public uint Cookie { get; set; } = 0x63825363;

    public static PacketBuilder Discover(ulong mac) => new(1, mac);

    public static PacketBuilder Request(ulong mac) => new(3, mac);

    public static PacketBuilder Decline(ulong mac) => new(4, mac);

    public static PacketBuilder Release(ulong mac) => new(7, mac);

    public static PacketBuilder Inform(ulong mac) => new(8, mac);

    public PacketBuilder With(byte code, params byte[] value)
    {
        _options.Add((code, value));
        return this;
    }

    public PacketBuilder WithText(byte code, string value) => With(code, Encoding.ASCII.GetBytes(value));

    public PacketBuilder WithAddress(byte code, string address) => With(code, IPAddress.Parse(address).GetAddressBytes());

    public PacketBuilder WithUInt16(byte code, ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return With(code, bytes);
    }

    public PacketBuilder RequestList(params byte[] codes) => With(55, codes);

    public PacketBuilder Pxe(ushort arch) => WithText(60, $"PXEClient:Arch:{arch:D5}:UNDI:003001").WithUInt16(93, arch);

    public byte[] Build()
    {
        var bytes = new List<byte>(new byte[240]);
        var header = new byte[240];
        header[0] = Op;
        header[1] = 1;
        header[2] = HLen;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), Xid);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), Flags);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), CiAddr);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), GiAddr);
        for (var i = 0; i < 6; i++)
        {
            header[28 + i] = (byte)(Mac >> (8 * (5 - i)));
        }

        SName.CopyTo(header.AsSpan(44));
        File.CopyTo(header.AsSpan(108));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(236), Cookie);
        bytes.Clear();
        bytes.AddRange(header);
        foreach (var (code, value) in _options)
        {
            bytes.Add(code);
            bytes.Add((byte)value.Length);
            bytes.AddRange(value);
        }

        bytes.Add(255);
        while (bytes.Count < 300)
        {
            bytes.Add(0);
        }

        return [.. bytes];
    }

    public static uint Address(string text) => BinaryPrimitives.ReadUInt32BigEndian(IPAddress.Parse(text).GetAddressBytes());
}

/// <summary>A reply as the client sees it, decoded independently of the server's parser.</summary>
internal sealed class Reply
{
    public Reply(byte[] bytes, uint destination, int port)
    {
        Bytes = bytes;
        Destination = destination;
        Port = port;
        Op = bytes[0];
        Xid = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4));
        Flags = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(10));
        CiAddr = Format(bytes.AsSpan(12));
        YiAddr = Format(bytes.AsSpan(16));
        SiAddr = Format(bytes.AsSpan(20));
        GiAddr = Format(bytes.AsSpan(24));
        SName = Encoding.ASCII.GetString(bytes, 44, 64).TrimEnd('\0');
        File = Encoding.ASCII.GetString(bytes, 108, 128).TrimEnd('\0');
        Assert.Equal(0x63825363u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(236)));
        var i = 240;
        while (i < bytes.Length && bytes[i] != 255)
        {
            if (bytes[i] == 0)
            {
                i++;
                continue;
            }

            Options.Add((bytes[i], bytes.AsSpan(i + 2, bytes[i + 1]).ToArray()));
            i += 2 + bytes[i + 1];
        }
    }

    public byte[] Bytes { get; }

    public uint Destination { get; }

    public string DestinationText => Format(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(Destination)));

    public int Port { get; }

    public byte Op { get; }

    public uint Xid { get; }

    public ushort Flags { get; }

    public string CiAddr { get; }

    public string YiAddr { get; }

    public string SiAddr { get; }

    public string GiAddr { get; }

    public string SName { get; }

    public string File { get; }

    public List<(byte Code, byte[] Value)> Options { get; } = [];

    public byte Type => Get(53)![0];

    public IEnumerable<byte> Codes => Options.Select(o => o.Code);

    public byte[]? Get(byte code) => Options.FirstOrDefault(o => o.Code == code).Value;

    public string? Text(byte code) => Get(code) is { } value ? Encoding.ASCII.GetString(value) : null;

    public string? AddressOf(byte code) => Get(code) is { Length: 4 } value ? Format(value) : null;

    public uint? UInt32(byte code) => Get(code) is { Length: 4 } value ? BinaryPrimitives.ReadUInt32BigEndian(value) : null;

    private static string Format(ReadOnlySpan<byte> bytes) => $"{bytes[0]}.{bytes[1]}.{bytes[2]}.{bytes[3]}";
}
