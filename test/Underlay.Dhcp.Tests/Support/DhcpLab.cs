using Underlay.Core.Models;
using Underlay.TestUtilities;

namespace Underlay.Dhcp.Tests.Support;

/// <summary>
/// A lab network (namespaces made and removed by the test) with the real <c>underlayd</c> serving DHCP on the
/// server namespace's eth0, an API client that connects from inside the lab, and helpers to run real DHCP clients
/// (busybox udhcpc, ISC dhclient) in client namespaces with scripts that record what they were given.
/// </summary>
internal sealed class DhcpLab : IAsyncDisposable
{
    private DhcpLab(NetnsLab net, UnderlayServerProcess server, string directory)
    {
        Net = net;
        Server = server;
        Directory = directory;
        Api = server.NamespaceAdminClient();
    }

    public NetnsLab Net { get; }

    public UnderlayServerProcess Server { get; }

    public NamespaceApiClient Api { get; }

    /// <summary>Scratch space for client scripts, lease files and logs.</summary>
    public string Directory { get; }

    public static async Task<DhcpLab> StartAsync(int clients, IReadOnlyList<string>? arguments = null, string? dataDirectory = null, CancellationToken cancellationToken = default)
    {
        Assert.SkipUnless(NetnsLab.IsRoot, "network-namespace tests need root");
        var net = await NetnsLab.CreateAsync(clients, cancellationToken: cancellationToken);
        var directory = RepoPaths.NewTempDirectory("dhcp-lab");
        try
        {
            var server = new UnderlayServerProcess(
                dataDirectory: dataDirectory,
                extraArguments: ["--disable-tftp", "--dhcp-interfaces", "eth0", .. arguments ?? ["--dhcp-probe-timeout", "0"]],
                environment: new Dictionary<string, string> { ["UNDERLAY_LOG_LEVEL"] = "Debug" },
                networkNamespace: net.Server,
                address: net.ServerAddress,
                disableNetworkServices: false);
            await server.StartAsync(cancellationToken);
            return new DhcpLab(net, server, directory);
        }
        catch
        {
            await net.DisposeAsync();
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    public string Client(int index) => $"{Net.Prefix}c{index}";

    /// <summary>Creates the subnet and waits until the DHCP server has picked it up.</summary>
    public async Task<Subnet> AddSubnetAsync(Subnet subnet)
    {
        var created = await Api.CreateAsync(subnet);
        await WaitForOutputAsync($"DHCP configuration: ", TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        return created;
    }

    public async Task AddAsync<T>(T model)
        where T : ModelBase
    {
        await Api.CreateAsync(model);
        await Task.Delay(300);
    }

    public async Task WaitForOutputAsync(string marker, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Server.Output.Contains(marker, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"server never logged '{marker}':\n{Server.Output}");
            await Task.Delay(50);
        }
    }

    public async Task<List<Lease>> LeasesAsync() => await Api.ListAsync<Lease>();

    /// <summary>Polls the API (the lease is written in the background) until a lease matches.</summary>
    public async Task<Lease> WaitForLeaseAsync(string address, string state, TimeSpan? timeout = null, Func<Lease, bool>? also = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        List<Lease> leases = [];
        while (DateTime.UtcNow < deadline)
        {
            leases = await LeasesAsync();
            if (leases.FirstOrDefault(l => l.Addr == address) is { } lease && lease.State == state && (also is null || also(lease)))
            {
                return lease;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"no lease {address} in state {state}; leases: {string.Join(", ", leases.Select(l => $"{l.Addr}={l.State}/{l.Token}"))}\n{Tail(Server.Output)}");
        throw new InvalidOperationException();
    }

    /// <summary>A udhcpc script that configures the address and appends one line per event to <c>LOG</c>.</summary>
    public (string Script, string Log) UdhcpcScript(string name)
    {
        var log = Path.Combine(Directory, name + ".events");
        var script = Path.Combine(Directory, name + ".sh");
        var ip = IpBinary();
        File.WriteAllText(script, $"""
            #!/bin/sh
            case "$1" in
              bound|renew) {ip} addr replace "$ip/$mask" dev "$interface" ;;
              deconfig) {ip} addr flush dev "$interface" ;;
            esac
            echo "$1 ip=$ip boot_file=$boot_file siaddr=$siaddr sname=$sname serverid=$serverid lease=$lease router=$router" >> {log}
            exit 0

            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (script, log);
    }

    /// <summary>A dhclient script (dhclient scrubs the environment, so paths are written in).</summary>
    public (string Script, string Log) DhclientScript(string name)
    {
        var log = Path.Combine(Directory, name + ".events");
        var script = Path.Combine(Directory, name + ".sh");
        var ip = IpBinary();
        File.WriteAllText(script, $"""
            #!/bin/sh
            case "$reason" in
              BOUND|RENEW|REBIND|REBOOT) {ip} addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
              RELEASE|EXPIRE|STOP) {ip} addr flush dev "$interface" ;;
            esac
            echo "$reason ip=$new_ip_address server=$new_dhcp_server_identifier file=$new_filename lease=$new_dhcp_lease_time" >> {log}
            exit 0

            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (script, log);
    }

    public static string[] Events(string log) => File.Exists(log) ? File.ReadAllLines(log) : [];

    /// <summary>Waits until the client's event log has a line starting with <paramref name="prefix"/> beyond the first <paramref name="skip"/>.</summary>
    public async Task<string> WaitForEventAsync(string log, string prefix, int skip = 0, TimeSpan? timeout = null, BackgroundProcess? process = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            var line = Events(log).Skip(skip).FirstOrDefault(l => l.StartsWith(prefix + " ", StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"client never reported '{prefix}'; events: {string.Join(" | ", Events(log))}\nclient: {process?.Output}\n{Tail(Server.Output)}");
        throw new InvalidOperationException();
    }

    /// <summary>One udhcpc run that exits after the lease (or after ~4 s without one).</summary>
    public Task<ProcessResult> UdhcpcOnceAsync(string ns, string script, params string[] extra) =>
        Net.RunInAsync(ns, ["busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "4", "-T", "1", "-A", "1", "-s", script, .. extra], TimeSpan.FromSeconds(30));

    public static string Value(string line, string key)
    {
        foreach (var part in line.Split(' '))
        {
            if (part.StartsWith(key + "=", StringComparison.Ordinal))
            {
                return part[(key.Length + 1)..];
            }
        }

        return "";
    }

    public static string Tail(string text, int lines = 60) => string.Join('\n', text.Split('\n').TakeLast(lines));

    private static string IpBinary() => new[] { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" }.First(File.Exists);

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Server.DisposeAsync();
        await Net.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
