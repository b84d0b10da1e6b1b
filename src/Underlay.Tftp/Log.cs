using System.Net;
using Microsoft.Extensions.Logging;

namespace Underlay.Tftp;

/// <summary>
/// TFTP log messages; event IDs 2000-2999 are reserved for this subsystem (STYLE.md §3.2.8).
/// Nothing here is logged per block: retransmissions are the most frequent messages.
/// Highest ID used: 2021.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(2000, LogLevel.Information, "TFTP server listening on {EndPoint}", EventName = "TftpStarted")]
    public static partial void Started(ILogger logger, EndPoint endPoint);

    [LoggerMessage(2001, LogLevel.Information, "TFTP server stopped: {Completed} transfers completed, {Failed} failed, {Bytes} bytes sent", EventName = "TftpStopped")]
    public static partial void Stopped(ILogger logger, long completed, long failed, long bytes);

    [LoggerMessage(2002, LogLevel.Warning, "TFTP listener receive failed ({SocketError}); continuing", EventName = "TftpListenerReceiveFailed")]
    public static partial void ListenerReceiveFailed(ILogger logger, System.Net.Sockets.SocketError socketError);

    [LoggerMessage(2003, LogLevel.Warning, "TFTP request from {Client} refused: {Active} transfers in progress (limit reached)", EventName = "TftpBusy")]
    public static partial void Busy(ILogger logger, IPEndPoint client, long active);

    [LoggerMessage(2004, LogLevel.Debug, "Duplicate TFTP request from {Client} ignored: its transfer is still running", EventName = "TftpDuplicateRequest")]
    public static partial void DuplicateRequest(ILogger logger, IPEndPoint client);

    [LoggerMessage(2005, LogLevel.Debug, "TFTP packet with opcode {Opcode} from {Client} on the listening port; answered with ERROR 4", EventName = "TftpIllegalListenerPacket")]
    public static partial void IllegalListenerPacket(ILogger logger, int opcode, IPEndPoint client);

    [LoggerMessage(2006, LogLevel.Debug, "Malformed TFTP packet ({Length} bytes) from {Client} dropped", EventName = "TftpMalformedPacket")]
    public static partial void MalformedPacket(ILogger logger, int length, IPEndPoint client);

    [LoggerMessage(2010, LogLevel.Debug, "TFTP {Client} -> {Path}: blksize {BlockSize}, windowsize {WindowSize}, tsize {Length}", EventName = "TftpTransferStarted")]
    public static partial void TransferStarted(ILogger logger, IPEndPoint client, string path, int blockSize, int windowSize, long? length);

    [LoggerMessage(2011, LogLevel.Information, "TFTP sent {Path} to {Client}: {Bytes} bytes in {DurationMs:F1} ms", EventName = "TftpTransferCompleted")]
    public static partial void TransferCompleted(ILogger logger, string path, IPEndPoint client, long bytes, double durationMs);

    [LoggerMessage(2012, LogLevel.Debug, "TFTP request from {Client} for {Path} refused: ERROR {Code} {Message}", EventName = "TftpRequestRejected")]
    public static partial void RequestRejected(ILogger logger, IPEndPoint client, string path, TftpErrorCode code, string message);

    [LoggerMessage(2013, LogLevel.Warning, "TFTP transfer of {Path} to {Client} timed out at block {Block} after {Retransmits} retransmissions", EventName = "TftpTransferTimedOut")]
    public static partial void TransferTimedOut(ILogger logger, string path, IPEndPoint client, long block, int retransmits);

    [LoggerMessage(2014, LogLevel.Debug, "TFTP client {Client} aborted {Path}: ERROR {Code} {Message}", EventName = "TftpTransferAbortedByClient")]
    public static partial void TransferAbortedByClient(ILogger logger, IPEndPoint client, string path, int code, string message);

    [LoggerMessage(2015, LogLevel.Error, "TFTP transfer of {Path} to {Client} failed", EventName = "TftpTransferFailed")]
    public static partial void TransferFailed(ILogger logger, Exception exception, string path, IPEndPoint client);

    [LoggerMessage(2016, LogLevel.Error, "TFTP file source failed to open {Path} for {Client}", EventName = "TftpFileSourceFailed")]
    public static partial void FileSourceFailed(ILogger logger, Exception exception, string path, IPEndPoint client);

    [LoggerMessage(2017, LogLevel.Debug, "Packet from {Stranger} on the transfer port of {Client}; answered with ERROR 5", EventName = "TftpUnknownTransferId")]
    public static partial void UnknownTransferId(ILogger logger, EndPoint stranger, IPEndPoint client);

    [LoggerMessage(2018, LogLevel.Debug, "TFTP retransmitting to {Client} from block {Block} (retransmission {Attempt}, next timeout {TimeoutMs} ms)", EventName = "TftpRetransmit")]
    public static partial void Retransmitting(ILogger logger, IPEndPoint client, long block, int attempt, double timeoutMs);

    [LoggerMessage(2019, LogLevel.Error, "A TransferCompleted handler threw", EventName = "TftpTransferCompletedHandlerFailed")]
    public static partial void CompletedHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(2020, LogLevel.Debug, "TFTP client {Client} sent opcode {Opcode} during the transfer of {Path}; answered with ERROR 4", EventName = "TftpIllegalTransferPacket")]
    public static partial void IllegalTransferPacket(ILogger logger, IPEndPoint client, int opcode, string path);

    [LoggerMessage(2021, LogLevel.Debug, "TFTP transfer of {Path} to {Client} cancelled by server shutdown", EventName = "TftpTransferCancelled")]
    public static partial void TransferCancelled(ILogger logger, string path, IPEndPoint client);
}
