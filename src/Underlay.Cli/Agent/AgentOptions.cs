namespace Underlay.Cli.Agent;

/// <summary>How <c>underlay agent</c> runs on a machine.</summary>
public sealed record AgentOptions
{
    /// <summary>The machine to run as; found by whoami (or created) when empty.</summary>
    public Guid Machine { get; init; }

    /// <summary>Only run jobs for machines in this context (DRP contexts; empty is the machine itself).</summary>
    public string Context { get; init; } = "";

    /// <summary>Run for a 64 (reboot) exit or a bootenv change; the agent exits after starting it.</summary>
    public string RebootCommand { get; init; } = "reboot";

    /// <summary>Run for a 32 (poweroff) exit.</summary>
    public string PoweroffCommand { get; init; } = "poweroff";

    /// <summary>Remembers the machine UUID across boots (whoami's strongest evidence) and holds task directories.</summary>
    public string StateDirectory { get; init; } = "/var/lib/underlay-agent";

    /// <summary>Exit when the workflow is complete instead of waiting for more work.</summary>
    public bool ExitOnComplete { get; init; }

    /// <summary>Mark the machine Runnable at start (a fresh boot), as DRP's start-up script does.</summary>
    public bool MarkRunnableAtStart { get; init; } = true;

    /// <summary>Longest wait between reconnect attempts when the server is unreachable.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound on how long a quiet wait lasts before the agent re-reads its machine (a missed event never strands it).</summary>
    public TimeSpan IdleRecheck { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often streamed task output is flushed to the job log.</summary>
    public TimeSpan LogFlushInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Extra environment for task scripts (e.g. to pass the CA certificate on).</summary>
    public IReadOnlyDictionary<string, string> ExtraEnvironment { get; init; } = new Dictionary<string, string>();

    public string TaskRoot => Path.Combine(StateDirectory, "tasks");

    public string MachineFile => Path.Combine(StateDirectory, "machine-uuid");
}

/// <summary>Where the agent ended up: what the caller (or the process exit code) acts on.</summary>
public enum AgentExit
{
    /// <summary>Nothing left to do (with <see cref="AgentOptions.ExitOnComplete"/>), or the bootenv is an installer.</summary>
    Complete,

    /// <summary>The reboot command was started.</summary>
    Reboot,

    /// <summary>The poweroff command was started.</summary>
    Poweroff,

    /// <summary>Stopped by the caller.</summary>
    Canceled,
}
