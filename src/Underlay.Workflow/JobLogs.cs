using System.Text;

namespace Underlay.Workflow;

/// <summary>
/// Job logs as append-only files under the data directory (<c>job-logs/&lt;job uuid&gt;</c>), never in the database:
/// they are large, written often and read rarely. Each log is capped; past the cap one marker line is written
/// and further output is dropped, so a runaway task cannot fill the disk.
/// </summary>
public sealed class JobLogs
{
    /// <summary>DRP keeps whole logs; 4 MiB holds any sane task's output and bounds a runaway one.</summary>
    public const long DefaultCapBytes = 4 * 1024 * 1024;

    private static readonly byte[] TruncatedMarker = Encoding.UTF8.GetBytes("\n[underlay: log truncated: the job log reached its size cap]\n");

    private readonly string _directory;
    private readonly long _capBytes;
    private readonly object _gate = new();

    public JobLogs(string directory, long capBytes = DefaultCapBytes)
    {
        _directory = directory;
        _capBytes = capBytes;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Appends output; returns the log's size afterwards.</summary>
    public long Append(Guid job, ReadOnlySpan<byte> data)
    {
        var path = PathOf(job);
        lock (_gate)
        {
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            var room = _capBytes - stream.Length;
            if (room <= 0)
            {
                return stream.Length;
            }

            if (data.Length <= room)
            {
                stream.Write(data);
            }
            else
            {
                stream.Write(data[..(int)Math.Max(0, room - TruncatedMarker.Length)]);
                stream.Write(TruncatedMarker);
            }

            return stream.Length;
        }
    }

    public byte[] Read(Guid job)
    {
        var path = PathOf(job);
        return File.Exists(path) ? File.ReadAllBytes(path) : [];
    }

    public void Delete(Guid job)
    {
        var path = PathOf(job);
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    private string PathOf(Guid job) => Path.Combine(_directory, job.ToString());
}
