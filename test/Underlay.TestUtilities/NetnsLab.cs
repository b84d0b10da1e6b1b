using System.Globalization;

namespace Underlay.TestUtilities;

/// <summary>
/// A private network made of Linux network namespaces the test creates and removes:
/// <code>
///   ns {prefix}sw  : bridge br0 (the "switch": no STP, forward delay 0, no address)
///   ns {prefix}srv : eth0 {ServerAddress}/{PrefixLength}  &lt;-veth-&gt;  sw:p-srv
///   ns {prefix}cN  : eth0 (no address)                   &lt;-veth-&gt;  sw:p-cN
/// </code>
/// Traffic never leaves these namespaces (nothing is routed to the host). Processes started through the lab are
/// killed by PID and every namespace is deleted on dispose, also after a failed test. Needs root.
/// </summary>
public sealed class NetnsLab : IAsyncDisposable
{
    private readonly List<string> _namespaces = [];
    private readonly List<BackgroundProcess> _processes = [];
    private int _clients;

    private NetnsLab(string prefix, string network, int prefixLength)
    {
        Prefix = prefix;
        Network = network;
        PrefixLength = prefixLength;
    }

    /// <summary>The namespace-name prefix, unique per lab.</summary>
    public string Prefix { get; }

    /// <summary>The first three octets of the lab's addresses, e.g. <c>10.99.0</c>.</summary>
    public string Network { get; }

    public int PrefixLength { get; }

    public string Switch => Prefix + "sw";

    public string Server => Prefix + "srv";

    public string ServerAddress => Network + ".1";

    public static bool IsRoot => Environment.UserName == "root" || (OperatingSystem.IsLinux() && File.Exists("/proc/self/status") &&
        File.ReadLines("/proc/self/status").Any(l => l.StartsWith("Uid:", StringComparison.Ordinal) && l.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "0"));

