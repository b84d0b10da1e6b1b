using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Cli.Agent;

/// <summary>
/// The on-machine runner (DRP's agent state machine): INIT → WAIT_FOR_RUNNABLE → RUN_TASK →
/// WAIT_FOR_STAGE_CHANGE → REBOOT / POWEROFF / EXIT.
/// <list type="bullet">
/// <item>INIT finds (or creates) its machine, switches to a machine-scoped token, fails jobs a previous run left
/// created or running, marks the machine Runnable and opens the machine's event stream.</item>
/// <item>WAIT_FOR_RUNNABLE sleeps until the machine is Runnable; a BootEnv change since start means reboot (or exit,
/// inside an <c>-install</c> bootenv, so an installer finishes on its own).</item>
/// <item>RUN_TASK asks <c>POST /jobs</c> for work, runs the actions, and reports the exit state.</item>
/// <item>WAIT_FOR_STAGE_CHANGE sleeps until the task list changes (a new workflow or stage).</item>
/// </list>
/// Every call to the server is retried with back-off, so the agent rides out a server restart; the job state lives
/// on the server, so nothing finished runs twice.
/// </summary>
public sealed class AgentRunner : IDisposable
{
    private readonly AgentOptions _options;
    private readonly ClientOptions _connection;
    private readonly TextWriter _output;
    private UnderlayClient _client;
    private DateTime _tokenRefreshAt = DateTime.MaxValue;
    private string? _machineToken;

    public AgentRunner(AgentOptions options, ClientOptions connection, TextWriter? output = null)
    {
        _options = options;
        _connection = connection;
        _output = output ?? Console.Error;
        _client = new UnderlayClient(connection);
    }

    public Guid MachineId { get; private set; }

