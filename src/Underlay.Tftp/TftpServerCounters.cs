namespace Underlay.Tftp;

/// <summary>Live, monotonically increasing counters of one <see cref="TftpServer"/> (read them at any time).</summary>
public sealed class TftpServerCounters
{
    private readonly long[] _errorsSent = new long[9];
    private long _requests;
    private long _transfersCompleted;
    private long _transfersFailed;
    private long _transfersAbortedByClient;
    private long _requestsRejected;
    private long _activeTransfers;
    private long _bytesSent;
    private long _packetsSent;
    private long _retransmissions;
    private long _duplicateAcknowledgments;
    private long _unknownTransferIdPackets;
    private long _malformedPackets;

    /// <summary>Packets received on the listening port (RRQ, WRQ and anything else).</summary>
    public long Requests => Volatile.Read(ref _requests);

    /// <summary>Transfers whose final block was acknowledged.</summary>
    public long TransfersCompleted => Volatile.Read(ref _transfersCompleted);

    /// <summary>Transfers that started and then failed: timed out, illegal packet, internal error, server stop.</summary>
    public long TransfersFailed => Volatile.Read(ref _transfersFailed);

    /// <summary>
    /// Transfers the client ended with an ERROR packet. Usually harmless: PXE ROMs ask for tsize and then abort
    /// with ERROR 8 to learn the size before the real request.
    /// </summary>
    public long TransfersAbortedByClient => Volatile.Read(ref _transfersAbortedByClient);

    /// <summary>Requests answered with an ERROR before any data: not found, access violation, WRQ, bad options, busy.</summary>
    public long RequestsRejected => Volatile.Read(ref _requestsRejected);

    /// <summary>Transfers in progress now.</summary>
    public long ActiveTransfers => Volatile.Read(ref _activeTransfers);

    /// <summary>DATA payload bytes sent, retransmissions included.</summary>
    public long BytesSent => Volatile.Read(ref _bytesSent);

    /// <summary>DATA packets sent, retransmissions included.</summary>
    public long PacketsSent => Volatile.Read(ref _packetsSent);

    /// <summary>DATA and OACK packets sent again after a timeout or a window restart.</summary>
    public long Retransmissions => Volatile.Read(ref _retransmissions);

    /// <summary>Duplicate ACKs that were ignored (RFC 1123 §4.2.3.1, the Sorcerer's Apprentice fix).</summary>
    public long DuplicateAcknowledgments => Volatile.Read(ref _duplicateAcknowledgments);

    /// <summary>Packets that reached a transfer's port from another address or port (answered with ERROR 5).</summary>
    public long UnknownTransferIdPackets => Volatile.Read(ref _unknownTransferIdPackets);

    /// <summary>Packets dropped because they were too short or made no sense.</summary>
    public long MalformedPackets => Volatile.Read(ref _malformedPackets);

    /// <summary>ERROR packets sent with <paramref name="code"/>.</summary>
    public long GetErrorsSent(TftpErrorCode code) =>
        (uint)code < (uint)_errorsSent.Length ? Volatile.Read(ref _errorsSent[(int)code]) : 0;

    internal void AddRequest() => Interlocked.Increment(ref _requests);

    internal void AddCompleted() => Interlocked.Increment(ref _transfersCompleted);

    internal void AddFailed() => Interlocked.Increment(ref _transfersFailed);

    internal void AddAbortedByClient() => Interlocked.Increment(ref _transfersAbortedByClient);

    internal void AddRejected() => Interlocked.Increment(ref _requestsRejected);

    internal long IncrementActive() => Interlocked.Increment(ref _activeTransfers);

    internal void DecrementActive() => Interlocked.Decrement(ref _activeTransfers);

    internal void AddData(int packets, long payloadBytes)
    {
        Interlocked.Add(ref _packetsSent, packets);
        Interlocked.Add(ref _bytesSent, payloadBytes);
    }

    internal void AddRetransmissions(int packets) => Interlocked.Add(ref _retransmissions, packets);

    internal void AddDuplicateAcknowledgment() => Interlocked.Increment(ref _duplicateAcknowledgments);

    internal void AddUnknownTransferId() => Interlocked.Increment(ref _unknownTransferIdPackets);

    internal void AddMalformed() => Interlocked.Increment(ref _malformedPackets);

    internal void AddErrorSent(TftpErrorCode code)
    {
        if ((uint)code < (uint)_errorsSent.Length)
        {
            Interlocked.Increment(ref _errorsSent[(int)code]);
        }
    }
}
