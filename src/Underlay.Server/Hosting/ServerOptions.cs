using System.Net;

namespace Underlay.Server.Hosting;

/// <summary>
/// Everything <c>underlayd</c> can be told at start, from flags or <c>UNDERLAY_*</c> environment variables.
/// Defaults follow DRP's ports and are safe: DHCP answers nobody until a subnet or reservation exists.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Holds the database, secrets, TLS material, job logs and the boot file root.</summary>
    public string DataDirectory { get; init; } = "/var/lib/underlay";

    /// <summary><c>sqlite</c> (under the data directory), <c>sqlite:PATH</c> or <c>memory:</c>.</summary>
    public string Store { get; init; } = "sqlite";

    /// <summary>Where built-in content packs live; defaults to <c>content/</c> beside the binary.</summary>
    public string? ContentDirectory { get; init; }

    public IPAddress ListenAddress { get; init; } = IPAddress.Any;

    /// <summary>The address put into boot files and DHCP replies when the ingress address is not usable.</summary>
    public IPAddress? StaticIp { get; init; }

    /// <summary>DRP's port for the HTTPS API, websocket and UI.</summary>
    public int ApiPort { get; init; } = 8092;

    /// <summary>DRP's port for HTTP boot files and renders.</summary>
    public int StaticPort { get; init; } = 8091;

    public int TftpPort { get; init; } = 69;

    public int DhcpPort { get; init; } = 67;

    /// <summary>PXE/BINL (proxy DHCP follow-up requests).</summary>
    public int BinlPort { get; init; } = 4011;

    public int MetricsPort { get; init; } = 8080;

    public bool DisableDhcp { get; init; }

    public bool DisableTftp { get; init; }

    public bool DisableProvisioner { get; init; }

    public bool DisablePxe { get; init; }

    public bool DisableMetrics { get; init; }

    /// <summary>Interfaces DHCP listens on; empty means all.</summary>
    public IReadOnlyList<string> DhcpInterfaces { get; init; } = [];

    /// <summary>ICMP probe of a never-used address before it is first offered, in milliseconds; 0 turns probing off.</summary>
    public int DhcpProbeTimeoutMs { get; init; } = 500;

    /// <summary>DHCP worker threads per interface; 0 means one per CPU (at most 8).</summary>
    public int DhcpWorkers { get; init; }

    public string? TlsCertificate { get; init; }

    public string? TlsKey { get; init; }

    public string DefaultBootEnv { get; init; } = "local";

    public string UnknownBootEnv { get; init; } = "ignore";

    public string DefaultStage { get; init; } = "none";

    public string DefaultWorkflow { get; init; } = "";

    public string SecretsDirectory => Path.Combine(DataDirectory, "secrets");

    public string TlsDirectory => Path.Combine(DataDirectory, "tls");

    public string FileRoot => Path.Combine(DataDirectory, "tftpboot");

    public string JobLogDirectory => Path.Combine(DataDirectory, "job-logs");

    public string ResolvedContentDirectory => ContentDirectory ?? Path.Combine(AppContext.BaseDirectory, "content");
}
