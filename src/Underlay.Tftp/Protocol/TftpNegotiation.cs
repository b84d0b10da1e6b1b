using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Underlay.Tftp.Protocol;

/// <summary>The outcome of RFC 2347 option negotiation for one read request.</summary>
internal sealed class TftpNegotiation
{
    private TftpNegotiation(int blockSize, int windowSize, int? timeoutSeconds, List<KeyValuePair<string, string>> acknowledged)
    {
        BlockSize = blockSize;
        WindowSize = windowSize;
        TimeoutSeconds = timeoutSeconds;
        Acknowledged = acknowledged;
    }

    /// <summary>Bytes per DATA block: 512 (RFC 1350) unless blksize was negotiated (RFC 2348).</summary>
    public int BlockSize { get; }

    /// <summary>Blocks per window: 1 (lock-step, RFC 1350) unless windowsize was negotiated (RFC 7440).</summary>
    public int WindowSize { get; }

    /// <summary>The retransmission timeout the client asked for (RFC 2349), in seconds.</summary>
    public int? TimeoutSeconds { get; }

    /// <summary>Options for the OACK, in request order; empty means "no OACK, start with DATA 1".</summary>
    public List<KeyValuePair<string, string>> Acknowledged { get; }

    /// <summary>
    /// Negotiates the options of <paramref name="request"/>. Returns null with an error message (sent as ERROR 8,
    /// RFC 2347) when a known option carries a value that is malformed or below its valid range. Values above the
    /// server's maximum are lowered, which RFC 2348 and RFC 7440 allow (the OACK may carry a smaller value);
    /// windowsize is also lowered so that windowsize × blksize stays within <paramref name="maxWindowBytes"/>.
    /// Unknown options are ignored and left out of the OACK (RFC 2347). A repeated option counts once.
    /// </summary>
    public static TftpNegotiation? Negotiate(
        TftpRequest request, int maxBlockSize, int maxWindowSize, int maxWindowBytes, long? fileLength, bool windowingAllowed, out string? error)
    {
        error = null;
        var blockSize = TftpPacket.DefaultBlockSize;
        var windowSize = 1;
        var windowIndex = -1;
        int? timeout = null;
        var acknowledged = new List<KeyValuePair<string, string>>();
        var seen = 0;
        const int SeenBlockSize = 1, SeenTransferSize = 2, SeenTimeout = 4, SeenWindowSize = 8;

        foreach (var (name, value) in request.Options)
        {
            if (name.Equals("blksize", StringComparison.OrdinalIgnoreCase))
            {
                if ((seen & SeenBlockSize) != 0)
                {
                    continue;
                }

                seen |= SeenBlockSize;
                if (!TryParseDecimal(value, out var requested) || requested < TftpPacket.MinBlockSize)
                {
                    // RFC 2348: "Valid values range between 8 and 65464 octets, inclusive."
                    error = $"Invalid blksize '{Truncate(value)}' (valid 8-65464)";
                    return null;
                }

                blockSize = (int)Math.Min(requested, maxBlockSize);
                acknowledged.Add(new(name, blockSize.ToString(CultureInfo.InvariantCulture)));
            }
            else if (name.Equals("tsize", StringComparison.OrdinalIgnoreCase))
            {
                if ((seen & SeenTransferSize) != 0)
                {
                    continue;
                }

                seen |= SeenTransferSize;

                // RFC 2349: in a RRQ the client sends "0" and the server answers with the size in octets. The value
                // the client sent is not checked (tftpd-hpa does the same). Not acknowledged when the length is
                // unknown (netascii, non-seekable streams) or zero: curl rejects "tsize 0" in an OACK as illegal
                // (error 71, also against tftpd-hpa), and leaving an option out is always allowed (RFC 2347).
                if (fileLength is { } length && length > 0 && request.Mode == TftpTransferMode.Octet)
                {
                    acknowledged.Add(new(name, length.ToString(CultureInfo.InvariantCulture)));
                }
            }
            else if (name.Equals("timeout", StringComparison.OrdinalIgnoreCase))
            {
                if ((seen & SeenTimeout) != 0)
                {
                    continue;
                }

                seen |= SeenTimeout;

                // RFC 2349: "Valid values range between 1 and 255 seconds, inclusive." The OACK must echo the value.
                if (!TryParseDecimal(value, out var seconds) || seconds is < 1 or > 255)
                {
                    error = $"Invalid timeout '{Truncate(value)}' (valid 1-255)";
                    return null;
                }

                timeout = (int)seconds;
                acknowledged.Add(new(name, timeout.Value.ToString(CultureInfo.InvariantCulture)));
            }
            else if (name.Equals("windowsize", StringComparison.OrdinalIgnoreCase))
            {
                if ((seen & SeenWindowSize) != 0)
                {
                    continue;
                }

                seen |= SeenWindowSize;

                // RFC 7440 §3: "Valid values range between 1 and 65535 blocks, inclusive."
                if (!TryParseDecimal(value, out var requested) || requested < 1)
                {
                    error = $"Invalid windowsize '{Truncate(value)}' (valid 1-65535)";
                    return null;
                }

                windowSize = windowingAllowed ? (int)Math.Min(requested, Math.Min(maxWindowSize, TftpPacket.MaxWindowSize)) : 1;
                windowIndex = acknowledged.Count;
                acknowledged.Add(new(name, ""));
            }
        }

        if (windowIndex >= 0)
        {
            // blksize may come after windowsize in the request, so the byte limit is applied last.
            windowSize = Math.Max(1, Math.Min(windowSize, maxWindowBytes / blockSize));

            // A window of 1 is plain RFC 1350 lock-step; leaving the option out of the OACK says the same thing
            // (tftpd-hpa also omits it below 2).
            if (windowSize > 1)
            {
                acknowledged[windowIndex] = new(acknowledged[windowIndex].Key, windowSize.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                acknowledged.RemoveAt(windowIndex);
            }
        }

        return new TftpNegotiation(blockSize, windowSize, timeout, acknowledged);
    }

    /// <summary>Length of the OACK packet (RFC 2347: opcode 6, then NUL-terminated name/value pairs).</summary>
    public int GetOackLength()
    {
        var length = 2;
        foreach (var (name, value) in Acknowledged)
        {
            length += Encoding.UTF8.GetByteCount(name) + 1 + Encoding.UTF8.GetByteCount(value) + 1;
        }

        return length;
    }

    public int WriteOack(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)TftpOpcode.OptionAcknowledgment);
        var position = 2;
        foreach (var (name, value) in Acknowledged)
        {
            position += Encoding.UTF8.GetBytes(name, destination[position..]);
            destination[position++] = 0;
            position += Encoding.UTF8.GetBytes(value, destination[position..]);
            destination[position++] = 0;
        }

        return position;
    }

    /// <summary>Unsigned decimal, digits only; saturates instead of overflowing so "99999999999999999999" is just "large".</summary>
    internal static bool TryParseDecimal(string text, out long value)
    {
        value = 0;
        if (text.Length == 0)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                value = 0;
                return false;
            }

            value = value > (long.MaxValue - 9) / 10 ? long.MaxValue : (value * 10) + (c - '0');
        }

        return true;
    }

    private static string Truncate(string value) => value.Length <= 20 ? value : value[..20];
}
