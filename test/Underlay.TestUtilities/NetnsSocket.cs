using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Underlay.TestUtilities;

/// <summary>
/// Creates sockets inside a network namespace from the test process: a dedicated thread joins the namespace
/// (<c>setns</c>, which changes only the calling thread), creates the socket, and ends; the socket stays in that
/// namespace wherever it is used. Lets a test speak a protocol itself (a PXE ROM's exchange, a relay) from
/// inside a lab namespace. Needs root.
/// </summary>
public static partial class NetnsSocket
{
    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    /// <summary>A UDP socket created in namespace <paramref name="ns"/>; configure and bind it as usual.</summary>
    public static Socket CreateUdp(string ns)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException($"cannot create a socket in {ns}", failure);
    }
}

/// <summary>Sockets of other kinds, same technique.</summary>
public static partial class NetnsSocket
{
    /// <summary>A TCP socket created in namespace <paramref name="ns"/>.</summary>
    public static Socket CreateTcp(string ns) => Create(ns, SocketType.Stream, ProtocolType.Tcp);

    private static Socket Create(string ns, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}");
                if (setns((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                socket = new Socket(AddressFamily.InterNetwork, type, protocol);
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException($"cannot create a socket in {ns}", failure);
    }
}
