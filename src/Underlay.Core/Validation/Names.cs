using System.Net;
using System.Net.NetworkInformation;
using System.Text.RegularExpressions;

namespace Underlay.Core.Validation;

/// <summary>Name and address rules shared by validation, the API and DHCP.</summary>
public static partial class Names
{
    /// <summary>DRP's name rule (<c>models/utils.go</c>): letters first, then letters, digits and <c>- _.</c>.</summary>
    [GeneratedRegex(@"^\p{L}+([- _.]+|\p{N}+|\p{L}+)+$", RegexOptions.CultureInvariant)]
    private static partial Regex NameRule();

    /// <summary>Param names may also contain <c>/</c> (<c>inventory/cpus</c>).</summary>
    [GeneratedRegex(@"^\p{L}+([- _./]+|\p{N}+|\p{L}+)+$", RegexOptions.CultureInvariant)]
    private static partial Regex ParamNameRule();

    public static bool IsValidName(string name) => name.Length <= 255 && NameRule().IsMatch(name);

    public static bool IsValidParamName(string name) => name.Length <= 255 && ParamNameRule().IsMatch(name);

    /// <summary>Why a name is refused, or null.</summary>
    public static string? CheckName(string name, bool isParam = false)
    {
        if (name.Length == 0)
        {
            return "must not be empty";
        }

        var valid = isParam ? IsValidParamName(name) : IsValidName(name);
        return valid ? null : $"'{Truncate(name)}' is not a valid name (letters first, then letters, digits, '-', '_', '.'{(isParam ? ", '/'" : "")})";
    }

    /// <summary>Parses a MAC address in any common form and returns DRP's lowercase colon form.</summary>
    public static bool TryNormalizeMac(string text, out string normalized)
    {
        normalized = "";
        var candidate = text.Trim();
        if (candidate.Length is < 12 or > 17)
        {
            return false;
        }

        try
        {
            var bytes = PhysicalAddress.Parse(candidate.ToUpperInvariant()).GetAddressBytes();
            if (bytes.Length != 6)
            {
                return false;
            }

            normalized = Convert.ToHexStringLower(bytes[0..1]) + ":" + Convert.ToHexStringLower(bytes[1..2]) + ":" +
                         Convert.ToHexStringLower(bytes[2..3]) + ":" + Convert.ToHexStringLower(bytes[3..4]) + ":" +
                         Convert.ToHexStringLower(bytes[4..5]) + ":" + Convert.ToHexStringLower(bytes[5..6]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static bool TryParseIPv4(string text, out IPAddress address)
    {
        if (IPAddress.TryParse(text, out var parsed) && parsed.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork &&
            text.Count(c => c == '.') == 3)
        {
            address = parsed;
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    internal static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
