using System.Diagnostics;
using Underlay.Tftp.Files;
using Underlay.Tftp.Tests.Infrastructure;
using Underlay.TestUtilities;

namespace Underlay.Tftp.Tests;

/// <summary>The default source: files under a root, symbolic links confined to it.</summary>
public sealed class DirectoryFileSourceTests : IDisposable
{
    private readonly string _base = Path.Combine(Path.GetTempPath(), "underlay-tftp-dfs-" + Guid.NewGuid().ToString("N"));
    private readonly string _root;
    private readonly string _outside;

    public DirectoryFileSourceTests()
    {
        _root = Path.Combine(_base, "root");
        _outside = Path.Combine(_base, "outside");
        Directory.CreateDirectory(Path.Combine(_root, "boot"));
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_root, "boot", "kernel"), "kernel bytes");
        File.WriteAllText(Path.Combine(_outside, "secret"), "secret");
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    private static readonly TftpRequestContext s_context = new(
        new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5000), System.Net.IPAddress.Loopback, 1, "x", TftpTransferMode.Octet);

    private async Task<TftpOpenResult> OpenAsync(string path) =>
        await new DirectoryFileSource(_root).OpenAsync(path, s_context, TestContext.Current.CancellationToken);

    private static string Read(TftpOpenResult result)
    {
        Assert.True(result.IsSuccess, $"{result.ErrorCode} {result.ErrorMessage}");
        using var file = result.File;
        var buffer = new byte[4096];
        var read = file.Read(0, buffer);
        return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
    }

    [Fact]
    public async Task A_regular_file_is_served_with_its_length()
    {
        var result = await OpenAsync("boot/kernel");

        Assert.Equal(12, result.File!.Length);
        Assert.Equal("kernel bytes", Read(result));
    }

    [Fact]
    public async Task A_symbolic_link_that_stays_inside_the_root_is_followed()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "default"), "boot/kernel");
        Directory.CreateSymbolicLink(Path.Combine(_root, "current"), Path.Combine(_root, "boot"));
        Directory.CreateDirectory(Path.Combine(_root, "a"));
        File.CreateSymbolicLink(Path.Combine(_root, "a", "up"), "../boot/kernel");

        Assert.Equal("kernel bytes", Read(await OpenAsync("default")));
        Assert.Equal("kernel bytes", Read(await OpenAsync("current/kernel")));
        Assert.Equal("kernel bytes", Read(await OpenAsync("a/up")));
    }

    [Fact]
    public async Task Symbolic_links_that_leave_the_root_are_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "file-out"), Path.Combine(_outside, "secret"));
        File.CreateSymbolicLink(Path.Combine(_root, "relative-out"), "../outside/secret");
        Directory.CreateSymbolicLink(Path.Combine(_root, "dir-out"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "etc"), "/etc/hostname");

        foreach (var path in new[] { "file-out", "relative-out", "dir-out/secret", "etc" })
        {
            var result = await OpenAsync(path);
            Assert.False(result.IsSuccess, path);
            Assert.Equal(TftpErrorCode.AccessViolation, result.ErrorCode);
        }
    }

    [Fact]
    public async Task A_root_that_is_itself_a_symbolic_link_works()
    {
        var link = Path.Combine(_base, "root-link");
        Directory.CreateSymbolicLink(link, _root);

        var result = await new DirectoryFileSource(link).OpenAsync("boot/kernel", s_context, TestContext.Current.CancellationToken);

        Assert.Equal("kernel bytes", Read(result));
    }

    [Fact]
    public async Task A_symbolic_link_loop_is_refused()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "loop-a"), "loop-b");
        File.CreateSymbolicLink(Path.Combine(_root, "loop-b"), "loop-a");

        var result = await OpenAsync("loop-a");

        Assert.Equal(TftpErrorCode.AccessViolation, result.ErrorCode);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("boot")]
    [InlineData("boot/kernel/more")]
    [InlineData("nodir/file")]
    public async Task Missing_files_and_directories_are_not_found(string path)
    {
        var result = await OpenAsync(path);

        Assert.Equal(TftpErrorCode.FileNotFound, result.ErrorCode);
    }

    [Fact]
    public async Task A_fifo_is_served_as_empty_instead_of_blocking()
    {
        var fifo = Path.Combine(_root, "fifo");
        var made = await ExternalProcess.RunAsync("mkfifo", fifo);
        Assert.Equal(0, made.ExitCode);

        var clock = Stopwatch.StartNew();
        var result = await OpenAsync("fifo");

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
        Assert.Equal(0, result.File!.Length);
    }
}

