using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Underlay.BootStorm;
using Underlay.Cli.Agent;
using Underlay.Client;

// boot-storm: N simulated machines against a running underlayd; bench/Underlay.BootStorm/run.sh sets up the lab.
var options = StormOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine(StormOptions.Usage);
    return 2;
}

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.TimeoutSeconds));
var storm = new Storm(options);
var report = await storm.RunAsync(timeout.Token);
Console.WriteLine(report);
return 0;

internal sealed class StormOptions
{
    public const string Usage = """
        usage: boot-storm --api https://ADDR:PORT --password-file FILE --cert SERVER.crt [options]
          --mode storm|fleet|load  storm: DHCP relay DORA, TFTP loader, HTTP default.ipxe + kernel + initrd, registration,
                                 workflow; fleet: registration + workflow only (issue 6's fleet benchmark);
                                 load: create N machines (32 requests in flight) and write their UUIDs to --uuids [storm]
          --uuids FILE           load mode: where the UUIDs go
          --machines N           simulated machines, all started at once                                     [100]
          --agent slim|runner    slim: one shared HTTP client doing whoami/create/token, POST /jobs, PATCH job state;
                                 runner: one real AgentRunner per machine (fleet mode only)                  [slim]
          --server ADDR          underlayd's address for DHCP, TFTP and boot files                    [from --api]
          --relay ADDR           our relay address (giaddr); binds ADDR:67 and TFTP sockets              [required for storm]
          --http-port P --tftp-port P --dhcp-port P                                                  [8091 69 67]
          --kernel PATH --initrd PATH   boot files fetched over HTTP after default.ipxe    [bench/vmlinuz bench/initrd.img]
          --tftp-blksize B --tftp-windowsize W                                                          [1468 1]
          --api-connections C    HTTP/1.1 connections to the API (slim)                                      [64]
          --server-pid PID       read the server's CPU seconds and RSS from /proc
          --workflow NAME        the 5-task no-op workflow, created if missing                       [bench-noop]
          --tasks K              tasks in that workflow                                                       [5]
          --timeout S            give up after S seconds                                                    [900]
        Prints one JSON object (the report) on stdout.
        """;

    public string Mode { get; private set; } = "storm";
    public int Machines { get; private set; } = 100;
    public string Agent { get; private set; } = "slim";
    public Uri Api { get; private set; } = new("https://127.0.0.1:8092");
    public string PasswordFile { get; private set; } = "";
    public string CertFile { get; private set; } = "";
    public string UuidsFile { get; private set; } = "";
    public IPAddress? Server { get; private set; }
    public IPAddress? Relay { get; private set; }
    public int HttpPort { get; private set; } = 8091;
    public int TftpPort { get; private set; } = 69;
    public int DhcpPort { get; private set; } = 67;
    public string Kernel { get; private set; } = "bench/vmlinuz";
    public string Initrd { get; private set; } = "bench/initrd.img";
    public int BlockSize { get; private set; } = 1468;
    public int WindowSize { get; private set; } = 1;
    public int ApiConnections { get; private set; } = 64;
    public int ServerPid { get; private set; }
    public string Workflow { get; private set; } = "bench-noop";
    public int Tasks { get; private set; } = 5;
    public int TimeoutSeconds { get; private set; } = 900;

    public static StormOptions? Parse(string[] args)
    {
        var o = new StormOptions();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var v = args[i + 1];
            switch (args[i])
            {
                case "--mode": o.Mode = v; break;
                case "--machines": o.Machines = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--agent": o.Agent = v; break;
                case "--api": o.Api = new Uri(v); break;
                case "--password-file": o.PasswordFile = v; break;
                case "--cert": o.CertFile = v; break;
                case "--uuids": o.UuidsFile = v; break;
                case "--server": o.Server = IPAddress.Parse(v); break;
                case "--relay": o.Relay = IPAddress.Parse(v); break;
                case "--http-port": o.HttpPort = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--tftp-port": o.TftpPort = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--dhcp-port": o.DhcpPort = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--kernel": o.Kernel = v; break;
                case "--initrd": o.Initrd = v; break;
                case "--tftp-blksize": o.BlockSize = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--tftp-windowsize": o.WindowSize = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--api-connections": o.ApiConnections = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--server-pid": o.ServerPid = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--workflow": o.Workflow = v; break;
                case "--tasks": o.Tasks = int.Parse(v, CultureInfo.InvariantCulture); break;
                case "--timeout": o.TimeoutSeconds = int.Parse(v, CultureInfo.InvariantCulture); break;
                default: return null;
            }
        }

