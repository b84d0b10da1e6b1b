using System.Net;
using System.Net.Sockets;

namespace Underlay.TestUtilities;

/// <summary>Picks unused loopback TCP/UDP ports for servers the tests start.</summary>
public static class FreePorts
{
    private static readonly HashSet<int> Handed = [];

    public static int Tcp()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            lock (Handed)
            {
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("no free TCP port");
    }

    public static int Udp()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            lock (Handed)
            {
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("no free UDP port");
    }
}
