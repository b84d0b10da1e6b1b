using System.Net;

namespace Underlay.Tftp.Files;

/// <summary>Who asked for a file and where the request arrived; given to <see cref="ITftpFileSource.OpenAsync"/>.</summary>
public sealed class TftpRequestContext
{
    public TftpRequestContext(IPEndPoint remoteEndPoint, IPAddress localAddress, int interfaceIndex, string requestedFileName, TftpTransferMode mode)
    {
        RemoteEndPoint = remoteEndPoint;
        LocalAddress = localAddress;
        InterfaceIndex = interfaceIndex;
        RequestedFileName = requestedFileName;
        Mode = mode;
    }

    /// <summary>The client's address and port (its transfer ID, RFC 1350 §4).</summary>
    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>
    /// The server address the request was sent to (from IP_PKTINFO). Every reply of the transfer is sent from
    /// it, and rendered content can use it as "the server address this machine can reach" (DRP's
    /// ProvisionerAddress). <see cref="IPAddress.Any"/> when the platform did not report it.
    /// </summary>
    public IPAddress LocalAddress { get; }

    /// <summary>Index of the interface the request arrived on (IP_PKTINFO), or 0 when unknown.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The file name exactly as the client sent it, before normalization.</summary>
    public string RequestedFileName { get; }

    public TftpTransferMode Mode { get; }
}