        o.Server ??= IPAddress.TryParse(o.Api.Host, out var host) ? host : IPAddress.Loopback;
        var valid = o.PasswordFile.Length > 0 && o.CertFile.Length > 0 && o.Mode is "storm" or "fleet" or "load" && o.Agent is "slim" or "runner"
                    && (o.Mode == "fleet" || (o.Mode == "load" && o.UuidsFile.Length > 0) || (o.Relay is not null && o.Agent == "slim")) && o.Machines > 0;
        return valid ? o : null;
    }
}

/// <summary>One run: set up the workflow, start every machine at once, wait for all, report.</summary>
internal sealed class Storm(StormOptions options)
{
    private readonly Stats _phases = new();
    private readonly Stats _requests = new();
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);
    private HttpClient _api = null!;
    private string _adminToken = "";
    private string _pin = "";
    private long _jobs;
    private int _tftpBusy;

    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        // The API's certificate is the server's self-signed one: pinned (the exact certificate in --cert).
        using var pinned = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(options.CertFile);
        _pin = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(pinned.RawData));
        var apiHandler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.ApiConnections,
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData) },
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        _api = new HttpClient(apiHandler) { BaseAddress = new Uri(options.Api, "/api/v3/"), Timeout = TimeSpan.FromSeconds(120) };
        var password = (await File.ReadAllTextAsync(options.PasswordFile, cancellationToken)).Trim();
        _adminToken = await AdminTokenAsync(password, cancellationToken);
        if (options.Mode == "load")
        {
            return await LoadAsync(cancellationToken);
        }

        await SetUpAsync(cancellationToken);

        var probe = new ServerProbe(options.ServerPid);
        var cpuBefore = probe.CpuSeconds();
        using var sampling = new CancellationTokenSource();
        var sampler = probe.SampleAsync(sampling.Token);
        var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ')[0] : "";

        var clock = Stopwatch.StartNew();
        int completed;
        if (options.Agent == "runner")
        {
            completed = await RunAgentRunnersAsync(cancellationToken);
        }
        else
        {
            await using var relay = options.Mode == "storm" ? new DhcpRelay(options.Relay!, new IPEndPoint(options.Server!, options.DhcpPort)) : null;
            using var bootFiles = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { Timeout = TimeSpan.FromSeconds(120) };
            var salt = (uint)Random.Shared.Next(1, 0x7fff) << 16;
            var results = await Task.WhenAll(Enumerable.Range(0, options.Machines)
                .Select(i => Task.Run(() => MachineAsync(i, salt, relay, bootFiles, clock, cancellationToken), cancellationToken)));
            completed = results.Count(ok => ok);
            if (relay is not null)
            {
                _failures["dhcp_retransmits (not failures)"] = relay.Retransmits;
                _failures["tftp_busy_retries (not failures)"] = _tftpBusy;
            }
        }

        var wall = clock.Elapsed.TotalSeconds;
        await sampling.CancelAsync();
        await sampler;
        var cpu = probe.CpuSeconds() - cpuBefore;
        var loadAfter = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg", cancellationToken)).Split(' ')[0] : "";
        var failed = options.Machines - completed;
        Console.Error.WriteLine($"# {options.Mode}/{options.Agent} N={options.Machines}: {completed} complete, {failed} failed in {wall:0.0} s; " +
                                $"{_jobs} jobs ({_jobs / wall:0} jobs/s); server {cpu:0.0} CPU s, peak RSS {probe.PeakRssKb / 1024} MB; load {load} → {loadAfter}");
        foreach (var name in _phases.Names)
        {
            Console.Error.WriteLine($"#   {name,-10} p50 {_phases.Percentile(name, 50),8:0.0} ms  p99 {_phases.Percentile(name, 99),8:0.0} ms  max {_phases.Percentile(name, 100),8:0.0} ms");
        }

        foreach (var (reason, count) in _failures)
        {
            Console.Error.WriteLine($"#   {count} × {reason}");
        }

        var failures = string.Join(",", _failures.Select(f => $"{JsonSerializer.Serialize(f.Key)}:{f.Value}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"mode\":\"{options.Mode}\",\"agent\":\"{options.Agent}\",\"machines\":{options.Machines},\"completed\":{completed},\"failed\":{failed}," +
            $"\"wall_s\":{wall:0.00},\"jobs\":{_jobs},\"jobs_per_s\":{_jobs / wall:0.0},\"tasks_per_machine\":{options.Tasks}," +
            $"\"server_cpu_s\":{cpu:0.00},\"server_peak_rss_kb\":{probe.PeakRssKb},\"server_hwm_kb\":{probe.StatusKb("VmHWM")}," +
            $"\"load_before\":\"{load}\",\"load_after\":\"{loadAfter}\",\"phases\":{_phases.ToJson()},\"requests\":{_requests.ToJson()},\"failures\":{{{failures}}}}}");
    }

    private async Task<string> AdminTokenAsync(string password, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "users/admin/token?ttl=7200");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{password}")));
        using var response = await _api.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!["Token"]!.GetValue<string>();
    }

    /// <summary>K no-op tasks in one stage, a workflow of that stage then complete; the DHCP subnet for storm mode.</summary>
    private async Task SetUpAsync(CancellationToken cancellationToken)
    {
        var tasks = Enumerable.Range(1, options.Tasks).Select(i => $"{options.Workflow}-{i}").ToList();
        foreach (var task in tasks)
        {
            await EnsureAsync("tasks", $$"""{"Name":"{{task}}","Description":"does nothing (benchmark)"}""", cancellationToken);
        }

        await EnsureAsync("stages", JsonSerializer.Serialize(new Dictionary<string, object> { ["Name"] = options.Workflow, ["Tasks"] = tasks }), cancellationToken);
        await EnsureAsync("workflows", $$"""{"Name":"{{options.Workflow}}","Stages":["{{options.Workflow}}","complete"]}""", cancellationToken);
        if (options.Mode == "storm")
        {
            var net = options.Relay!.GetAddressBytes();
            await EnsureAsync("subnets", $$"""{"Name":"boot-storm","Subnet":"{{net[0]}}.{{net[1]}}.0.0/16","ActiveStart":"{{net[0]}}.{{net[1]}}.1.0","ActiveEnd":"{{net[0]}}.{{net[1]}}.254.254","ActiveLeaseTime":43200,"ReservedLeaseTime":43200,"Options":[{"Code":3,"Value":"{{options.Relay}}"}]}""", cancellationToken);
        }
    }

    private async Task EnsureAsync(string collection, string json, CancellationToken cancellationToken)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, collection, json, _adminToken, null, cancellationToken);
        if (status is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Conflict))
        {
            throw new InvalidOperationException($"POST {collection}: {(int)status} {body}");
        }
    }

    private async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? json, string token, string? kind, CancellationToken cancellationToken, string contentType = "application/json")
    {
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, contentType);
        }

        using var response = await _api.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (kind is not null)
        {
            _requests.Add(kind, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return (response.StatusCode, body);
    }

    private void Fail(string reason)
    {
        lock (_failures)
        {
            _failures[reason] = _failures.GetValueOrDefault(reason) + 1;
        }
    }

    /// <summary>One simulated machine from power-on to a complete workflow; false if any step failed.</summary>
    private async Task<bool> MachineAsync(int index, uint salt, DhcpRelay? relay, HttpClient bootFiles, Stopwatch clock, CancellationToken cancellationToken)
    {
        var mac = new byte[] { 0x02, 0xb5, (byte)(salt >> 24), (byte)(index >> 16), (byte)(index >> 8), (byte)index };
        var macText = string.Join(':', mac.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        var phase = "dhcp";
        var started = Stopwatch.GetTimestamp();
        var phaseStart = started;
        void EndPhase(string next)
        {
            var now = Stopwatch.GetTimestamp();
            _phases.Add(phase, Stopwatch.GetElapsedTime(phaseStart, now).TotalMilliseconds);
            phase = next;
            phaseStart = now;
        }

        try
        {
            if (relay is not null)
            {
                var lease = await relay.DoraAsync(mac, salt | (uint)index, cancellationToken);
                if (lease.BootFile.Length == 0)
                {
                    throw new InvalidOperationException("DHCP answer without a boot file");
                }

                var next = lease.NextServer.Equals(IPAddress.Any) ? lease.ServerId : lease.NextServer;
                EndPhase("tftp");
                // A server at its transfer limit answers ERROR 0 "Server busy, try again later"; firmware then retries
                // its boot (PXE ROMs restart after a few seconds). Here: the same RRQ again after 1-3 s, at most 60 times.
                long bytes = 0;
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        bytes = await TftpFetch.ReadAsync(options.Relay!, new IPEndPoint(next, options.TftpPort), lease.BootFile, options.BlockSize, options.WindowSize, cancellationToken);
                        break;
                    }
                    catch (IOException e) when (e.Message.Contains("busy", StringComparison.OrdinalIgnoreCase) && attempt < 60)
                    {
                        Interlocked.Increment(ref _tftpBusy);
                        await Task.Delay(1000 + Random.Shared.Next(2000), cancellationToken);
                    }
                }

                if (bytes == 0)
                {
                    throw new InvalidOperationException($"TFTP {lease.BootFile}: empty");
                }

                EndPhase("http");
                var baseUri = $"http://{options.Server}:{options.HttpPort}/";
                foreach (var file in new[] { "default.ipxe", options.Kernel, options.Initrd })
                {
                    using var response = await bootFiles.GetAsync(baseUri + file, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        throw new InvalidOperationException($"HTTP {file}: {(int)response.StatusCode}");
                    }

                    await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                    await stream.CopyToAsync(Stream.Null, cancellationToken);
                }

                EndPhase("register");
            }
            else
            {
                phase = "register";
            }

            // Registration as the agent does it: whoami by MAC; unknown → create; then a machine-scoped token.
            var (status, body) = await SendAsync(HttpMethod.Post, "whoami", $$"""{"MacAddrs":["{{macText}}"],"Fingerprint":{},"OnDiskUUID":""}""", _adminToken, "whoami", cancellationToken);
            string uuid;
            if (status == HttpStatusCode.NotFound)
            {
                (status, body) = await SendAsync(HttpMethod.Post, "machines",
                    $$"""{"Name":"{{options.Mode}}{{index:D5}}-{{salt >> 16:x4}}.bench","HardwareAddrs":["{{macText}}"],"Workflow":"{{options.Workflow}}","Runnable":true}""", _adminToken, "machine_create", cancellationToken);
                if (status != HttpStatusCode.Created)
                {
                    throw new InvalidOperationException($"create machine: {(int)status}");
                }
            }
            else if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"whoami: {(int)status}");
            }

            uuid = JsonNode.Parse(body)!["Uuid"]!.GetValue<string>();
            (status, body) = await SendAsync(HttpMethod.Get, $"machines/{uuid}/token", null, _adminToken, "machine_token", cancellationToken);
            if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"machine token: {(int)status}");
            }

            var token = JsonNode.Parse(body)!["Token"]!.GetValue<string>();
            EndPhase("workflow");

            // The runner loop: ask for a job, mark it running, fetch its (empty) actions, report it finished.
            var idle = 0;
            for (var round = 0; round < 20 * options.Tasks + 20; round++)
            {
                (status, body) = await SendAsync(HttpMethod.Post, "jobs", $$"""{"Machine":"{{uuid}}"}""", token, "job_create", cancellationToken);
                if (status == HttpStatusCode.NoContent)
                {
                    break;
                }

                if (status is not (HttpStatusCode.Created or HttpStatusCode.Accepted))
                {
                    // 409: not runnable yet; a short wait, bounded.
                    if (++idle > 20)
                    {
                        throw new InvalidOperationException($"POST jobs: {(int)status}");
                    }

                    await Task.Delay(100, cancellationToken);
                    continue;
                }

                var job = JsonNode.Parse(body)!;
                var state = job["State"]!.GetValue<string>();
                if (state == "finished")
                {
                    continue;
                }

                var jobId = job["Uuid"]!.GetValue<string>();
                (status, _) = await SendAsync(HttpMethod.Patch, $"jobs/{jobId}", $$"""[{"op":"test","path":"/State","value":"{{state}}"},{"op":"replace","path":"/State","value":"running"}]""", token, "job_running", cancellationToken, "application/json-patch+json");
                if (status != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"PATCH job running: {(int)status}");
                }

                (status, _) = await SendAsync(HttpMethod.Get, $"jobs/{jobId}/actions?os=linux", null, token, "job_actions", cancellationToken);
                if (status != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"GET job actions: {(int)status}");
                }

                (status, _) = await SendAsync(HttpMethod.Patch, $"jobs/{jobId}", """[{"op":"test","path":"/State","value":"running"},{"op":"replace","path":"/State","value":"finished"},{"op":"replace","path":"/ExitState","value":"complete"}]""", token, "job_finished", cancellationToken, "application/json-patch+json");
                if (status != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"PATCH job finished: {(int)status}");
                }

                Interlocked.Increment(ref _jobs);
            }

            (status, body) = await SendAsync(HttpMethod.Get, $"machines/{uuid}?slim=Params,Meta", null, token, "machine_get", cancellationToken);
            if (status != HttpStatusCode.OK || JsonNode.Parse(body)!["WorkflowComplete"]?.GetValue<bool>() != true)
            {
                throw new InvalidOperationException("workflow not complete after the last job");
            }

            EndPhase("done");
            _phases.Add("total", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Fail($"{phase}: {e.GetType().Name}: {Trim(e.Message)}");
            return false;
        }
        catch (OperationCanceledException)
        {
            Fail($"{phase}: timed out (run limit)");
            return false;
        }
    }

    /// <summary>Load mode: N machines with a name, a MAC and a param each, as fast as 32 requests in flight allow.</summary>
    private async Task<string> LoadAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var uuids = new string[options.Machines];
        var failed = 0;
        await Parallel.ForAsync(0, options.Machines, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var mac = $"02:00:{i >> 24 & 0xff:x2}:{i >> 16 & 0xff:x2}:{i >> 8 & 0xff:x2}:{i & 0xff:x2}";
            var (status, body) = await SendAsync(HttpMethod.Post, "machines", $$$"""{"Name":"m{{{i:D5}}}.bench","HardwareAddrs":["{{{mac}}}"],"Params":{"bench/index":{{{i}}}}}""", _adminToken, "machine_create", ct);
            if (status == HttpStatusCode.Created)
            {
                uuids[i] = JsonNode.Parse(body)!["Uuid"]!.GetValue<string>();
            }
            else
            {
                Interlocked.Increment(ref failed);
                Fail($"create: {(int)status} {Trim(body)}");
            }
        });
        await File.WriteAllLinesAsync(options.UuidsFile, uuids.Where(u => u is not null), cancellationToken);
        var wall = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"# loaded {options.Machines - failed} machines in {wall:0.0} s ({(options.Machines - failed) / wall:0}/s)");
        foreach (var (reason, count) in _failures)
        {
            Console.Error.WriteLine($"#   {count} × {reason}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{{\"mode\":\"load\",\"machines\":{options.Machines},\"failed\":{failed},\"wall_s\":{wall:0.00},\"requests\":{_requests.ToJson()}}}");
    }

    private static string Trim(string message) => message.Length > 120 ? message[..120] : message;

    /// <summary>Fleet mode with real agents: machines created first (timed as register), then one AgentRunner each.</summary>
    private async Task<int> RunAgentRunnersAsync(CancellationToken cancellationToken)
    {
        var salt = Random.Shared.Next(1, 0xffff);
        var uuids = new Guid[options.Machines];
        var created = Stopwatch.GetTimestamp();
        await Parallel.ForAsync(0, options.Machines, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var (status, body) = await SendAsync(HttpMethod.Post, "machines", $$"""{"Name":"runner{{i:D5}}-{{salt:x4}}.bench","Workflow":"{{options.Workflow}}","Runnable":true}""", _adminToken, "machine_create", ct);
            uuids[i] = status == HttpStatusCode.Created ? Guid.Parse(JsonNode.Parse(body)!["Uuid"]!.GetValue<string>()) : Guid.Empty;
        });
        _phases.Add("register(all)", Stopwatch.GetElapsedTime(created).TotalMilliseconds);
        var state = Directory.CreateTempSubdirectory("boot-storm-agents");
        try
        {
            var connection = new ClientOptions { Endpoint = options.Api, Token = _adminToken, PinnedCertificateSha256 = _pin };
            var exits = await Task.WhenAll(uuids.Select((uuid, i) => Task.Run(async () =>
            {
                if (uuid == Guid.Empty)
                {
                    Fail("register: create failed");
                    return false;
                }

                var started = Stopwatch.GetTimestamp();
                using var runner = new AgentRunner(new AgentOptions { Machine = uuid, StateDirectory = Path.Combine(state.FullName, i.ToString(CultureInfo.InvariantCulture)), ExitOnComplete = true }, connection, TextWriter.Null);
                var exit = await runner.RunAsync(cancellationToken);
                _phases.Add("workflow", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (exit != AgentExit.Complete)
                {
                    Fail($"workflow: agent exit {exit}");
                    return false;
                }

                Interlocked.Add(ref _jobs, options.Tasks);
                return true;
            }, cancellationToken)));
            return exits.Count(ok => ok);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }
}
