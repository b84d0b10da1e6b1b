using System.Security.Cryptography;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;

namespace Underlay.Boot.Tests;

/// <summary>One real underlayd on loopback (TFTP on a free port, DHCP off) for the boot-file tests.</summary>
public sealed class UnderlaydFixture : IAsyncLifetime
{
    public UnderlayServerProcess Server { get; private set; } = null!;

    public UnderlayClient Api { get; private set; } = null!;

    public int TftpPort { get; } = FreePorts.Udp();

    public string Work { get; } = RepoPaths.NewTempDirectory("underlayd-boot");

    public async ValueTask InitializeAsync()
    {
        Server = new UnderlayServerProcess(extraArguments: ["--disable-dhcp", "--disable-pxe", "--tftp-port", TftpPort.ToString(System.Globalization.CultureInfo.InvariantCulture)], disableNetworkServices: false);
        await Server.StartAsync();
        Api = Server.AdminClient();
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Server.DisposeAsync();
        Directory.Delete(Work, recursive: true);
    }
}

/// <summary>
/// The boot files of a real underlayd fetched by real clients: curl over HTTP and TFTP, tftp-hpa and atftp over
/// TFTP; uploads through the API (curl) and the CLI. Complements the library-level suite in Underlay.Tftp.Tests
/// (which drives the TFTP server alone with the same clients) by going through underlayd's virtual file system.
/// </summary>
public sealed class UnderlaydBootFileTests(UnderlaydFixture fixture) : IClassFixture<UnderlaydFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private UnderlayServerProcess Server => fixture.Server;

    private string Http => Server.FileServer.ToString().TrimEnd('/');

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<ProcessResult> RunAsync(string program, params string[] arguments)
    {
        Assert.True(ExternalProcess.IsOnPath(program), $"'{program}' is not installed (eng/test-packages.txt)");
        return await ExternalProcess.RunAsync(program, arguments, Timeout, Path.GetTempPath(), cancellationToken: Ct);
    }

    /// <summary>The body exactly as sent (curl writes it to a file; process output is read line by line).</summary>
    private async Task<string> CurlTextAsync(string url, params string[] extra)
    {
        var (status, body) = await CurlStatusAsync(url, extra);
        Assert.True(status is >= 200 and < 300, $"curl {url}: {status} {body}");
        return body;
    }

    private async Task<(int Status, string Body)> CurlStatusAsync(string url, params string[] extra)
    {
        var output = Path.Combine(fixture.Work, "curl-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = await RunAsync("curl", ["-sS", "--max-time", "60", "-o", output, "-w", "%{http_code}", .. extra, url]);
            Assert.True(result.ExitCode == 0, $"curl {url}: {result.Combined}");
            var body = File.Exists(output) ? await File.ReadAllTextAsync(output, Ct) : "";
            return (int.Parse(result.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture), body);
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>curl against the API with the generated admin password; -k because the self-signed certificate names no IP.</summary>
    private string[] ApiAuth => ["-k", "-u", "admin:" + Server.AdminPassword];

    private string ApiUrl(string path) => $"{Server.Endpoint.ToString().TrimEnd('/')}/api/v3/{path}";

    private async Task<T> CreateAsync<T>(T model)
        where T : ModelBase => (T)await fixture.Api.CreateAsync(model, Ct);

    private async Task<T> GetAsync<T>(string id)
        where T : ModelBase => (T)await fixture.Api.GetAsync(ModelTypes.Of<T>(), id, Ct);

    private async Task<Machine> PatchMachineAsync(Guid id, string patch) =>
        (Machine)await fixture.Api.PatchAsync(ModelTypes.Of<Machine>(), id.ToString(), patch, Ct);

    private string RandomFile(string name, int bytes)
    {
        var path = Path.Combine(fixture.Work, name);
        var data = new byte[bytes];
        new Random(bytes).NextBytes(data);
        File.WriteAllBytes(path, data);
        return path;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private async Task<ProcessResult> CliAsync(params string[] arguments) =>
        await ExternalProcess.RunAsync("dotnet", [RepoPaths.CliDll, .. arguments], Timeout, fixture.Work, Server.CliEnvironment(), cancellationToken: Ct);

    /// <summary>Uploads a file to files/PATH through /api/v3/files with curl; returns the server's answer.</summary>
    private async Task<JsonElement> UploadFileAsync(string local, string remote, string query = "")
    {
        var (status, body) = await CurlStatusAsync(ApiUrl("files/" + remote + query), [.. ApiAuth, "-X", "POST", "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + local]);
        Assert.True(status == 201, $"upload of {remote}: {status} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Tftp_clients_fetch_files_and_renders_from_underlayd_byte_identical_with_default_and_negotiated_options()
    {
        var local = RandomFile("tftp-5m.bin", 5 * 1024 * 1024 + 321);
        var sha = Sha256(local);
        var answer = await UploadFileAsync(local, "tftp/5m.bin");
        Assert.Equal(sha, answer.GetProperty("Sha256").GetString());
        var port = fixture.TftpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var output = Path.Combine(fixture.Work, "tftp-out.bin");

        // tftp-hpa negotiates nothing: RFC 1350 512-byte blocks.
        var hpa = await RunAsync("tftp", ["-m", "binary", "127.0.0.1", port, "-c", "get", "files/tftp/5m.bin", output]);
        Assert.True(hpa.ExitCode == 0 && !hpa.Combined.Contains("Error", StringComparison.Ordinal), hpa.Combined);
        Assert.Equal(sha, Sha256(output));

        // curl: its default (512, no option) and a negotiated blksize (RFC 2348).
        foreach (string[] options in (string[][])[[], ["--tftp-blksize", "1468"], ["--tftp-blksize", "8192"]])
        {
            File.Delete(output);
            var curl = await RunAsync("curl", ["-sS", "--max-time", "100", .. options, "-o", output, $"tftp://127.0.0.1:{port}/files/tftp/5m.bin"]);
            Assert.True(curl.ExitCode == 0, string.Join(' ', options) + ": " + curl.Combined);
            Assert.Equal(sha, Sha256(output));
        }

        // windowsize (RFC 7440): atftp is the packaged client that asks for it.
        foreach (var (blksize, window) in new[] { ("1468", "16"), ("512", "4") })
        {
            File.Delete(output);
            var atftp = await RunAsync("atftp", ["--tftp-timeout", "1", "--option", "tsize 0", "--option", $"blksize {blksize}", "--option", $"windowsize {window}", "-g", "-r", "files/tftp/5m.bin", "-l", output, "127.0.0.1", port]);
            Assert.True(atftp.ExitCode == 0, atftp.Combined);
            Assert.Equal(sha, Sha256(output));
        }

        // Renders come over TFTP too: the unknownBootEnv fallback (built-in ignore) and an iPXE loader from Debian's package.
        File.Delete(output);
        var render = await RunAsync("tftp", ["-m", "binary", "127.0.0.1", port, "-c", "get", "pxelinux.cfg/default", output]);
        Assert.True(render.ExitCode == 0, render.Combined);
        Assert.Contains("LABEL local", await File.ReadAllTextAsync(output, Ct), StringComparison.Ordinal);
        if (File.Exists("/usr/lib/ipxe/ipxe.efi"))
        {
            File.Delete(output);
            var loader = await RunAsync("curl", ["-sS", "--max-time", "60", "--tftp-blksize", "1468", "-o", output, $"tftp://127.0.0.1:{port}/ipxe.efi"]);
            Assert.True(loader.ExitCode == 0, loader.Combined);
            Assert.Equal(Sha256("/usr/lib/ipxe/ipxe.efi"), Sha256(output));
        }
    }

    [Fact]
    public async Task Dot_dot_over_tftp_gets_an_error_packet_and_over_http_no_file()
    {
        var port = fixture.TftpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var output = Path.Combine(fixture.Work, "escape.out");
        foreach (var name in new[] { "../secrets/admin-password", "files/../../secrets/admin-password", "pxelinux.cfg/../../tls/server.key" })
        {
            var result = await RunAsync("tftp", ["-m", "binary", "127.0.0.1", port, "-c", "get", name, output]);
            // tftp-hpa prints the server's ERROR packet: "Error code 2: ..." (access violation) or 1 (not found).
            Assert.Matches(@"Error code [12]:", result.Combined);
        }

        var (status, body) = await CurlStatusAsync($"{Http}/../secrets/admin-password", "--path-as-is");
        Assert.True(status is 403 or 404 or 400, $"{status} {body}");
        Assert.DoesNotContain(Server.AdminPassword, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tftp_fetches_100_MB_from_underlayd_past_the_block_number_rollover()
    {
        var local = RandomFile("tftp-100m.bin", 100 * 1024 * 1024);
        var sha = Sha256(local);
        Directory.CreateDirectory(Path.Combine(Server.DataDirectory, "tftpboot", "big"));
        var target = Path.Combine(Server.DataDirectory, "tftpboot", "big", "100m.bin");
        File.Move(local, target);
        var output = Path.Combine(fixture.Work, "tftp-100m.out");
        var port = fixture.TftpPort.ToString(System.Globalization.CultureInfo.InvariantCulture);

        // 1468-byte blocks: 71,430 blocks, so the 16-bit block number wraps once (RFC 1350 gives no limit; 0 follows 65535).
        var curl = await RunAsync("curl", ["-sS", "--max-time", "110", "--tftp-blksize", "1468", "-o", output, $"tftp://127.0.0.1:{port}/big/100m.bin"]);
        Assert.True(curl.ExitCode == 0, curl.Combined);
        Assert.Equal(sha, Sha256(output));
        File.Delete(output);
        File.Delete(target);
    }

    [Fact]
    public async Task Curl_gets_a_machines_render_sees_bootenv_and_param_changes_at_once_and_the_fallback_for_unknown_macs()
    {
        await CreateAsync(new Template { ID = "http-marker.tmpl", Contents = "#!ipxe\necho {{.Env.Name}} {{.Machine.Name}} {{.Param \"http-marker\"}}\n" });
        foreach (var name in new[] { "http-a", "http-b" })
        {
            await CreateAsync(new BootEnv { Name = name, Templates = [new TemplateInfo { Name = "ipxe", Path = "{{.Machine.MacAddr \"ipxe\"}}.ipxe", ID = "http-marker.tmpl" }] });
        }

        var machine = await CreateAsync(new Machine
        {
            Name = "http-node",
            HardwareAddrs = ["52:54:00:aa:00:01"],
            BootEnv = "http-a",
            Params = new() { ["http-marker"] = JsonDocument.Parse("\"one\"").RootElement.Clone() },
        });
        var url = $"{Http}/52:54:00:aa:00:01.ipxe";
        Assert.Equal("#!ipxe\necho http-a http-node one\n", await CurlTextAsync(url));

        // A param change shows in the very next request: renders are made per request, never cached on disk.
        await fixture.Api.SetParamAsync(ModelTypes.Of<Machine>(), machine.Uuid.ToString(), "http-marker", JsonDocument.Parse("\"two\"").RootElement.Clone(), Ct);
        Assert.Equal("#!ipxe\necho http-a http-node two\n", await CurlTextAsync(url));

        // A bootenv change swaps the render and makes the machine not runnable.
        var changed = await PatchMachineAsync(machine.Uuid, """[{"op":"replace","path":"/BootEnv","value":"http-b"}]""");
        Assert.False(changed.Runnable);
        Assert.Equal("#!ipxe\necho http-b http-node two\n", await CurlTextAsync(url));

        // An unknown MAC has no file; the fallback default.ipxe (unknownBootEnv, built-in ignore) renders without a machine.
        var (status, _) = await CurlStatusAsync($"{Http}/52:54:00:aa:00:99.ipxe");
        Assert.Equal(404, status);
        var fallback = await CurlTextAsync($"{Http}/default.ipxe");
        Assert.StartsWith("#!ipxe", fallback, StringComparison.Ordinal);
        Assert.Contains("not known here", fallback, StringComparison.Ordinal);
        Assert.Contains("LABEL local", await CurlTextAsync($"{Http}/pxelinux.cfg/default"), StringComparison.Ordinal);

        // Renders answer range requests like files.
        var (rangeStatus, rangeBody) = await CurlStatusAsync(url, "-r", "0-5");
        Assert.Equal(206, rangeStatus);
        Assert.Equal("#!ipxe", rangeBody);
    }

    [Fact]
    public async Task Http_serves_files_with_range_requests()
    {
        var local = RandomFile("range.bin", 1_000_003);
        var bytes = await File.ReadAllBytesAsync(local, Ct);
        await UploadFileAsync(local, "range/range.bin");
        var output = Path.Combine(fixture.Work, "range.out");

        var whole = await RunAsync("curl", ["-sS", "-f", "-o", output, $"{Http}/files/range/range.bin"]);
        Assert.True(whole.ExitCode == 0, whole.Combined);
        Assert.Equal(Sha256(local), Sha256(output));

        var part = await RunAsync("curl", ["-sS", "-f", "-r", "1000-1999", "-o", output, "-w", "%{http_code}", $"{Http}/files/range/range.bin"]);
        Assert.Equal("206", part.StandardOutput.Trim());
        Assert.Equal(bytes[1000..2000], await File.ReadAllBytesAsync(output, Ct));

        // A resumed download (curl -C) gets only the rest and ends up identical.
        await File.WriteAllBytesAsync(output, bytes[..400_000], Ct);
        var resumed = await RunAsync("curl", ["-sS", "-f", "-C", "-", "-o", output, $"{Http}/files/range/range.bin"]);
        Assert.True(resumed.ExitCode == 0, resumed.Combined);
        Assert.Equal(Sha256(local), Sha256(output));
    }

    [Fact]
    public async Task A_bootenv_is_unavailable_until_its_iso_is_uploaded_and_exploded_with_a_matching_sha256()
    {
        // Kernel missing, no ISO: unavailable, with an error that says so.
        var noKernel = await CreateAsync(new BootEnv { Name = "no-kernel", Kernel = "nowhere/vmlinuz", Templates = [] });
        Assert.False(noKernel.Available);
        Assert.Contains(noKernel.Errors, e => e.Contains("vmlinuz", StringComparison.Ordinal));

        // An ISO-backed bootenv: unavailable until the ISO is there.
        var tree = Path.Combine(fixture.Work, "isotree");
        Directory.CreateDirectory(Path.Combine(tree, "boot"));
        await File.WriteAllTextAsync(Path.Combine(tree, "boot", "vmlinuz"), "kernel-bytes", Ct);
        await File.WriteAllTextAsync(Path.Combine(tree, "boot", "initrd.img"), "initrd-bytes", Ct);
        var iso = Path.Combine(fixture.Work, "testos.iso");
        var made = await RunAsync("xorriso", ["-as", "mkisofs", "-quiet", "-R", "-J", "-o", iso, tree]);
        Assert.True(made.ExitCode == 0, made.Combined);
        var sha = Sha256(iso);
        var env = await CreateAsync(new BootEnv
        {
            Name = "testos-install",
            Kernel = "boot/vmlinuz",
            Initrds = ["boot/initrd.img"],
            OS = new BootEnvOS { Name = "testos", IsoFile = "testos.iso", IsoSha256 = sha },
            Templates = [],
        });
        Assert.False(env.Available);
        Assert.NotEmpty(env.Errors);

        // A wrong sha256 is refused and nothing is stored.
        var (badStatus, badBody) = await CurlStatusAsync(ApiUrl("isos/testos.iso?sha256=" + new string('0', 64)), [.. ApiAuth, "-X", "POST", "--data-binary", "@" + iso]);
        Assert.True(badStatus is >= 400 and < 500, $"{badStatus} {badBody}");
        Assert.DoesNotContain("testos.iso", await CurlTextAsync(ApiUrl("isos"), ApiAuth), StringComparison.Ordinal);

        // The CLI: upload with its sha256 check; the server explodes the ISO 9660 image at DRP's install path.
        var upload = await CliAsync("isos", "upload", iso, "--sha256", sha);
        Assert.True(upload.ExitCode == 0, upload.Combined);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(env = await GetAsync<BootEnv>("testos-install")).Available && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, Ct);
        }

        Assert.True(env.Available, string.Join("; ", env.Errors));
        Assert.Equal("kernel-bytes", await CurlTextAsync($"{Http}/testos/install/boot/vmlinuz"));
        Assert.Equal(sha, Sha256Of(await CurlBytesAsync(ApiUrl("isos/testos.iso"))));
    }

    [Fact]
    public async Task Archives_uploaded_to_files_with_explode_unpack_in_place_through_the_api_and_the_cli()
    {
        var tree = Path.Combine(fixture.Work, "archive");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        await File.WriteAllTextAsync(Path.Combine(tree, "sub", "a.txt"), "from the tarball", Ct);
        var targz = Path.Combine(fixture.Work, "bundle.tar.gz");
        Assert.Equal(0, (await RunAsync("tar", ["-czf", targz, "-C", tree, "sub"])).ExitCode);

        var answer = await UploadFileAsync(targz, "bundles/bundle.tar.gz", "?explode=true&sha256=" + Sha256(targz));
        Assert.NotEmpty(answer.GetProperty("Exploded").EnumerateArray());
        Assert.Equal("from the tarball", await CurlTextAsync($"{Http}/files/bundles/sub/a.txt"));

        // The CLI: a corrupt expectation is refused, a right one explodes.
        var refused = await CliAsync("files", "upload", targz, "as", "cli/bundle.tar.gz", "--explode", "--sha256", new string('f', 64));
        Assert.NotEqual(0, refused.ExitCode);
        var uploaded = await CliAsync("files", "upload", targz, "as", "cli/bundle.tar.gz", "--explode", "--sha256", Sha256(targz));
        Assert.True(uploaded.ExitCode == 0, uploaded.Combined);
        Assert.Equal("from the tarball", await CurlTextAsync($"{Http}/files/cli/sub/a.txt"));
        var listed = await CliAsync("files", "list", "cli");
        Assert.Contains("sub/", listed.StandardOutput, StringComparison.Ordinal);
    }

    private async Task<byte[]> CurlBytesAsync(string url)
    {
        var output = Path.Combine(fixture.Work, "download-" + Guid.NewGuid().ToString("N"));
        var result = await RunAsync("curl", ["-sS", "-f", .. ApiAuth, "-o", output, url]);
        Assert.True(result.ExitCode == 0, result.Combined);
        var bytes = await File.ReadAllBytesAsync(output, Ct);
        File.Delete(output);
        return bytes;
    }

    private static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
