using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Underlay.BootStorm;

/// <summary>Latency samples per named phase or request kind; percentiles by nearest rank.</summary>
internal sealed class Stats
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _samples = new(StringComparer.Ordinal);

    public void Add(string name, double milliseconds) => _samples.GetOrAdd(name, _ => []).Add(milliseconds);

    public IEnumerable<string> Names => _samples.Keys.Order(StringComparer.Ordinal);

    public int Count(string name) => _samples.TryGetValue(name, out var bag) ? bag.Count : 0;

    public double Percentile(string name, double p)
    {
        if (!_samples.TryGetValue(name, out var bag) || bag.IsEmpty)
        {
            return 0;
        }

        var sorted = bag.ToArray();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    /// <summary>JSON object: name → {count, p50_ms, p99_ms, max_ms}.</summary>
    public string ToJson()
    {
        var json = new StringBuilder("{");
        var first = true;
        foreach (var name in Names)
        {
            json.Append(first ? "" : ",").Append(CultureInfo.InvariantCulture,
                $"\"{name}\":{{\"count\":{Count(name)},\"p50_ms\":{Percentile(name, 50):0.0},\"p99_ms\":{Percentile(name, 99):0.0},\"max_ms\":{Percentile(name, 100):0.0}}}");
            first = false;
        }

        return json.Append('}').ToString();
    }
}

/// <summary>The server's CPU time and memory from /proc (the server runs in another network namespace, same PID namespace).</summary>
internal sealed class ServerProbe(int pid)
{
    private static readonly double Tick = 100.0; // USER_HZ on Linux

    public long PeakRssKb { get; private set; }

    public double CpuSeconds()
    {
        if (pid <= 0)
        {
            return 0;
        }

        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / Tick;
    }

    public long StatusKb(string key)
    {
        if (pid <= 0)
        {
            return 0;
        }

        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Samples VmRSS every 200 ms until stopped; the maximum is <see cref="PeakRssKb"/>.</summary>
    public async Task SampleAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested && pid > 0)
        {
            PeakRssKb = Math.Max(PeakRssKb, StatusKb("VmRSS"));
            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        PeakRssKb = Math.Max(PeakRssKb, StatusKb("VmRSS"));
    }
}
