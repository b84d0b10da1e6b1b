using System.Buffers.Binary;

namespace Underlay.Dhcp.Protocol;

/// <summary>Option 82 (RFC 3046) sub-options the server acts on.</summary>
internal static class RelayAgentInformation
{
    /// <summary>RFC 3527: link selection, the subnet the client is on when giaddr cannot say it.</summary>
    public const byte LinkSelection = 5;

    /// <summary>RFC 5107: server identifier override, the address the client must use as option 54.</summary>
    public const byte ServerIdentifierOverride = 11;

    /// <summary>Reads a four-octet address sub-option; 0 when absent, malformed or the option is truncated.</summary>
    public static uint ReadAddress(ReadOnlySpan<byte> option82, byte subOption)
    {
        var i = 0;
        while (i + 1 < option82.Length)
        {
            var code = option82[i];
            var length = option82[i + 1];
            if (i + 2 + length > option82.Length)
            {
                return 0;
            }

            if (code == subOption)
            {
                return length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(option82.Slice(i + 2, 4)) : 0;
            }

            i += 2 + length;
        }

        return 0;
    }
}
