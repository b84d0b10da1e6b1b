using Underlay.Tftp.Tests.Infrastructure;

namespace Underlay.Tftp.Tests;

/// <summary>Large and concurrent transfers run alone, so they neither starve nor get starved by the timing tests.</summary>
[CollectionDefinition(nameof(HeavyTransfers), DisableParallelization = true)]
public sealed class HeavyTransfers;

/// <summary>
/// 100 MB crosses the 16-bit block counter: 65,536 × 512 B = 32 MiB, so at 512-byte blocks the block number
/// wraps from 65535 to 0 twice (195,313 blocks) and once at 1468 bytes (68,120 blocks).
/// </summary>
[Collection(nameof(HeavyTransfers))]
public sealed class LargeFileTests : IAsyncLifetime
{
    private const long FileSize = 100_000_000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(4);
    private TestTftpServer _server = null!;
    private string _sha = "";
    private string _output = "";

    public async ValueTask InitializeAsync()
    {
        _server = await TestTftpServer.StartAsync();
        _sha = _server.WriteRandomFile("big.img", FileSize);
        _output = Path.Combine(Path.GetTempPath(), "underlay-tftp-big-" + Guid.NewGuid().ToString("N"));
    }

    public async ValueTask DisposeAsync()
    {
        File.Delete(_output);
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Tftp_hpa_fetches_100_MB_past_two_block_number_rollovers()
    {
        var result = await Peers.TftpHpaGetAsync(_server.Port, "big.img", _output, timeout: s_timeout);

        Assert.DoesNotContain("Error", result.Combined, StringComparison.Ordinal);
        Assert.False(result.TimedOut);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        var completed = await _server.NextCompletedAsync();
        Assert.True(completed.Success);
        Assert.Equal(FileSize, completed.BytesTransferred);
    }

    [Fact]
    public async Task Curl_fetches_100_MB_past_a_block_number_rollover()
    {
        var result = await Peers.CurlGetAsync(_server.Port, "big.img", _output, blockSize: 1468, timeout: s_timeout);

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
    }

    [Fact]
    public async Task Busybox_fetches_100_MB_past_two_block_number_rollovers()
    {
        var result = await Peers.BusyboxGetAsync(_server.Port, "big.img", _output, timeout: s_timeout);

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
    }

    [Fact]
    public async Task Atftp_with_windowsize_16_fetches_100_MB_past_two_block_number_rollovers()
    {
        var result = await Peers.AtftpGetAsync(_server.Port, "big.img", _output, blockSize: 512, windowSize: 16, timeout: s_timeout);

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        var completed = await _server.NextCompletedAsync();
        Assert.Equal(16, completed.WindowSize);
    }
}

[Collection(nameof(HeavyTransfers))]
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Thirty_two_clients_at_once_all_get_identical_files()
    {
        await using var server = await TestTftpServer.StartAsync();
        var sha = server.WriteRandomFile("kernel", 4_000_000);
        var outputs = Enumerable.Range(0, 32)
            .Select(i => Path.Combine(Path.GetTempPath(), $"underlay-tftp-par-{Guid.NewGuid():N}"))
            .ToArray();
        try
        {
            // A realistic mix: mostly lock-step curl at different block sizes, some windowed atftp, some tftp-hpa.
            var runs = outputs.Select((output, i) => (i % 4) switch
            {
                0 => Peers.CurlGetAsync(server.Port, "kernel", output, 1468),
                1 => Peers.CurlGetAsync(server.Port, "kernel", output, 8192),
                2 => Peers.AtftpGetAsync(server.Port, "kernel", output, 1468, 16),
                _ => Peers.TftpHpaGetAsync(server.Port, "kernel", output),
            }).ToArray();
            var results = await Task.WhenAll(runs);

            for (var i = 0; i < outputs.Length; i++)
            {
                Assert.False(results[i].TimedOut, results[i].Combined);
                Assert.DoesNotContain("Error", results[i].Combined, StringComparison.Ordinal);
                Assert.Equal(sha, TestTftpServer.Sha256Of(outputs[i]));
            }

            await server.WaitUntilIdleAsync();
            Assert.Equal(32, server.Counters.TransfersCompleted);
            Assert.Equal(0, server.Counters.TransfersFailed);
        }
        finally
        {
            foreach (var output in outputs)
            {
                File.Delete(output);
            }
        }
    }
}
