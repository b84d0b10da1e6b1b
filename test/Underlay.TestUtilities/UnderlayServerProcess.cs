using System.Diagnostics;
using System.Text;
using Underlay.Client;

namespace Underlay.TestUtilities;

/// <summary>
/// A real <c>underlayd</c> process on loopback ports with its own data directory, started by a test. Tests talk
/// to it over HTTPS exactly as operators do; it can be stopped, killed with SIGKILL, and restarted on the same
/// data. Only the process this object started is ever signalled.
/// </summary>
public sealed class UnderlayServerProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private readonly bool _ownsDataDirectory;
    private Process? _process;

    /// <param name="networkNamespace">Run inside this namespace (e.g. a <see cref="NetnsLab"/>'s server), reachable at <paramref name="address"/>.</param>
    /// <param name="disableNetworkServices">Turn DHCP, TFTP and PXE off (API-only tests on loopback).</param>
    public UnderlayServerProcess(
        string? dataDirectory = null,
        IReadOnlyList<string>? extraArguments = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? networkNamespace = null,
        string address = "127.0.0.1",
        bool disableNetworkServices = true)
    {
        NetworkNamespace = networkNamespace;
        Address = address;
        DisableNetworkServices = disableNetworkServices;
        _ownsDataDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? RepoPaths.NewTempDirectory("server");
        ExtraArguments = extraArguments ?? [];
        Environment = environment ?? new Dictionary<string, string>();
        ApiPort = FreePorts.Tcp();
        StaticPort = FreePorts.Tcp();
    }

    public string DataDirectory { get; }

    public string? NetworkNamespace { get; }

    /// <summary>The address the API and boot-file listeners bind to and tests connect to.</summary>
    public string Address { get; }

    public bool DisableNetworkServices { get; }

    public IReadOnlyList<string> ExtraArguments { get; }

    public IReadOnlyDictionary<string, string> Environment { get; }

    public int ApiPort { get; }

    public int StaticPort { get; }

    public Uri Endpoint => new($"https://{Address}:{ApiPort}");

    /// <summary>Base URL of the HTTP boot-file server.</summary>
    public Uri FileServer => new($"http://{Address}:{StaticPort}");

    public string CertificateFile => Path.Combine(DataDirectory, "tls", "server.crt");

    public string AdminPassword => File.ReadAllText(Path.Combine(DataDirectory, "secrets", "admin-password")).Trim();

    public int? ProcessId => _process?.Id;

    public string Output
    {
        get { lock (_output) { return _output.ToString(); } }
    }

    /// <summary>Client options for the generated admin user, trusting exactly the server's certificate.</summary>
    public ClientOptions AdminOptions => new()
    {
        Endpoint = Endpoint,
        Username = "admin",
        Password = AdminPassword,
        CaCertificateFile = CertificateFile,
    };

    public UnderlayClient AdminClient() => new(AdminOptions);

    /// <summary>An admin API client whose connections are made inside <see cref="NetworkNamespace"/>.</summary>
    public NamespaceApiClient NamespaceAdminClient() =>
        new(NetworkNamespace ?? throw new InvalidOperationException("the server does not run in a namespace"), Endpoint, "admin", AdminPassword, CertificateFile);

    public UnderlayClient Client(string? user = null, string? password = null, string? token = null) => new(new ClientOptions
    {
        Endpoint = Endpoint,
        Username = user,
        Password = password,
        Token = token,
        CaCertificateFile = CertificateFile,
    });

    /// <summary>Environment for running the CLI against this server as admin.</summary>
    public Dictionary<string, string> CliEnvironment() => new()
    {
        ["UNDERLAY_ENDPOINT"] = Endpoint.ToString().TrimEnd('/'),
        ["UNDERLAY_USERNAME"] = "admin",
        ["UNDERLAY_PASSWORD"] = AdminPassword,
        ["UNDERLAY_CA_CERT"] = CertificateFile,
    };

    public static async Task<UnderlayServerProcess> StartNewAsync(IReadOnlyList<string>? extraArguments = null, CancellationToken cancellationToken = default)
    {
        var server = new UnderlayServerProcess(extraArguments: extraArguments);
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    /// <summary>Starts the process and waits (at most 60 s) until the API answers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(RepoPaths.ServerDll))
        {
            throw new InvalidOperationException($"underlayd is not built: {RepoPaths.ServerDll}");
        }

        var info = new ProcessStartInfo(NetworkNamespace is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var arguments = new List<string>();
        if (NetworkNamespace is not null)
        {
            // `ip netns exec` execs dotnet, so the PID we hold is the server's own.
            arguments.AddRange(["netns", "exec", NetworkNamespace, "dotnet"]);
        }

        arguments.AddRange(
        [
            RepoPaths.ServerDll, "--data-dir", DataDirectory, "--listen-address", Address,
            "--api-port", ApiPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--static-port", StaticPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--disable-metrics",
        ]);
        if (DisableNetworkServices)
        {
            arguments.AddRange(["--disable-dhcp", "--disable-tftp", "--disable-pxe"]);
        }

        foreach (var argument in arguments.Concat(ExtraArguments))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in Environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start underlayd");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"underlayd exited with {process.ExitCode}:\n{Output}");
            }

            if (File.Exists(Path.Combine(DataDirectory, "secrets", "admin-password")) && Output.Contains(" ready: ", StringComparison.Ordinal))
            {
                try
                {
                    if (NetworkNamespace is not null)
                    {
                        // The host namespace cannot reach the lab: ask from inside it.
                        using var inside = NamespaceAdminClient();
                        await inside.InfoAsync(cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    using var client = AdminClient();
                    await client.InfoAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or IOException or TaskCanceledException)
                {
                }
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"underlayd did not become ready in 60 s:\n{Output}");
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or power loss of the process.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM and wait for a clean exit (at most 30 s, then SIGKILL).</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term!.WaitForExitAsync().ConfigureAwait(false);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await KillAsync().ConfigureAwait(false);
        }
    }

    public async Task RestartAsync(bool kill = false, CancellationToken cancellationToken = default)
    {
        if (kill)
        {
            await KillAsync().ConfigureAwait(false);
        }
        else
        {
            await StopAsync().ConfigureAwait(false);
        }

        _process?.Dispose();
        _process = null;
        await StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Length < 4 * 1024 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _process?.Dispose();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
