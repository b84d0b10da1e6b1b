using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Underlay.Tftp.Files;

namespace Underlay.Tftp.Tests.Infrastructure;

/// <summary>
/// A <see cref="TftpServer"/> on 127.0.0.1 and a free port, serving a fresh temporary directory (or a given
/// source). Records every completed request so tests can assert what the server saw.
/// </summary>
internal sealed class TestTftpServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<TftpTransferCompletedEventArgs> _completed = new();
    private readonly SemaphoreSlim _completedSignal = new(0);

    private TestTftpServer(TftpServer server, string root)
    {
        Server = server;
        Root = root;
        server.TransferCompleted += (_, e) =>
        {
            _completed.Enqueue(e);
            _completedSignal.Release();
        };
    }

    public TftpServer Server { get; }

    /// <summary>Temporary root directory (always created, served only with the default source).</summary>
    public string Root { get; }

    public int Port => Server.LocalEndPoint!.Port;

    public TftpServerCounters Counters => Server.Counters;

    public IReadOnlyCollection<TftpTransferCompletedEventArgs> Completed => _completed;

    /// <summary>Starts on <paramref name="bind"/> (127.0.0.1 unless a test needs another) and port 0.</summary>
    public static async Task<TestTftpServer> StartAsync(TftpServerOptions? options = null, Func<string, ITftpFileSource>? source = null, IPAddress? bind = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "underlay-tftp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        options = (options ?? new TftpServerOptions()) with { BindAddress = bind ?? IPAddress.Loopback, Port = 0 };
        var server = new TftpServer(options, source?.Invoke(root) ?? new DirectoryFileSource(root));
        var test = new TestTftpServer(server, root);
        await server.StartAsync(TestContext.Current.CancellationToken);
        return test;
    }

    /// <summary>Writes <paramref name="size"/> random bytes (deterministic per name) and returns their SHA-256.</summary>
    public string WriteRandomFile(string relativePath, long size)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var random = new Random(relativePath.GetHashCode(StringComparison.Ordinal));
        var chunk = new byte[1 << 20];
        using (var stream = File.Create(path))
        {
            for (var left = size; left > 0; left -= chunk.Length)
            {
                random.NextBytes(chunk);
                stream.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
            }
        }

        return Sha256Of(path);
    }

    public void WriteFile(string relativePath, byte[] content)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
    }

    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>Waits (bounded) for the next completed request.</summary>
    public async Task<TftpTransferCompletedEventArgs> NextCompletedAsync(TimeSpan? timeout = null)
    {
        if (!await _completedSignal.WaitAsync(timeout ?? TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken))
        {
            throw new TimeoutException("No transfer completed in time.");
        }

        Assert.True(_completed.TryDequeue(out var result));
        return result;
    }

    /// <summary>Waits (bounded) until the server has no transfer in progress.</summary>
    public async Task WaitUntilIdleAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (Counters.ActiveTransfers != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Counters.ActiveTransfers} transfers still active.");
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Server.StopAsync(stop.Token);
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a client may still be writing into its output file.
        }
    }
}
