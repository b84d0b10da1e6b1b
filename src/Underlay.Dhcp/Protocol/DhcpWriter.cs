using System.Buffers.Binary;

namespace Underlay.Dhcp.Protocol;

/// <summary>
/// Writes one BOOTP/DHCP reply into a caller's buffer without allocating. The header is written first, then
/// options in the order the caller chooses, then <see cref="Finish"/> adds the End option and pads.
/// </summary>
internal ref struct DhcpWriter
{
    private readonly Span<byte> _buffer;
    private readonly int _limit;
    private int _position;

    /// <param name="buffer">The destination.</param>
    /// <param name="maxLength">The largest message the client accepts (RFC 2131 §2, option 57).</param>
    public DhcpWriter(Span<byte> buffer, int maxLength)
    {
        _buffer = buffer;
        _limit = Math.Min(buffer.Length, Math.Max(maxLength, BootpLayout.MinimumReplyLength));
        _position = BootpLayout.Options;
    }

    /// <summary>Options that did not fit and were left out.</summary>
    public int Dropped { get; private set; }

    /// <summary>
    /// Writes the fixed fields of a reply to <paramref name="request"/>: RFC 2131 §4.3.1 table 3 (xid, flags,
    /// giaddr and chaddr from the request; hops and secs zero).
    /// </summary>
    public void WriteHeader(ReadOnlySpan<byte> request, uint ciaddr, uint yiaddr, uint siaddr, bool broadcast)
    {
        _buffer[..BootpLayout.Options].Clear();
        _buffer[BootpLayout.Op] = BootpLayout.BootReply;
        _buffer[BootpLayout.HType] = request[BootpLayout.HType];
        _buffer[BootpLayout.HLen] = request[BootpLayout.HLen];
        request.Slice(BootpLayout.Xid, 4).CopyTo(_buffer[BootpLayout.Xid..]);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(request[BootpLayout.Flags..]);
        if (broadcast)
        {
            flags |= BootpLayout.BroadcastFlag;
        }

        BinaryPrimitives.WriteUInt16BigEndian(_buffer[BootpLayout.Flags..], flags);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[BootpLayout.CiAddr..], ciaddr);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[BootpLayout.YiAddr..], yiaddr);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[BootpLayout.SiAddr..], siaddr);
        request.Slice(BootpLayout.GiAddr, 4).CopyTo(_buffer[BootpLayout.GiAddr..]);
        request.Slice(BootpLayout.ChAddr, BootpLayout.ChAddrLength).CopyTo(_buffer[BootpLayout.ChAddr..]);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[BootpLayout.Cookie..], BootpLayout.MagicCookie);
    }

    /// <summary>Sets the BOOTP 'sname' field (RFC 2131 §2; truncated to 63 octets plus NUL).</summary>
    public void WriteServerName(ReadOnlySpan<byte> name) => WriteField(BootpLayout.SName, BootpLayout.SNameLength, name);

    /// <summary>Sets the BOOTP 'file' field (RFC 2131 §2; truncated to 127 octets plus NUL).</summary>
    public void WriteFileName(ReadOnlySpan<byte> name) => WriteField(BootpLayout.File, BootpLayout.FileLength, name);

    /// <summary>
    /// Writes one option; values longer than 255 octets are split into consecutive instances (RFC 3396 §7).
    /// Returns false, writing nothing, when the option does not fit (one octet stays reserved for End).
    /// </summary>
    public bool WriteOption(byte code, scoped ReadOnlySpan<byte> value)
    {
        var fragments = value.Length == 0 ? 1 : (value.Length + 254) / 255;
        if (_position + value.Length + (2 * fragments) + 1 > _limit)
        {
            Dropped++;
            return false;
        }

        do
        {
            var chunk = Math.Min(value.Length, 255);
            _buffer[_position] = code;
            _buffer[_position + 1] = (byte)chunk;
            value[..chunk].CopyTo(_buffer[(_position + 2)..]);
            _position += 2 + chunk;
            value = value[chunk..];
        }
        while (value.Length > 0);

        return true;
    }

    public bool WriteOption(byte code, byte value) => WriteOption(code, [value]);

    public bool WriteOptionUInt32(byte code, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return WriteOption(code, bytes);
    }

    /// <summary>Writes End and pads with zeros to the BOOTP minimum; returns the message length.</summary>
    public int Finish()
    {
        _buffer[_position++] = OptionCode.End;
        if (_position < BootpLayout.MinimumReplyLength)
        {
            _buffer[_position..BootpLayout.MinimumReplyLength].Clear();
            _position = BootpLayout.MinimumReplyLength;
        }

        return _position;
    }

    private readonly void WriteField(int offset, int size, ReadOnlySpan<byte> value)
    {
        var field = _buffer.Slice(offset, size);
        field.Clear();
        value[..Math.Min(value.Length, size - 1)].CopyTo(field);
    }
}
