namespace Underlay.Tftp;

/// <summary>How a request ended.</summary>
public enum TftpTransferOutcome
{
    /// <summary>Every block was sent and the final one acknowledged.</summary>
    Completed,

    /// <summary>Refused with an ERROR before any data: not found, access violation, WRQ, bad request or options, busy.</summary>
    Rejected,

    /// <summary>The client sent an ERROR (for example ERROR 8 after reading tsize from the OACK).</summary>
    AbortedByClient,

    /// <summary>The client stopped answering; the retransmissions ran out.</summary>
    TimedOut,

    /// <summary>The client sent a packet that is not allowed in a read transfer (answered with ERROR 4).</summary>
    ProtocolError,

    /// <summary>The file source or the socket failed (answered with ERROR 0).</summary>
    Failed,

    /// <summary>The server was stopped during the transfer.</summary>
    Cancelled,
}
