using System.Buffers.Binary;
using System.Text.Unicode;

namespace Underlay.Tftp.Protocol;

/// <summary>Readers and writers for the fixed-layout TFTP packets. Span code; nothing here allocates.</summary>
internal static class TftpPacket
{
    /// <summary>DATA and ACK headers are opcode (2 bytes) + block number (2 bytes), RFC 1350 §5.</summary>
    public const int HeaderSize = 4;

    /// <summary>RFC 1350 §1: "A transfer is established by sending a request ... data packets of 512 bytes".</summary>
    public const int DefaultBlockSize = 512;

    /// <summary>RFC 2348: "valid values range between 8 and 65464 octets, inclusive".</summary>
    public const int MinBlockSize = 8;

    /// <summary>RFC 2348: the largest valid blksize.</summary>
    public const int MaxBlockSize = 65464;

    /// <summary>RFC 7440 §3: windowsize "valid values range between 1 and 65535 blocks, inclusive".</summary>
    public const int MaxWindowSize = 65535;

    /// <summary>Longest error message we write; keeps every ERROR packet inside the classic 516-byte packet.</summary>
    public const int MaxErrorMessageBytes = 500;

    public static bool TryReadOpcode(ReadOnlySpan<byte> packet, out TftpOpcode opcode)
    {
        if (packet.Length < 2)
        {
            opcode = 0;
            return false;
        }

        opcode = (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(packet);
        return true;
    }

    /// <summary>RFC 1350 §5: ACK = opcode 4 + block number. Extra trailing bytes are tolerated, as tftpd-hpa does.</summary>
    public static bool TryReadAck(ReadOnlySpan<byte> packet, out ushort block)
    {
        if (packet.Length < HeaderSize || BinaryPrimitives.ReadUInt16BigEndian(packet) != (ushort)TftpOpcode.Acknowledgment)
        {
            block = 0;
            return false;
        }

        block = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        return true;
    }

    /// <summary>RFC 1350 §5: ERROR = opcode 5 + code + NUL-terminated message (a missing NUL is tolerated).</summary>
    public static bool TryReadError(ReadOnlySpan<byte> packet, out ushort code, out ReadOnlySpan<byte> message)
    {
        if (packet.Length < HeaderSize || BinaryPrimitives.ReadUInt16BigEndian(packet) != (ushort)TftpOpcode.Error)
        {
            code = 0;
            message = default;
            return false;
        }

        code = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        message = packet[HeaderSize..];
        var nul = message.IndexOf((byte)0);
        if (nul >= 0)
        {
            message = message[..nul];
        }

        return true;
    }

    /// <summary>Writes the 4-byte DATA header. The block number wraps from 65535 to 0 (see TftpTransfer).</summary>
    public static void WriteDataHeader(Span<byte> destination, ushort block)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Data);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], block);
    }

    /// <summary>Writes an ERROR packet with an ASCII/UTF-8 message; returns its length.</summary>
    public static int WriteError(Span<byte> destination, TftpErrorCode code, ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxErrorMessageBytes)
        {
            message = message[..MaxErrorMessageBytes];
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.Error);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)code);
        message.CopyTo(destination[HeaderSize..]);
        destination[HeaderSize + message.Length] = 0;
        return HeaderSize + message.Length + 1;
    }

    /// <summary>Writes an ERROR packet with a string message (request-time errors; not on the per-block path).</summary>
    public static int WriteError(Span<byte> destination, TftpErrorCode code, string message)
    {
        // Utf8.FromUtf16 stops at the last whole character that fits, so a long message is cut cleanly.
        Span<byte> encoded = stackalloc byte[MaxErrorMessageBytes];
        Utf8.FromUtf16(message, encoded, out _, out var length);
        return WriteError(destination, code, encoded[..length]);
    }

    /// <summary>Size of the buffer WriteError needs at most.</summary>
    public const int MaxErrorPacketSize = HeaderSize + MaxErrorMessageBytes + 1;
}
