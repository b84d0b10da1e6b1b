using System.CommandLine;
using System.Net;
using Underlay.Server.Hosting;

// underlayd: every flag also reads an UNDERLAY_* environment variable (flag wins), like DRP's RS_* variables.
var root = new RootCommand("underlayd: the Underlay provisioning server (DHCP, TFTP, HTTP boot files, /api/v3, workflows)");

static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

Option<T> Flag<T>(string name, string env, string description, Func<string, T> parse, T fallback)
{
    var option = new Option<T>(name)
    {
        Description = $"{description} (env {env})",
        DefaultValueFactory = _ => Env(env) is { } value ? parse(value) : fallback,
        CustomParser = result =>
        {
            // A bare boolean flag (--disable-dhcp) means true.
            if (result.Tokens.Count == 0)
            {
                return typeof(T) == typeof(bool) ? (T)(object)true : fallback;
            }

            try
            {
                return parse(result.Tokens[0].Value);
            }
            catch (FormatException e)
            {
                result.AddError($"{name}: {e.Message}");
                return fallback;
            }
        },
    };
    if (typeof(T) == typeof(bool))
    {
        option.Arity = ArgumentArity.ZeroOrOne;
    }

    root.Options.Add(option);
    return option;
}

static bool Truthy(string value) => value is "1" or "true" or "yes" or "on";

var defaults = new ServerOptions();
var dataDir = Flag("--data-dir", "UNDERLAY_DATA_DIR", "Data directory (database, secrets, TLS, job logs, file root)", v => v, defaults.DataDirectory);
var store = Flag("--store", "UNDERLAY_STORE", "Store: sqlite, sqlite:PATH or memory:", v => v, defaults.Store);
var contentDir = Flag<string?>("--content-dir", "UNDERLAY_CONTENT_DIR", "Built-in content packs (default: content/ beside the binary)", v => v, null);
var listen = Flag("--listen-address", "UNDERLAY_LISTEN_ADDRESS", "Address the TCP listeners bind to", IPAddress.Parse, defaults.ListenAddress);
var staticIp = Flag<IPAddress?>("--static-ip", "UNDERLAY_STATIC_IP", "Address to advertise in boot files when the ingress address is not usable", IPAddress.Parse, null);
var apiPort = Flag("--api-port", "UNDERLAY_API_PORT", "HTTPS API, websocket and UI port", int.Parse, defaults.ApiPort);
var staticPort = Flag("--static-port", "UNDERLAY_STATIC_PORT", "HTTP boot-file port", int.Parse, defaults.StaticPort);
var tftpPort = Flag("--tftp-port", "UNDERLAY_TFTP_PORT", "TFTP port", int.Parse, defaults.TftpPort);
var dhcpPort = Flag("--dhcp-port", "UNDERLAY_DHCP_PORT", "DHCP port", int.Parse, defaults.DhcpPort);
var binlPort = Flag("--binl-port", "UNDERLAY_BINL_PORT", "PXE/BINL port for proxy DHCP", int.Parse, defaults.BinlPort);
var metricsPort = Flag("--metrics-port", "UNDERLAY_METRICS_PORT", "Prometheus metrics port", int.Parse, defaults.MetricsPort);
var disableDhcp = Flag("--disable-dhcp", "UNDERLAY_DISABLE_DHCP", "Do not run the DHCP server", Truthy, false);
var disableTftp = Flag("--disable-tftp", "UNDERLAY_DISABLE_TFTP", "Do not run the TFTP server", Truthy, false);
var disableProvisioner = Flag("--disable-provisioner", "UNDERLAY_DISABLE_PROVISIONER", "Do not serve HTTP boot files", Truthy, false);
var disablePxe = Flag("--disable-pxe", "UNDERLAY_DISABLE_PXE", "Do not answer PXE/BINL on the BINL port", Truthy, false);
var disableMetrics = Flag("--disable-metrics", "UNDERLAY_DISABLE_METRICS", "Do not serve metrics", Truthy, false);
var dhcpInterfaces = Flag("--dhcp-interfaces", "UNDERLAY_DHCP_INTERFACES", "Comma-separated interfaces DHCP listens on (default: all)",
    v => (IReadOnlyList<string>)v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), defaults.DhcpInterfaces);