    public async Task<AgentExit> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RunCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return AgentExit.Canceled;
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task<AgentExit> RunCoreAsync(CancellationToken cancellationToken)
    {
        // INIT
        var machine = await IdentifyAsync(cancellationToken).ConfigureAwait(false);
        MachineId = machine.Uuid;
        Log($"running as machine {machine.Name} ({machine.Uuid})");
        await using var watch = new MachineWatch(() => _client, machine.Uuid, _options.MaxReconnectDelay, Log);
        watch.Start();
        await FailLeftoverJobsAsync(machine.Uuid, cancellationToken).ConfigureAwait(false);
        if (_options.MarkRunnableAtStart && !machine.Runnable)
        {
            machine = await PatchMachineAsync(machine.Uuid, """[{"op":"replace","path":"/Runnable","value":true}]""", cancellationToken).ConfigureAwait(false);
        }

        var bootEnvAtStart = machine.BootEnv;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await RefreshTokenIfDueAsync(cancellationToken).ConfigureAwait(false);
            watch.Drain();
            machine = await Retry(ct => _client.GetAsync<Machine>(MachineId.ToString(), ct), cancellationToken).ConfigureAwait(false);

            if (machine.BootEnv != bootEnvAtStart)
            {
                if (machine.BootEnv.EndsWith("-install", StringComparison.Ordinal))
                {
                    Log($"bootenv changed to installer {machine.BootEnv}; exiting so it can finish");
                    return AgentExit.Complete;
                }

                Log($"bootenv changed from {bootEnvAtStart} to {machine.BootEnv}; rebooting");
                return await PowerAsync(_options.RebootCommand, AgentExit.Reboot, cancellationToken).ConfigureAwait(false);
            }

            // WAIT_FOR_RUNNABLE
            if (!machine.Runnable || !machine.Available || machine.Context != _options.Context)
            {
                await watch.WaitAsync(_options.IdleRecheck, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // RUN_TASK
            var (status, job) = await NextJobAsync(cancellationToken).ConfigureAwait(false);
            switch (status)
            {
                case HttpStatusCode.Created or HttpStatusCode.Accepted when job is not null:
                    if (job.State == JobStates.Finished)
                    {
                        // The server rolled the machine into a new bootenv and recorded it as a finished job.
                        continue;
                    }

                    var exit = await RunJobAsync(machine, job, cancellationToken).ConfigureAwait(false);
                    if (exit is { } done)
                    {
                        return done;
                    }

                    continue;
                case HttpStatusCode.NoContent:
                    // WAIT_FOR_STAGE_CHANGE
                    if (_options.ExitOnComplete)
                    {
                        Log(machine.WorkflowComplete ? $"workflow {machine.Workflow} complete" : "nothing left to run");
                        return AgentExit.Complete;
                    }

                    await watch.WaitAsync(_options.IdleRecheck, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    // 409: not runnable (any more); wait for an operator or the engine to change that.
                    await watch.WaitAsync(_options.IdleRecheck, cancellationToken).ConfigureAwait(false);
                    continue;
            }
        }
    }

    /// <summary>Runs one job to its end; returns an exit for reboot/poweroff, null to keep going.</summary>
    private async Task<AgentExit?> RunJobAsync(Machine machine, Job job, CancellationToken cancellationToken)
    {
        var from = job.State;
        var started = await Retry(ct => PatchJobAsync(job.Uuid, $$"""[{"op":"test","path":"/State","value":"{{from}}"},{"op":"replace","path":"/State","value":"running"}]""", ct), cancellationToken).ConfigureAwait(false);
        if (started is null)
        {
            // Someone else moved the job on (another agent, an operator); ask again.
            return null;
        }

        Log($"job {job.Uuid}: task {job.Task}");
        var actionsResponse = await Retry(ct => _client.SendAsync(HttpMethod.Get, $"jobs/{job.Uuid}/actions?os=linux", cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        int code;
        if (!actionsResponse.IsSuccess)
        {
            var message = $"could not render task {job.Task}: {actionsResponse.Text}\n";
            await AppendLogAsync(job.Uuid, Encoding.UTF8.GetBytes(message), cancellationToken).ConfigureAwait(false);
            Log(message.TrimEnd());
            code = 1;
        }
        else
        {
            var actions = JsonSerializer.Deserialize(actionsResponse.Body, UnderlayJsonContext.Default.ListJobAction) ?? [];
            var executor = new TaskExecutor(_options, (bytes, ct) => AppendLogAsync(job.Uuid, bytes, ct), Log);
            try
            {
                code = await executor.RunAsync(job, actions, ScriptEnvironment(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                await AppendLogAsync(job.Uuid, Encoding.UTF8.GetBytes($"the agent could not run the task: {e.Message}\n"), cancellationToken).ConfigureAwait(false);
                code = 1;
            }
        }

        var (state, exitState) = ExitCodes.Classify(code);
        Log($"job {job.Uuid}: task {job.Task} exited {code} ({state}, {exitState})");
        await Retry(ct => PatchJobAsync(job.Uuid, $$"""[{"op":"test","path":"/State","value":"running"},{"op":"replace","path":"/State","value":"{{state}}"},{"op":"replace","path":"/ExitState","value":"{{exitState}}"}]""", ct), cancellationToken).ConfigureAwait(false);

        switch (exitState)
        {
            case "reboot":
                return await PowerAsync(_options.RebootCommand, AgentExit.Reboot, cancellationToken).ConfigureAwait(false);
            case "poweroff":
                return await PowerAsync(_options.PoweroffCommand, AgentExit.Poweroff, cancellationToken).ConfigureAwait(false);
        }

        if (state == JobStates.Failed)
        {
            // A retry the server allowed (task-retry) waits 2 s, 4 s, 8 s ... as DRP's runner does.
            var current = await Retry(ct => _client.GetAsync<Machine>(MachineId.ToString(), ct), cancellationToken).ConfigureAwait(false);
            if (current.Runnable && current.RetryTaskAttempt > 0)
            {
                var delay = TimeSpan.FromSeconds(Math.Min(60, 2 << Math.Min(5, current.RetryTaskAttempt - 1)));
                Log($"retrying task {job.Task} in {delay.TotalSeconds:0} s (attempt {current.RetryTaskAttempt})");
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
    }

    private Dictionary<string, string> ScriptEnvironment()
    {
        var endpoint = _connection.Endpoint.ToString().TrimEnd('/');
        var token = _machineToken ?? _connection.Token ?? "";
        var environment = new Dictionary<string, string>(_options.ExtraEnvironment)
        {
            ["RS_UUID"] = MachineId.ToString(),
            ["RS_TOKEN"] = token,
            ["RS_ENDPOINT"] = endpoint,
            ["UNDERLAY_UUID"] = MachineId.ToString(),
            ["UNDERLAY_TOKEN"] = token,
            ["UNDERLAY_ENDPOINT"] = endpoint,
        };
        if (_connection.CaCertificateFile is { } ca)
        {
            environment["UNDERLAY_CA_CERT"] = ca;
        }

        if (_connection.PinnedCertificateSha256 is { } pin)
        {
            environment["UNDERLAY_CERT_SHA256"] = pin;
        }

        if (_connection.Insecure)
        {
            environment["UNDERLAY_INSECURE"] = "1";
        }

        return environment;
    }

    private async Task<AgentExit> PowerAsync(string command, AgentExit exit, CancellationToken cancellationToken)
    {
        Log($"running '{command}'");
        try
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", command }, UseShellExecute = false })
                                ?? throw new InvalidOperationException("could not start /bin/sh");
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Log($"'{command}' failed: {e.Message}");
        }

        return exit;
    }

    // ---- identity and tokens ------------------------------------------------------------------------------

    private async Task<Machine> IdentifyAsync(CancellationToken cancellationToken)
    {
        var id = _options.Machine;
        if (id == Guid.Empty && File.Exists(_options.MachineFile) && Guid.TryParse(await File.ReadAllTextAsync(_options.MachineFile, cancellationToken).ConfigureAwait(false), out var remembered))
        {
            id = remembered;
        }

        var macs = Identity.MacAddresses();
        var request = new WhoamiRequest { MacAddrs = macs, Fingerprint = Identity.Fingerprint(), OnDiskUUID = id == Guid.Empty ? "" : id.ToString() };
        Machine? machine = null;
        if (_options.Machine != Guid.Empty)
        {
            machine = await Retry(ct => _client.GetAsync<Machine>(_options.Machine.ToString(), ct), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var found = await WhoamiAsync(request, cancellationToken).ConfigureAwait(false);
            if (found is null)
            {
                var created = new Machine { Name = Identity.SuggestedName(macs), HardwareAddrs = macs, Fingerprint = request.Fingerprint };
                Log($"no machine matches this hardware; creating {created.Name}");
                machine = await Retry(async ct => (Machine)await _client.CreateAsync(created, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                request.OnDiskUUID = machine.Uuid.ToString();
                found = await WhoamiAsync(request, cancellationToken).ConfigureAwait(false);
            }

            if (found is { Token.Length: > 0 })
            {
                UseMachineToken(found.Token);
            }

            machine ??= await Retry(ct => _client.GetAsync<Machine>(found!.Uuid.ToString(), ct), cancellationToken).ConfigureAwait(false);
        }

        MachineId = machine.Uuid;
        if (_machineToken is null && _connection.Token is null)
        {
            // User credentials work, but scripts and the agent itself should hold only this machine's rights.
            await RefreshMachineTokenAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            Directory.CreateDirectory(_options.StateDirectory);
            await File.WriteAllTextAsync(_options.MachineFile, machine.Uuid.ToString(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log($"cannot remember the machine UUID in {_options.MachineFile}: {e.Message}");
        }

        return machine;
    }

    private async Task<WhoamiResult?> WhoamiAsync(WhoamiRequest request, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, UnderlayJsonContext.Default.WhoamiRequest);
        var response = await Retry(ct => _client.SendAsync(HttpMethod.Post, "whoami", body, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        return JsonSerializer.Deserialize(UnderlayClient.EnsureSuccess(response).Body, UnderlayJsonContext.Default.WhoamiResult);
    }

    private async Task RefreshTokenIfDueAsync(CancellationToken cancellationToken)
    {
        if (_machineToken is not null && DateTime.UtcNow >= _tokenRefreshAt)
        {
            await RefreshMachineTokenAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RefreshMachineTokenAsync(CancellationToken cancellationToken)
    {
        var response = await Retry(ct => _client.SendAsync(HttpMethod.Get, $"machines/{MachineId}/token", cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            Log($"cannot get a machine token ({(int)response.Status}); keeping the credentials given");
            return;
        }

        var token = JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.UserToken)!;
        UseMachineToken(token.Token);

        // Renew at three quarters of the lifetime.
        _tokenRefreshAt = DateTime.UtcNow + ((token.ExpiresAt - DateTime.UtcNow) * 0.75);
    }

    private void UseMachineToken(string token)
    {
        _machineToken = token;
        var previous = _client;
        _client = new UnderlayClient(_connection with { Token = token, Username = null, Password = null });
        _tokenRefreshAt = DateTime.UtcNow.AddMinutes(30);
        previous.Dispose();
    }

    // ---- server calls -------------------------------------------------------------------------------------

    private async Task FailLeftoverJobsAsync(Guid machine, CancellationToken cancellationToken)
    {
        var leftovers = await Retry(ct => _client.ListAsync(ModelTypes.Jobs, $"Machine={machine}&State=In(created,running)", ct), cancellationToken).ConfigureAwait(false);
        foreach (var job in leftovers.Cast<Job>())
        {
            Log($"failing job {job.Uuid} ({job.Task}) left {job.State} by an earlier run");
            await Retry(ct => PatchJobAsync(job.Uuid, $$"""[{"op":"test","path":"/State","value":"{{job.State}}"},{"op":"replace","path":"/State","value":"failed"}]""", ct), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(HttpStatusCode Status, Job? Job)> NextJobAsync(CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new JobRequest { Machine = MachineId, Context = _options.Context }, UnderlayJsonContext.Default.JobRequest);
        var response = await Retry(ct => _client.SendAsync(HttpMethod.Post, "jobs", body, cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        if (response.Status is HttpStatusCode.Created or HttpStatusCode.Accepted)
        {
            return (response.Status, (Job)ModelTypes.Jobs.Deserialize(response.Body, UnderlayJson.LenientInput));
        }

        return (response.Status, null);
    }

    /// <summary>Patches a job; null when a <c>test</c> op failed (409: the job moved on without us).</summary>
    private async Task<Job?> PatchJobAsync(Guid job, string patch, CancellationToken cancellationToken)
    {
        var response = await _client.SendAsync(HttpMethod.Patch, $"jobs/{job}", Encoding.UTF8.GetBytes(patch), "application/json-patch+json", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.Status == HttpStatusCode.Conflict)
        {
            return null;
        }

        return (Job)ModelTypes.Jobs.Deserialize(UnderlayClient.EnsureSuccess(response).Body, UnderlayJson.LenientInput);
    }

    private Task<Machine> PatchMachineAsync(Guid machine, string patch, CancellationToken cancellationToken) =>
        Retry(async ct => (Machine)await _client.PatchAsync(ModelTypes.Machines, machine.ToString(), patch, ct).ConfigureAwait(false), cancellationToken);

    private Task<ApiResponse> AppendLogAsync(Guid job, byte[] bytes, CancellationToken cancellationToken) =>
        Retry(async ct => UnderlayClient.EnsureSuccess(await _client.SendAsync(HttpMethod.Put, $"jobs/{job}/log", bytes, "application/octet-stream", cancellationToken: ct).ConfigureAwait(false)), cancellationToken);

    /// <summary>
    /// Retries while the server is unreachable or briefly unable to answer (5xx), with back-off up to
    /// <see cref="AgentOptions.MaxReconnectDelay"/>: an agent outlives server restarts. 4xx answers are not retried.
    /// </summary>
    private async Task<T> Retry<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        var reported = false;
        while (true)
        {
            try
            {
                var result = await call(cancellationToken).ConfigureAwait(false);
                if (result is ApiResponse { Status: >= HttpStatusCode.InternalServerError } failed)
                {
                    throw new HttpRequestException($"server answered {(int)failed.Status}");
                }

                if (reported)
                {
                    Log("server reachable again");
                }

                return result;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested &&
                                      (e is HttpRequestException or TaskCanceledException or IOException ||
                                       e is UnderlayApiException { Code: >= 500 or 0 }))
            {
                if (!reported)
                {
                    Log($"server unreachable ({e.Message}); retrying");
                    reported = true;
                }

                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            }
        }
    }

    private void Log(string message)
    {
        lock (_output)
        {
            _output.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} agent: {message}");
            _output.Flush();
        }
    }
}
