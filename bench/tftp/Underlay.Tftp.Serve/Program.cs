using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Underlay.Tftp;
using Underlay.Tftp.Files;

// tftp-serve --root DIR [--port 69] [--bind 0.0.0.0] [--max-blksize 65464] [--max-window 64] [--quiet]
// Serves DIR read-only until SIGTERM/SIGINT, then prints the server's counters.
var root = "";
var options = new TftpServerOptions();
var quiet = false;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--root": root = Next(); break;
        case "--port": options = options with { Port = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--bind": options = options with { BindAddress = IPAddress.Parse(Next()) }; break;
        case "--max-blksize": options = options with { MaxBlockSize = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--max-window": options = options with { MaxWindowSize = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--quiet": quiet = true; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

if (root.Length == 0)
{
    Console.Error.WriteLine("usage: tftp-serve --root DIR [--port 69] [--bind ADDR] [--max-blksize N] [--max-window N] [--quiet]");
    return 2;
}

using var stop = new CancellationTokenSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

await using var server = new TftpServer(options, new DirectoryFileSource(root));
if (!quiet)
{
    server.TransferCompleted += (_, e) => Console.WriteLine(
        $"{e.StartedAt:HH:mm:ss.fff} {e.Client} {e.Path} {e.Outcome} {e.BytesTransferred} B {e.Duration.TotalMilliseconds:F1} ms " +
        $"blksize {e.BlockSize} windowsize {e.WindowSize} retransmissions {e.Retransmissions}" +
        (e.ErrorCode is { } code ? $" ERROR {(int)code} {e.ErrorMessage}" : ""));
}

await server.StartAsync(stop.Token);
Console.WriteLine($"tftp-serve: {root} on {server.LocalEndPoint}");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

await server.StopAsync(CancellationToken.None);
var c = server.Counters;
Console.WriteLine(
    $"tftp-serve: requests {c.Requests}, completed {c.TransfersCompleted}, failed {c.TransfersFailed}, aborted by client {c.TransfersAbortedByClient}, " +
    $"rejected {c.RequestsRejected}, bytes {c.BytesSent}, packets {c.PacketsSent}, retransmissions {c.Retransmissions}, duplicate ACKs {c.DuplicateAcknowledgments}");
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}
