using System.Diagnostics;
using System.Text;
using Underlay.Core.Models;

namespace Underlay.Cli.Agent;

/// <summary>
/// Runs one job's actions: actions with a Path are written as files, the others run as scripts in the job's task
/// directory with DRP's environment (<c>RS_UUID</c>, <c>RS_TOKEN</c>, <c>RS_ENDPOINT</c>, <c>RS_TASK_DIR</c>,
/// <c>RS_RUNNER_DIR</c>, and <c>UNDERLAY_*</c> equivalents). Output streams to the job log as it is produced.
/// The first script that exits non-zero ends the job with that code.
/// </summary>
internal sealed class TaskExecutor
{
    private readonly AgentOptions _options;
    private readonly Func<byte[], CancellationToken, Task> _appendLog;
    private readonly Action<string> _log;

    public TaskExecutor(AgentOptions options, Func<byte[], CancellationToken, Task> appendLog, Action<string> log)
    {
        _options = options;
        _appendLog = appendLog;
        _log = log;
    }

    public async Task<int> RunAsync(Job job, IReadOnlyList<JobAction> actions, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var taskDirectory = Path.Combine(_options.TaskRoot, job.Uuid.ToString());
        Directory.CreateDirectory(taskDirectory);
        await using var log = new LogPump(_appendLog, _options.LogFlushInterval);
        try
        {
            for (var i = 0; i < actions.Count; i++)
            {
                var action = actions[i];
                if (action.Path.Length > 0)
                {
                    var target = Path.IsPathRooted(action.Path) ? action.Path : Path.Combine(taskDirectory, action.Path);
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    await File.WriteAllTextAsync(target, action.Content, cancellationToken).ConfigureAwait(false);
                    log.Write($"wrote {target} ({Encoding.UTF8.GetByteCount(action.Content)} bytes) for action {action.Name}\n");
                    continue;
                }

                var script = Path.Combine(taskDirectory, $"{i:D2}-{Sanitize(action.Name)}");
                await File.WriteAllTextAsync(script, action.Content, cancellationToken).ConfigureAwait(false);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
                }

                var code = await RunScriptAsync(script, action, taskDirectory, environment, log, cancellationToken).ConfigureAwait(false);
                if (code != 0)
                {
                    log.Write($"action {action.Name} exited {code}\n");
                    return code;
                }
            }

            return 0;
        }
        finally
        {
            await log.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<int> RunScriptAsync(string script, JobAction action, string taskDirectory, IReadOnlyDictionary<string, string> environment, LogPump log, CancellationToken cancellationToken)
    {
        // A script with a #! line runs directly (bash, python...); anything else runs under /bin/sh.
        var info = action.Content.StartsWith("#!", StringComparison.Ordinal) ? new ProcessStartInfo(script) : new ProcessStartInfo("/bin/sh") { ArgumentList = { script } };
        info.WorkingDirectory = taskDirectory;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["RS_TASK_DIR"] = taskDirectory;
        info.Environment["UNDERLAY_TASK_DIR"] = taskDirectory;
        info.Environment["RS_RUNNER_DIR"] = _options.StateDirectory;
        info.Environment["UNDERLAY_RUNNER_DIR"] = _options.StateDirectory;

        _log($"running action {action.Name}");
        using var process = await StartAsync(info, cancellationToken).ConfigureAwait(false);
        process.StandardInput.Close();
        var stdout = PumpAsync(process.StandardOutput, log);
        var stderr = PumpAsync(process.StandardError, log);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        return process.ExitCode;
    }

    /// <summary>
    /// Starts the script, retrying briefly on ETXTBSY: the file was just written, and a fork on another thread (the
    /// agent runs child processes concurrently, and a fleet of agents may share one process) can still hold the
    /// write descriptor for the instant between its fork and its exec.
    /// </summary>
    private static async Task<Process> StartAsync(ProcessStartInfo info, CancellationToken cancellationToken)
    {
        const int TextFileBusy = 26;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return Process.Start(info) ?? throw new InvalidOperationException($"could not start {info.FileName}");
            }
            catch (System.ComponentModel.Win32Exception e) when (e.NativeErrorCode == TextFileBusy && attempt < 50)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20 * Math.Min(attempt, 5)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task PumpAsync(StreamReader reader, LogPump log)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            log.Write(new string(buffer, 0, read));
        }
    }

    private static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        }

        return builder.Length > 0 ? builder.ToString() : "action";
    }

    /// <summary>Batches output and sends it on an interval, so a chatty script costs few requests and the log is live.</summary>
    private sealed class LogPump : IAsyncDisposable
    {
        private const int MaxPendingBytes = 8 * 1024 * 1024;
        private readonly Func<byte[], CancellationToken, Task> _append;
        private readonly MemoryStream _pending = new();
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly Timer _timer;

        public LogPump(Func<byte[], CancellationToken, Task> append, TimeSpan interval)
        {
            _append = append;
            _timer = new Timer(_ => _ = FlushAsync(CancellationToken.None), null, interval, interval);
        }

        public void Write(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            lock (_pending)
            {
                if (_pending.Length + bytes.Length <= MaxPendingBytes)
                {
                    _pending.Write(bytes);
                }
            }
        }

        public async Task FlushAsync(CancellationToken cancellationToken)
        {
            await _sending.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                byte[] chunk;
                lock (_pending)
                {
                    if (_pending.Length == 0)
                    {
                        return;
                    }

                    chunk = _pending.ToArray();
                    _pending.SetLength(0);
                }

                await _append(chunk, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or Client.UnderlayApiException or TaskCanceledException)
            {
                // The log is best effort while the server is away; the job's state is what must arrive.
            }
            finally
            {
                _sending.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            _sending.Dispose();
        }
    }
}