var dhcpProbeTimeout = Flag("--dhcp-probe-timeout", "UNDERLAY_DHCP_PROBE_TIMEOUT", "Milliseconds an ICMP probe of a new address waits before it is offered; 0 disables probing", int.Parse, defaults.DhcpProbeTimeoutMs);
var dhcpWorkers = Flag("--dhcp-workers", "UNDERLAY_DHCP_WORKERS", "DHCP worker threads per interface (0: one per CPU, at most 8)", int.Parse, defaults.DhcpWorkers);
var tlsCert = Flag<string?>("--tls-cert", "UNDERLAY_TLS_CERT", "PEM certificate for the API (default: self-signed, generated)", v => v, null);
var tlsKey = Flag<string?>("--tls-key", "UNDERLAY_TLS_KEY", "PEM private key for --tls-cert", v => v, null);
var defaultBootEnv = Flag("--default-boot-env", "UNDERLAY_DEFAULT_BOOT_ENV", "Initial defaultBootEnv pref", v => v, defaults.DefaultBootEnv);
var unknownBootEnv = Flag("--unknown-boot-env", "UNDERLAY_UNKNOWN_BOOT_ENV", "Initial unknownBootEnv pref", v => v, defaults.UnknownBootEnv);
var defaultStage = Flag("--default-stage", "UNDERLAY_DEFAULT_STAGE", "Initial defaultStage pref", v => v, defaults.DefaultStage);
var defaultWorkflow = Flag("--default-workflow", "UNDERLAY_DEFAULT_WORKFLOW", "Initial defaultWorkflow pref", v => v, defaults.DefaultWorkflow);

root.SetAction(async (parse, cancellationToken) =>
{
    var options = new ServerOptions
    {
        DataDirectory = Path.GetFullPath(parse.GetValue(dataDir)!),
        Store = parse.GetValue(store)!,
        ContentDirectory = parse.GetValue(contentDir),
        ListenAddress = parse.GetValue(listen)!,
        StaticIp = parse.GetValue(staticIp),
        ApiPort = parse.GetValue(apiPort),
        StaticPort = parse.GetValue(staticPort),
        TftpPort = parse.GetValue(tftpPort),
        DhcpPort = parse.GetValue(dhcpPort),
        BinlPort = parse.GetValue(binlPort),
        MetricsPort = parse.GetValue(metricsPort),
        DisableDhcp = parse.GetValue(disableDhcp),
        DisableTftp = parse.GetValue(disableTftp),
        DisableProvisioner = parse.GetValue(disableProvisioner),
        DisablePxe = parse.GetValue(disablePxe),
        DisableMetrics = parse.GetValue(disableMetrics),
        DhcpInterfaces = parse.GetValue(dhcpInterfaces)!,
        DhcpProbeTimeoutMs = parse.GetValue(dhcpProbeTimeout),
        DhcpWorkers = parse.GetValue(dhcpWorkers),
        TlsCertificate = parse.GetValue(tlsCert),
        TlsKey = parse.GetValue(tlsKey),
        DefaultBootEnv = parse.GetValue(defaultBootEnv)!,
        UnknownBootEnv = parse.GetValue(unknownBootEnv)!,
        DefaultStage = parse.GetValue(defaultStage)!,
        DefaultWorkflow = parse.GetValue(defaultWorkflow)!,
    };
    try
    {
        return await ServerHost.RunAsync(options, cancellationToken).ConfigureAwait(false);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or InvalidOperationException)
    {
        await Console.Error.WriteLineAsync($"underlayd: {e.Message}").ConfigureAwait(false);
        return 1;
    }
});

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
