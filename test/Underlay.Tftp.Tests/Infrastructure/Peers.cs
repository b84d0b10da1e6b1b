using Underlay.TestUtilities;

namespace Underlay.Tftp.Tests.Infrastructure;

/// <summary>
/// The real TFTP clients (Debian packages tftp-hpa, curl, busybox-static, atftp; see eng/test-packages.txt),
/// each run against 127.0.0.1:port with a bounded run time. Facts the tests rely on:
/// tftp-hpa negotiates no options (512-byte blocks) and exits 0 even on an ERROR, printing "Error code N: msg";
/// curl sends tsize and blksize, never windowsize, and reports a TFTP error with a non-zero exit code;
/// busybox sends blksize (-b) and tsize; atftp is the only one with windowsize (RFC 7440).
/// </summary>
internal static class Peers
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    public static Task<ProcessResult> TftpHpaGetAsync(int port, string remote, string local, string mode = "binary", TimeSpan? timeout = null) =>
        RunAsync("tftp", ["-m", mode, "127.0.0.1", port.ToString(), "-c", "get", remote, local], timeout);

    public static Task<ProcessResult> TftpHpaPutAsync(int port, string local, string remote) =>
        RunAsync("tftp", ["-m", "binary", "127.0.0.1", port.ToString(), "-c", "put", local, remote], null);

    public static Task<ProcessResult> CurlGetAsync(int port, string remote, string local, int? blockSize = null, TimeSpan? timeout = null)
    {
        var arguments = new List<string> { "-sS", "--max-time", ((int)(timeout ?? DefaultTimeout).TotalSeconds).ToString(), "-o", local };
        if (blockSize is { } size)
        {
            arguments.AddRange(["--tftp-blksize", size.ToString()]);
        }

        arguments.Add($"tftp://127.0.0.1:{port}/{remote}");
        return RunAsync("curl", arguments, timeout);
    }

    public static Task<ProcessResult> BusyboxGetAsync(int port, string remote, string local, int? blockSize = null, TimeSpan? timeout = null)
    {
        var arguments = new List<string> { "tftp" };
        if (blockSize is { } size)
        {
            arguments.AddRange(["-b", size.ToString()]);
        }

        arguments.AddRange(["-g", "-r", remote, "-l", local, "127.0.0.1", port.ToString()]);
        return RunAsync("busybox", arguments, timeout);
    }

    public static Task<ProcessResult> AtftpGetAsync(int port, string remote, string local, int? blockSize = null, int? windowSize = null, TimeSpan? timeout = null)
    {
        // --tftp-timeout 1: retransmit after 1 s (as tftp-throughput.sh runs it); the default is 5 s.
        var arguments = new List<string> { "--tftp-timeout", "1", "--option", "tsize 0" };
        if (blockSize is { } size)
        {
            arguments.AddRange(["--option", $"blksize {size}"]);
        }

        if (windowSize is { } window)
        {
            arguments.AddRange(["--option", $"windowsize {window}"]);
        }

        arguments.AddRange(["-g", "-r", remote, "-l", local, "127.0.0.1", port.ToString()]);
        return RunAsync("atftp", arguments, timeout);
    }

    private static Task<ProcessResult> RunAsync(string program, IEnumerable<string> arguments, TimeSpan? timeout)
    {
        Assert.True(
            ExternalProcess.IsOnPath(program),
            $"'{program}' is not installed; install the packages in eng/test-packages.txt (apt-get install -y tftp-hpa curl busybox-static atftp).");
        return ExternalProcess.RunAsync(program, arguments, timeout ?? DefaultTimeout, Path.GetTempPath(), cancellationToken: TestContext.Current.CancellationToken);
    }
}
