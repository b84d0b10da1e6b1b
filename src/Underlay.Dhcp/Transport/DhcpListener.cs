using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Underlay.Dhcp.Engine;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Transport;

/// <summary>An IPv4 interface as the listener needs it.</summary>
internal sealed record InterfaceInfo(int Index, string Name, (uint Address, uint Mask)[] Addresses, bool IsLoopback)
{
    public string AddressText => Addresses.Length == 0 ? "no IPv4 address" : string.Join(", ", Addresses.Select(a => OptionValues.FormatAddress(a.Address)));

    /// <summary>The up interfaces with an IPv4 index.</summary>
    public static List<InterfaceInfo> Scan()
    {
        var result = new List<InterfaceInfo>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus is OperationalStatus.Down or OperationalStatus.NotPresent || !nic.Supports(NetworkInterfaceComponent.IPv4))
            {
                continue;
            }

            var properties = nic.GetIPProperties();
            var addresses = new List<(uint, uint)>();
            foreach (var unicast in properties.UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork)
                {
                    var prefix = unicast.PrefixLength;
                    addresses.Add((OptionValues.FromIPAddress(unicast.Address), prefix == 0 ? 0u : uint.MaxValue << (32 - prefix)));
                }
            }

            int index;
            try
            {
                index = properties.GetIPv4Properties().Index;
            }
            catch (NetworkInformationException)
            {
                continue;
            }

            result.Add(new InterfaceInfo(index, nic.Name, [.. addresses], nic.NetworkInterfaceType == NetworkInterfaceType.Loopback));
        }

        return result;
    }
}

/// <summary>
/// One UDP socket on one interface and port, with its worker threads.
/// <para>
/// Why one socket per interface: replies to clients without an address are broadcast, and a broadcast must leave
/// through the interface the request came in on. A socket bound to 0.0.0.0 would send it wherever the routing
/// table says (or fail without a route). <c>SO_BINDTODEVICE</c> pins each socket to its interface, so the ingress
/// interface is the socket's own (IP_PKTINFO confirms it), and every reply — broadcast, unicast to a renewing
/// client, or to a relay — leaves through it. All sockets share the port with <c>SO_REUSEADDR</c>.
/// </para>
/// <para>
/// Threads: <see cref="DhcpServerOptions.Workers"/> threads block in <c>recvmsg</c> on the same socket; the kernel
/// hands each datagram to one of them, which handles it start to finish (parse, lease decision, reply) with its
/// own reused buffers. A receive timeout lets the threads notice shutdown; no exception from one packet ends a
/// thread.
/// </para>
/// </summary>
internal sealed class DhcpListener : IReplySender, IDisposable
{
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    private readonly DhcpEngine _engine;
    private readonly DhcpCounters _counters;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly Thread[] _threads;
    private readonly int _port;
    private volatile bool _stopping;

    [ThreadStatic]
    private static SocketAddress? t_destination;

    private DhcpListener(InterfaceInfo nic, int port, bool binl, int workers, DhcpEngine engine, DhcpCounters counters, ILogger logger)
    {
        Interface = nic;
        _port = port;
        _engine = engine;
        _counters = counters;
        _logger = logger;
        Ingress = new Ingress { Sender = this, InterfaceIndex = nic.Index, InterfaceName = nic.Name, Addresses = nic.Addresses, Binl = binl };
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            var name = Encoding.ASCII.GetBytes(nic.Name + "\0");
            _socket.SetRawSocketOption(SolSocket, SoBindToDevice, name);
            _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Broadcast, true);
            _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);

            // Bursts (perfdhcp, a rack powering on) must queue rather than drop while workers are busy.
            _socket.ReceiveBufferSize = 4 * 1024 * 1024;
            _socket.ReceiveTimeout = 1000;
            _socket.Bind(new IPEndPoint(IPAddress.Any, port));
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _threads = new Thread[Math.Max(1, workers)];
        for (var i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(ReceiveLoop) { IsBackground = true, Name = $"dhcp-{nic.Name}-{port}-{i}" };
        }
    }

    public InterfaceInfo Interface { get; private set; }

    public Ingress Ingress { get; private set; }

    public string InterfaceName => Interface.Name;

    public static DhcpListener Start(InterfaceInfo nic, int port, bool binl, int workers, DhcpEngine engine, DhcpCounters counters, ILogger logger)
    {
        var listener = new DhcpListener(nic, port, binl, workers, engine, counters, logger);
        foreach (var thread in listener._threads)
        {
            thread.Start();
        }

        Log.Listening(logger, nic.Name, nic.AddressText, port, listener._threads.Length);
        return listener;
    }

    /// <summary>New addresses on the same interface: later packets see them (the socket stays).</summary>
    public void UpdateAddresses(InterfaceInfo nic)
    {
        Interface = nic;
        Ingress = new Ingress { Sender = this, InterfaceIndex = nic.Index, InterfaceName = nic.Name, Addresses = nic.Addresses, Binl = Ingress.Binl };
    }

    public void Send(ReadOnlySpan<byte> datagram, uint address, int port)
    {
        var destination = t_destination ??= new IPEndPoint(IPAddress.Any, 0).Serialize();

        // sockaddr_in: family, then port and address in network order.
        destination[2] = (byte)(port >> 8);
        destination[3] = (byte)port;
        destination[4] = (byte)(address >> 24);
        destination[5] = (byte)(address >> 16);
        destination[6] = (byte)(address >> 8);
        destination[7] = (byte)address;
        _socket.SendTo(datagram, SocketFlags.None, destination);
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[DhcpMessage.MaxPacketLength];
        var context = new DhcpContext();
        EndPoint remote = new IPEndPoint(IPAddress.Any, 0);
        while (!_stopping)
        {
            int length;
            IPPacketInformation packetInformation;
            var flags = SocketFlags.None;
            try
            {
                length = _socket.ReceiveMessageFrom(buffer, 0, buffer.Length, ref flags, ref remote, out packetInformation);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
            {
                continue;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Shutdown or SocketError.NotSocket)
            {
                break;
            }
            catch (SocketException e)
            {
                // ICMP port-unreachable from an earlier send and the like: not fatal for the listener.
                if (!_stopping)
                {
                    Log.ReceiveFailed(_logger, Interface.Name, e.SocketErrorCode.ToString());
                }

                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            if ((flags & SocketFlags.Truncated) != 0)
            {
                _counters.CountMalformed(ParseStatus.TooLarge);
                continue;
            }

            // IP_PKTINFO names the ingress interface; with SO_BINDTODEVICE it is always ours.
            _ = packetInformation.Interface;
            var source = (IPEndPoint)remote;
            try
            {
                _engine.Process(context, buffer, length, Ingress, OptionValues.FromIPAddress(source.Address), source.Port);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A bug must cost one packet, never the listener.
                Log.WorkerFailed(_logger, e, Interface.Name);
                context = new DhcpContext();
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(3));
        }

        _socket.Dispose();
        Log.StoppedListening(_logger, Interface.Name, _port);
    }
}
