namespace Underlay.Core.Models;

/// <summary>One rendered step of a job (DRP <c>models.JobAction</c>): a file to write when <see cref="Path"/> is set, else a script to run.</summary>
public sealed class JobAction
{
    public string Name { get; set; } = "";

    public string Path { get; set; } = "";

    public string Content { get; set; } = "";

    public Dictionary<string, string> Meta { get; set; } = [];
}

/// <summary>The body of <c>POST /api/v3/jobs</c>: which machine wants its next job, in which context.</summary>
public sealed class JobRequest
{
    public Guid Machine { get; set; }

    public string Context { get; set; } = "";
}

/// <summary>What <c>POST /api/v3/whoami</c> is told about the hardware asking.</summary>
public sealed class WhoamiRequest
{
    public List<string> MacAddrs { get; set; } = [];

    public MachineFingerprint Fingerprint { get; set; } = new();

    /// <summary>A machine UUID remembered on disk by an earlier agent run (strongest evidence).</summary>
    public string OnDiskUUID { get; set; } = "";
}

/// <summary>The answer of <c>POST /api/v3/whoami</c>.</summary>
public sealed class WhoamiResult
{
    public Guid Uuid { get; set; }

    public int Score { get; set; }

    /// <summary>A machine-scoped token, when the caller is a discovery (unknown-machine) principal.</summary>
    public string Token { get; set; } = "";
}

/// <summary>
/// DRP's agent exit codes (<c>sane-exit-codes</c>): bit flags over 0 = success. Anything that is not one of the
/// listed combinations is a failure.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Stop = 16;
    public const int Poweroff = 32;
    public const int Reboot = 64;
    public const int Incomplete = 128;

    /// <summary>Maps a script's exit code to the job's final state and exit state.</summary>
    public static (string State, string ExitState) Classify(int code) => code switch
    {
        Success => (JobStates.Finished, "complete"),
        Stop => (JobStates.Finished, "stop"),
        Poweroff => (JobStates.Finished, "poweroff"),
        Reboot => (JobStates.Finished, "reboot"),
        Incomplete => (JobStates.Incomplete, "complete"),
        Incomplete | Stop => (JobStates.Incomplete, "stop"),
        Incomplete | Poweroff => (JobStates.Incomplete, "poweroff"),
        Incomplete | Reboot => (JobStates.Incomplete, "reboot"),
        _ => (JobStates.Failed, "failed"),
    };
}
