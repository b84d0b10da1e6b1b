using Underlay.Tftp.Tests.Infrastructure;

namespace Underlay.Tftp.Tests;

/// <summary>Real TFTP clients against the server on loopback: every download is checked by SHA-256.</summary>
public sealed class RealClientTests : IAsyncLifetime
{
    private const long FileSize = 3_000_000;
    private TestTftpServer _server = null!;
    private string _sha = "";
    private string _output = "";

    public async ValueTask InitializeAsync()
    {
        _server = await TestTftpServer.StartAsync();
        _sha = _server.WriteRandomFile("images/blob.bin", FileSize);
        _output = Path.Combine(Path.GetTempPath(), "underlay-tftp-out-" + Guid.NewGuid().ToString("N"));
    }

    public async ValueTask DisposeAsync()
    {
        File.Delete(_output);
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Tftp_hpa_fetches_a_file_byte_identical_with_512_byte_blocks()
    {
        var result = await Peers.TftpHpaGetAsync(_server.Port, "images/blob.bin", _output);

        Assert.DoesNotContain("Error", result.Combined, StringComparison.Ordinal);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        var completed = await _server.NextCompletedAsync();
        Assert.True(completed.Success);
        Assert.Equal(512, completed.BlockSize);
        Assert.Equal(FileSize, completed.BytesTransferred);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(8)]
    [InlineData(1468)]
    [InlineData(8192)]
    [InlineData(65464)]
    public async Task Curl_fetches_a_file_byte_identical_with_default_and_negotiated_blksize(int? blockSize)
    {
        var result = await Peers.CurlGetAsync(_server.Port, "images/blob.bin", _output, blockSize);

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        var completed = await _server.NextCompletedAsync();
        Assert.True(completed.Success);
        Assert.Equal(blockSize ?? 512, completed.BlockSize);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(1468)]
    [InlineData(65464)]
    public async Task Busybox_fetches_a_file_byte_identical(int? blockSize)
    {
        var result = await Peers.BusyboxGetAsync(_server.Port, "images/blob.bin", _output, blockSize);

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        Assert.Equal(blockSize ?? 512, (await _server.NextCompletedAsync()).BlockSize);
    }

    [Theory]
    [InlineData(512, null)]
    [InlineData(512, 16)]
    [InlineData(1468, 16)]
    [InlineData(8192, 4)]
    [InlineData(1468, 64)]  // granted 44: MaxWindowBytes (64 KiB) / 1468
    [InlineData(8192, 16)]  // granted 8; 16 × 8 KiB overflowed atftp's socket buffer and stalled the transfer
    [InlineData(65464, 8)]  // granted 1: one 64 KiB block is already a full window
    public async Task Atftp_fetches_a_file_byte_identical_with_negotiated_windowsize(int blockSize, int? windowSize)
    {
        var result = await Peers.AtftpGetAsync(_server.Port, "images/blob.bin", _output, blockSize, windowSize, TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        var completed = await _server.NextCompletedAsync();
        Assert.True(completed.Success);
        Assert.Equal(blockSize, completed.BlockSize);
        Assert.Equal(Math.Min(windowSize ?? 1, Math.Max(1, 65536 / blockSize)), completed.WindowSize);
        Assert.Equal(0, completed.Retransmissions);
    }

    [Fact]
    public async Task Tftp_hpa_in_ascii_mode_gets_the_original_text_back_through_netascii()
    {
        // Unix newlines, a DOS newline and a bare CR: netascii sends CR LF / CR NUL and tftp-hpa converts back.
        var text = "first line\nsecond\r\nbare\rcarriage\n\nend"u8.ToArray();
        _server.WriteFile("notes.txt", text);

        var result = await Peers.TftpHpaGetAsync(_server.Port, "notes.txt", _output, mode: "ascii");

        Assert.DoesNotContain("Error", result.Combined, StringComparison.Ordinal);
        Assert.Equal(text, await File.ReadAllBytesAsync(_output, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_file_that_is_an_exact_multiple_of_the_block_size_ends_with_an_empty_block()
    {
        var sha = _server.WriteRandomFile("exact.bin", 512 * 40);

        var result = await Peers.TftpHpaGetAsync(_server.Port, "exact.bin", _output);

        Assert.DoesNotContain("Error", result.Combined, StringComparison.Ordinal);
        Assert.Equal(sha, TestTftpServer.Sha256Of(_output));
    }

    [Fact]
    public async Task An_empty_file_is_served_as_one_empty_block()
    {
        _server.WriteFile("empty.cfg", []);

        var result = await Peers.CurlGetAsync(_server.Port, "empty.cfg", _output);

        Assert.True(result.ExitCode == 0, result.Combined);
        Assert.Equal(0, new FileInfo(_output).Length);
    }

    [Fact]
    public async Task A_missing_file_gets_error_code_1()
    {
        var tftp = await Peers.TftpHpaGetAsync(_server.Port, "missing.bin", _output);
        var curl = await Peers.CurlGetAsync(_server.Port, "missing.bin", _output);

        Assert.Contains("Error code 1: File not found", tftp.Combined, StringComparison.Ordinal);
        Assert.NotEqual(0, curl.ExitCode);
        Assert.Equal(TftpErrorCode.FileNotFound, (await _server.NextCompletedAsync()).ErrorCode);
        Assert.Equal(2, _server.Counters.GetErrorsSent(TftpErrorCode.FileNotFound));
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("images/../../etc/passwd")]
    [InlineData("images/../blob.bin")]
    [InlineData("..\\etc\\passwd")]
    public async Task Dot_dot_requests_get_an_access_violation(string name)
    {
        var result = await Peers.TftpHpaGetAsync(_server.Port, name, _output);

        Assert.Contains("Error code 2", result.Combined, StringComparison.Ordinal);
        var completed = await _server.NextCompletedAsync();
        Assert.Equal(TftpTransferOutcome.Rejected, completed.Outcome);
        Assert.Equal(TftpErrorCode.AccessViolation, completed.ErrorCode);
    }

    [Fact]
    public async Task An_absolute_path_is_looked_up_under_the_root()
    {
        var absolute = await Peers.TftpHpaGetAsync(_server.Port, "/images/blob.bin", _output);
        Assert.Equal(_sha, TestTftpServer.Sha256Of(_output));
        var outside = await Peers.TftpHpaGetAsync(_server.Port, "/etc/hostname", _output);

        Assert.DoesNotContain("Error", absolute.Combined, StringComparison.Ordinal);
        Assert.Contains("Error code 1", outside.Combined, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_write_request_is_refused_with_an_error()
    {
        var local = Path.Combine(Path.GetTempPath(), "underlay-tftp-upload-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(local, "payload", TestContext.Current.CancellationToken);
        try
        {
            var result = await Peers.TftpHpaPutAsync(_server.Port, local, "uploaded.txt");

            Assert.Contains("Error code 2", result.Combined, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(_server.Root, "uploaded.txt")));
            Assert.Equal(TftpErrorCode.AccessViolation, (await _server.NextCompletedAsync()).ErrorCode);
        }
        finally
        {
            File.Delete(local);
        }
    }
}
