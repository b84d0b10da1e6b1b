using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Underlay.Tftp.Protocol;

/// <summary>A parsed RRQ or WRQ (RFC 1350 §5 with the RFC 2347 option list).</summary>
internal sealed class TftpRequest
{
    private TftpRequest(TftpOpcode opcode, string fileName, TftpTransferMode mode, List<KeyValuePair<string, string>> options)
    {
        Opcode = opcode;
        FileName = fileName;
        Mode = mode;
        Options = options;
    }

    public TftpOpcode Opcode { get; }

    /// <summary>The file name exactly as requested (decoded from UTF-8), before normalization.</summary>
    public string FileName { get; }

    public TftpTransferMode Mode { get; }

    /// <summary>RFC 2347 options in request order, names as the client spelled them.</summary>
    public List<KeyValuePair<string, string>> Options { get; }

    /// <summary>
    /// Parses <c>opcode | filename | 0 | mode | 0 | [opt | 0 | value | 0]*</c>. On failure returns null and a
    /// message for an ERROR packet (code 4, illegal operation, as tftpd-hpa answers malformed requests).
    /// </summary>
    public static TftpRequest? Parse(ReadOnlySpan<byte> packet, out string? error)
    {
        error = null;
        if (packet.Length < 2)
        {
            error = "Request too short";
            return null;
        }

        var opcode = (TftpOpcode)BinaryPrimitives.ReadUInt16BigEndian(packet);
        if (opcode is not TftpOpcode.ReadRequest and not TftpOpcode.WriteRequest)
        {
            error = "Not a request";
            return null;
        }

        var rest = packet[2..];
        if (!TryTakeString(ref rest, out var fileNameBytes) || !TryTakeString(ref rest, out var modeBytes))
        {
            error = "Request not null-terminated";
            return null;
        }

        if (!Utf8.IsValid(fileNameBytes))
        {
            error = "File name is not valid UTF-8";
            return null;
        }

        TftpTransferMode mode;
        if (Ascii.EqualsIgnoreCase(modeBytes, "octet"u8))
        {
            mode = TftpTransferMode.Octet;
        }
        else if (Ascii.EqualsIgnoreCase(modeBytes, "netascii"u8))
        {
            mode = TftpTransferMode.Netascii;
        }
        else
        {
            // RFC 1350 §1 also names "mail", which is obsolete (RFC 1350 says it "should not be used").
            error = "Unknown mode";
            return null;
        }

        // RFC 2347 §"Packet Formats": options follow the mode, each a NUL-terminated name and value.
        // A trailing incomplete pair is ignored (some clients pad requests with NULs).
        var options = new List<KeyValuePair<string, string>>();
        while (!rest.IsEmpty)
        {
            if (!TryTakeString(ref rest, out var name) || !TryTakeString(ref rest, out var value))
            {
                break;
            }

            if (name.IsEmpty)
            {
                continue;
            }

            options.Add(new(Encoding.UTF8.GetString(name), Encoding.UTF8.GetString(value)));
        }

        return new TftpRequest(opcode, Encoding.UTF8.GetString(fileNameBytes), mode, options);
    }

    private static bool TryTakeString(ref ReadOnlySpan<byte> span, out ReadOnlySpan<byte> value)
    {
        var nul = span.IndexOf((byte)0);
        if (nul < 0)
        {
            value = default;
            return false;
        }

        value = span[..nul];
        span = span[(nul + 1)..];
        return true;
    }
}
