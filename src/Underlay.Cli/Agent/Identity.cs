using System.Security.Cryptography;
using System.Text;
using Underlay.Core.Models;
using Underlay.Core.Validation;

namespace Underlay.Cli.Agent;

/// <summary>
/// What the agent can tell about the hardware it runs on, for whoami: the MACs of physical NICs and SMBIOS
/// identifiers (hashed serials, as DRP does, so serial numbers never leave the machine in clear).
/// </summary>
internal static class Identity
{
    public static List<string> MacAddresses(string sysClassNet = "/sys/class/net")
    {
        var macs = new List<string>();
        if (!Directory.Exists(sysClassNet))
        {
            return macs;
        }

        foreach (var path in Directory.EnumerateDirectories(sysClassNet).Order(StringComparer.Ordinal))
        {
            // Physical NICs have a device link; lo, bridges, veths and tunnels do not (or are not type 1 ethernet).
            var type = ReadTrimmed(Path.Combine(path, "type"));
            if (type != "1" || !Directory.Exists(Path.Combine(path, "device")) && !IsVirtioOrVeth(path))
            {
                continue;
            }

            if (Names.TryNormalizeMac(ReadTrimmed(Path.Combine(path, "address")) ?? "", out var mac) && mac != "00:00:00:00:00:00")
            {
                macs.Add(mac);
            }
        }

        return macs;
    }

    private static bool IsVirtioOrVeth(string path) =>
        File.Exists(Path.Combine(path, "iflink")) && Path.GetFileName(path).StartsWith("eth", StringComparison.Ordinal);

    public static MachineFingerprint Fingerprint(string dmi = "/sys/class/dmi/id")
    {
        var fingerprint = new MachineFingerprint
        {
            SystemUUID = ReadTrimmed(Path.Combine(dmi, "product_uuid"))?.ToLowerInvariant() ?? "",
        };
        if (ReadTrimmed(Path.Combine(dmi, "product_serial")) is { Length: > 0 } system && !IsPlaceholder(system))
        {
            fingerprint.SSNHash = Hash(system);
        }

        if (ReadTrimmed(Path.Combine(dmi, "chassis_serial")) is { Length: > 0 } chassis && !IsPlaceholder(chassis))
        {
            fingerprint.CSNHash = Hash(chassis);
        }

        return fingerprint;
    }

    /// <summary>A name for a machine that creates itself: its host name unless that is generic, else one from its MAC.</summary>
    public static string SuggestedName(IReadOnlyList<string> macs)
    {
        var host = Environment.MachineName;
        if (host.Length > 0 && host is not ("localhost" or "(none)" or "localhost.localdomain") && Names.IsValidName(host))
        {
            return host;
        }

        return macs.Count > 0 ? "d" + macs[0].Replace(":", "", StringComparison.Ordinal) : "d" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    }

    private static bool IsPlaceholder(string value) =>
        value is "0" or "None" or "Not Specified" or "To Be Filled By O.E.M." or "Default string" || value.All(c => c == '0' || c == ' ');

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
