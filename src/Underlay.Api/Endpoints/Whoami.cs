using Underlay.Core.Models;
using Underlay.Core.Validation;

namespace Underlay.Api.Endpoints;

/// <summary>DRP's whoami point scheme (<c>doc/arch/whoami.rst</c>).</summary>
internal static class Whoami
{
    public const int Threshold = 100;

    public static (Machine? Best, int Score) Match(IEnumerable<Machine> machines, WhoamiRequest request)
    {
        var macs = request.MacAddrs.Select(m => Names.TryNormalizeMac(m, out var mac) ? mac : null).OfType<string>().ToHashSet(StringComparer.Ordinal);
        Machine? best = null;
        var bestScore = 0;
        foreach (var machine in machines)
        {
            var score = Score(machine, request, macs);
            if (score > bestScore)
            {
                best = machine;
                bestScore = score;
            }
        }

        return (best, bestScore);
    }

    private static int Score(Machine machine, WhoamiRequest request, HashSet<string> macs)
    {
        var score = 0;
        if (request.OnDiskUUID.Length > 0 && Guid.TryParse(request.OnDiskUUID, out var onDisk) && onDisk == machine.Uuid)
        {
            score += 1000;
        }

        var fingerprint = request.Fingerprint;
        var known = machine.Fingerprint;
        if (fingerprint.CloudInstanceID.Length > 0 && fingerprint.CloudInstanceID == known.CloudInstanceID)
        {
            score += 500;
        }

        if (fingerprint.SystemUUID.Length > 0 && string.Equals(fingerprint.SystemUUID, known.SystemUUID, StringComparison.OrdinalIgnoreCase))
        {
            score += 50;
        }

        if (fingerprint.SSNHash.Length > 0 && fingerprint.SSNHash == known.SSNHash)
        {
            score += 25;
        }

        if (fingerprint.CSNHash.Length > 0 && fingerprint.CSNHash == known.CSNHash)
        {
            score += 25;
        }

        if (fingerprint.MemoryIds.Count > 0 && known.MemoryIds.Count > 0)
        {
            score += 100 * fingerprint.MemoryIds.Intersect(known.MemoryIds, StringComparer.Ordinal).Count() / Math.Max(fingerprint.MemoryIds.Count, known.MemoryIds.Count);
        }

        if (macs.Count > 0 && machine.HardwareAddrs.Count > 0)
        {
            // Every MAC of the machine seen (and nothing else) is full evidence; a NIC swap still leaves partial credit.
            var common = machine.HardwareAddrs.Count(macs.Contains);
            score += 100 * common / Math.Max(macs.Count, machine.HardwareAddrs.Count);
        }

        return score;
    }
}