/// <summary>The seam other projects plug into: rendered content, streams, errors and failures of a source.</summary>
public sealed class FileSourceSeamTests
{
    [Fact]
    public async Task A_rendered_file_is_served_with_its_length_and_the_request_context()
    {
        var rendered = "#!ipxe\nchain http://10.0.0.1:8091/machine.ipxe\n"u8.ToArray();
        (string Path, TftpRequestContext Context)? call = null;
        await using var server = await TestTftpServer.StartAsync(source: _ => new DelegateFileSource((path, context) =>
        {
            call = (path, context);
            return TftpOpenResult.FromMemory(rendered);
        }));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("\\pxelinux.cfg//01-aa-bb", ("tsize", "0"));
        var oack = await client.ExpectAsync();
        client.SendAck(0);
        var (content, _) = await client.DownloadAsync(512);

        Assert.Equal(rendered.Length.ToString(), oack.Options["tsize"]);
        Assert.Equal(rendered, content);
        Assert.Equal("pxelinux.cfg/01-aa-bb", call!.Value.Path);
        Assert.Equal("\\pxelinux.cfg//01-aa-bb", call.Value.Context.RequestedFileName);
        Assert.Equal(client.LocalEndPoint, call.Value.Context.RemoteEndPoint);
        Assert.Equal(System.Net.IPAddress.Loopback, call.Value.Context.LocalAddress);
        Assert.Equal(TftpTransferMode.Octet, call.Value.Context.Mode);
        var completed = await server.NextCompletedAsync();
        Assert.Equal("pxelinux.cfg/01-aa-bb", completed.Path);
        Assert.Equal(rendered.Length, completed.BytesTransferred);
    }

    [Fact]
    public async Task An_error_from_the_source_reaches_the_client_as_is()
    {
        await using var server = await TestTftpServer.StartAsync(source: _ => new DelegateFileSource((_, _) =>
            TftpOpenResult.Error(TftpErrorCode.AccessViolation, "Machine is locked")));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("anything");
        var reply = await client.ExpectAsync();

        Assert.True(reply.IsError && reply.Number == (ushort)TftpErrorCode.AccessViolation, reply.ToString());
        Assert.Equal("Machine is locked", reply.ErrorMessage);
    }

    [Fact]
    public async Task A_throwing_source_gives_error_0_and_the_server_keeps_serving()
    {
        var calls = 0;
        await using var server = await TestTftpServer.StartAsync(source: _ => new DelegateFileSource((_, _) =>
            Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("template broke") : TftpOpenResult.FromMemory("ok"u8.ToArray())));
        using var first = new RawTftpClient(server.Port);
        using var second = new RawTftpClient(server.Port);

        first.SendReadRequest("a");
        var error = await first.ExpectAsync();
        second.SendReadRequest("b");
        var (content, _) = await second.DownloadAsync(512);

        Assert.True(error.IsError && error.Number == 0, error.ToString());
        Assert.DoesNotContain("template", error.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("ok"u8.ToArray(), content);
    }

    [Fact]
    public async Task A_non_seekable_stream_is_served_lock_step_without_tsize()
    {
        var bytes = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        await using var server = await TestTftpServer.StartAsync(source: _ => new DelegateFileSource((_, _) =>
            TftpOpenResult.FromStream(new ForwardOnlyStream(bytes))));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("stream", ("tsize", "0"), ("windowsize", "8"), ("blksize", "1000"));
        var oack = await client.ExpectAsync();
        client.SendAck(0);
        var (content, _) = await client.DownloadAsync(1000);

        Assert.Equal(new Dictionary<string, string> { ["blksize"] = "1000" }, oack.Options);
        Assert.Equal(bytes, content);
    }

    [Fact]
    public async Task The_file_is_disposed_when_the_transfer_ends()
    {
        var stream = new TrackingStream(new byte[100]);
        await using var server = await TestTftpServer.StartAsync(source: _ => new DelegateFileSource((_, _) => TftpOpenResult.FromStream(stream)));
        using var client = new RawTftpClient(server.Port);

        client.SendReadRequest("x");
        await client.DownloadAsync(512);
        await server.NextCompletedAsync();

        Assert.True(stream.Disposed);
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    private sealed class TrackingStream(byte[] bytes) : MemoryStream(bytes)
    {
        public bool Disposed { get; private set; }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}