    /// <summary>Creates the switch and server namespaces and <paramref name="clients"/> client namespaces.</summary>
    public static async Task<NetnsLab> CreateAsync(int clients = 1, string network = "10.99.0", int prefixLength = 24, CancellationToken cancellationToken = default)
    {
        if (!IsRoot)
        {
            throw new InvalidOperationException("network-namespace tests need root (run ./underlay.sh test as root)");
        }

        // Short, unique names: interface and namespace names are limited and shared by the whole host.
        var prefix = "ul" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next())).AsSpan(0, 6).ToString() + "-";
        var lab = new NetnsLab(prefix, network, prefixLength);
        try
        {
            await lab.AddNamespaceAsync(lab.Switch, cancellationToken).ConfigureAwait(false);
            await IpAsync(cancellationToken, "-n", lab.Switch, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0").ConfigureAwait(false);
            await IpAsync(cancellationToken, "-n", lab.Switch, "link", "set", "br0", "up").ConfigureAwait(false);
            await lab.AddNamespaceAsync(lab.Server, cancellationToken).ConfigureAwait(false);
            await IpAsync(cancellationToken, "-n", lab.Switch, "link", "add", "p-srv", "type", "veth", "peer", "name", "eth0", "netns", lab.Server).ConfigureAwait(false);
            await IpAsync(cancellationToken, "-n", lab.Switch, "link", "set", "p-srv", "master", "br0", "up").ConfigureAwait(false);
            await IpAsync(cancellationToken, "-n", lab.Server, "addr", "add", $"{lab.ServerAddress}/{prefixLength}", "dev", "eth0").ConfigureAwait(false);
            await IpAsync(cancellationToken, "-n", lab.Server, "link", "set", "eth0", "up").ConfigureAwait(false);
            for (var i = 0; i < clients; i++)
            {
                await lab.AddClientAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            return lab;
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Adds a client namespace whose eth0 is plugged into the switch, unconfigured; returns its name.</summary>
    public Task<string> AddClientAsync(string? mac = null, CancellationToken cancellationToken = default) =>
        AddClientAsync(mac, "br0", cancellationToken);

    /// <summary>Adds a client namespace whose eth0 is plugged into <paramref name="bridge"/> (see <see cref="AddBridgeAsync"/>).</summary>
    public async Task<string> AddClientAsync(string? mac, string bridge, CancellationToken cancellationToken)
    {
        var index = ++_clients;
        var name = $"{Prefix}c{index}";
        var port = $"p-c{index}";
        await AddNamespaceAsync(name, cancellationToken).ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", Switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name).ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", port, "master", bridge, "up").ConfigureAwait(false);
        if (mac is not null)
        {
            await IpAsync(cancellationToken, "-n", name, "link", "set", "eth0", "address", mac).ConfigureAwait(false);
        }

        await IpAsync(cancellationToken, "-n", name, "link", "set", "eth0", "up").ConfigureAwait(false);
        return name;
    }

    /// <summary>Adds a second L2 segment: another bridge in the switch namespace (for relays between segments).</summary>
    public async Task AddBridgeAsync(string bridge, CancellationToken cancellationToken = default)
    {
        await IpAsync(cancellationToken, "-n", Switch, "link", "add", bridge, "type", "bridge", "forward_delay", "0", "stp_state", "0").ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", bridge, "up").ConfigureAwait(false);
    }

    /// <summary>Plugs a new interface <paramref name="device"/> of namespace <paramref name="ns"/> into <paramref name="bridge"/>.</summary>
    public async Task AddLinkAsync(string ns, string device, string bridge, CancellationToken cancellationToken = default)
    {
        var port = $"p-{++_clients}{device}";
        await IpAsync(cancellationToken, "-n", Switch, "link", "add", port, "type", "veth", "peer", "name", device, "netns", ns).ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", port, "master", bridge, "up").ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", ns, "link", "set", device, "up").ConfigureAwait(false);
    }

    /// <summary>Runs <c>ip -n NS ARGS...</c> and fails on a non-zero exit (addresses, routes, links inside the lab).</summary>
    public Task IpInAsync(string ns, params string[] arguments) => IpAsync(CancellationToken.None, ["-n", ns, .. arguments]);

    /// <summary>Adds a tap device on the switch (for QEMU: <c>-netdev tap,ifname=NAME,script=no,downscript=no</c>).</summary>
    /// <remarks>QEMU must then run inside the switch namespace (<see cref="StartIn"/> with <see cref="Switch"/>).</remarks>
    public async Task<string> AddTapAsync(CancellationToken cancellationToken = default)
    {
        var name = $"tap{++_clients}";
        await IpAsync(cancellationToken, "-n", Switch, "tuntap", "add", "dev", name, "mode", "tap").ConfigureAwait(false);
        await IpAsync(cancellationToken, "-n", Switch, "link", "set", name, "master", "br0", "up").ConfigureAwait(false);
        return name;
    }

    /// <summary>The MAC address of eth0 in a namespace.</summary>
    public async Task<string> MacOfAsync(string ns, CancellationToken cancellationToken = default)
    {
        var result = await RunInAsync(ns, ["cat", "/sys/class/net/eth0/address"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
        return result.StandardOutput.Trim();
    }

    /// <summary>Runs a command to completion inside a namespace, bounded by <paramref name="timeout"/>.</summary>
    public Task<ProcessResult> RunInAsync(string ns, IEnumerable<string> command, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default) =>
        ExternalProcess.RunAsync("ip", ["netns", "exec", ns, .. command], timeout, environment: environment, cancellationToken: cancellationToken);

    /// <summary>Starts a long-running command inside a namespace; the lab kills it on dispose.</summary>
    public BackgroundProcess StartIn(string ns, IEnumerable<string> command, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        // `ip netns exec` execs the command, so the PID we hold is the command's own.
        var process = ExternalProcess.StartBackground("ip", ["netns", "exec", ns, .. command], workingDirectory, environment);
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

    /// <summary>Waits until something listens on a port in a namespace (bounded).</summary>
    public async Task<bool> WaitForPortAsync(string ns, string protocol, int port, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var result = await RunInAsync(ns, ["ss", protocol == "udp" ? "-Hlnu" : "-Hlnt", $"sport = :{port.ToString(CultureInfo.InvariantCulture)}"], TimeSpan.FromSeconds(5), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (result.StandardOutput.Trim().Length > 0)
            {
                return true;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    private async Task AddNamespaceAsync(string name, CancellationToken cancellationToken)
    {
        await IpAsync(cancellationToken, "netns", "add", name).ConfigureAwait(false);
        _namespaces.Add(name);
        await IpAsync(cancellationToken, "-n", name, "link", "set", "lo", "up").ConfigureAwait(false);

        // IPv6 off keeps router solicitations and DAD out of the captures; the lab is IPv4-only.
        await ExternalProcess.RunAsync("ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"],
            TimeSpan.FromSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static async Task IpAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await ExternalProcess.RunAsync("ip", arguments, TimeSpan.FromSeconds(20), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed: {result.Combined}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_processes)
        {
            foreach (var process in _processes)
            {
                process.Dispose();
            }

            _processes.Clear();
        }

        foreach (var name in Enumerable.Reverse(_namespaces))
        {
            await ExternalProcess.RunAsync("ip", ["netns", "del", name], TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        }

        _namespaces.Clear();
    }
}
