using System.Net;

namespace Underlay.Tftp;

/// <summary>One finished request (successful or not); raised once per RRQ/WRQ for the per-machine boot timeline.</summary>
public sealed class TftpTransferCompletedEventArgs : EventArgs
{
    /// <summary>Root-relative path served, or the raw requested name when it was refused before normalization.</summary>
    public required string Path { get; init; }

    /// <summary>The client's address and port.</summary>
    public required IPEndPoint Client { get; init; }

    /// <summary>The server address the request arrived on (and the replies came from).</summary>
    public required IPAddress LocalAddress { get; init; }

    public required TftpTransferOutcome Outcome { get; init; }

    /// <summary>True when the whole file was delivered and acknowledged.</summary>
    public bool Success => Outcome == TftpTransferOutcome.Completed;

    /// <summary>File bytes the client acknowledged.</summary>
    public required long BytesTransferred { get; init; }

    /// <summary>From the request's arrival to the final ACK (or the failure).</summary>
    public required TimeSpan Duration { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>The ERROR code sent to, or received from, the client; null on success.</summary>
    public TftpErrorCode? ErrorCode { get; init; }

    /// <summary>The ERROR message sent or received, or a description of the failure.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Negotiated blksize (512 when none).</summary>
    public int BlockSize { get; init; }

    /// <summary>Negotiated windowsize (1 when none).</summary>
    public int WindowSize { get; init; }

    /// <summary>DATA/OACK packets sent more than once.</summary>
    public int Retransmissions { get; init; }
}
