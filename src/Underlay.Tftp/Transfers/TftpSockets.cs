using System.Net;
using System.Net.Sockets;

namespace Underlay.Tftp.Transfers;

internal static class TftpSockets
{
    /// <summary>
    /// A socket for one transfer: a fresh ephemeral port is the server's transfer ID (RFC 1350 §4), and binding it
    /// to the address the request arrived on makes every reply come from that address, which the client checks.
    /// Broadcast and multicast destinations cannot be a source, so those fall back to the wildcard address.
    /// </summary>
    public static Socket CreateTransferSocket(IPAddress localAddress, AddressFamily family, bool dualMode)
    {
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = dualMode;
                if (localAddress.AddressFamily == AddressFamily.InterNetwork)
                {
                    localAddress = localAddress.MapToIPv6();
                }
            }

            var wildcard = family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            var bindAddress = IsUnicast(localAddress) ? localAddress : wildcard;
            try
            {
                socket.Bind(new IPEndPoint(bindAddress, 0));
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable && !bindAddress.Equals(wildcard))
            {
                socket.Bind(new IPEndPoint(wildcard, 0));
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static bool IsUnicast(IPAddress address)
    {
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> bytes = stackalloc byte[4];
            address.TryWriteBytes(bytes, out _);
            return bytes[0] is < 224 or > 239;
        }

        return !address.IsIPv6Multicast;
    }

    /// <summary>
    /// True when two socket addresses name the same host and port (the peer's transfer ID). Compares the sockaddr
    /// bytes that identify the peer and ignores the rest (IPv6 flow information, padding). No allocation.
    /// </summary>
    public static bool SameEndPoint(SocketAddress a, SocketAddress b)
    {
        if (a.Family != b.Family)
        {
            return false;
        }

        var x = a.Buffer.Span[..a.Size];
        var y = b.Buffer.Span[..b.Size];
        switch (a.Family)
        {
            case AddressFamily.InterNetwork when x.Length >= 8 && y.Length >= 8:
                // sockaddr_in: family(2) port(2) address(4) zero(8)
                return x.Slice(2, 6).SequenceEqual(y.Slice(2, 6));
            case AddressFamily.InterNetworkV6 when x.Length >= 28 && y.Length >= 28:
                // sockaddr_in6: family(2) port(2) flowinfo(4) address(16) scope(4)
                return x.Slice(2, 2).SequenceEqual(y.Slice(2, 2)) && x.Slice(8, 20).SequenceEqual(y.Slice(8, 20));
            default:
                return x.SequenceEqual(y);
        }
    }
}
