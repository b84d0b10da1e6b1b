using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;

namespace Underlay.Tftp.Transfers;

/// <summary>
/// One read request, from the RRQ to the final ACK, on its own socket (its own transfer ID, RFC 1350 §4).
/// Runs on the thread pool; the listener only hands it the request bytes. Everything the transfer holds
/// (socket, rented buffers, the file) is released in <see cref="RunAsync"/>'s finally block, whatever happens.
/// </summary>
internal sealed class TftpTransfer : IDisposable
{
    /// <summary>Receive buffer for ACK and ERROR packets from the client; longer datagrams are truncated silently.</summary>
    private const int ReceiveBufferSize = 1024;

    /// <summary>The retransmission timeout doubles up to this, or up to the client's own timeout if that is longer.</summary>
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(64);

    private readonly TftpServer _server;
    private readonly byte[] _request;
    private readonly IPEndPoint _client;
    private readonly IPAddress _localAddress;
    private readonly int _interfaceIndex;
    private readonly CancellationToken _stopping;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _logger;
    private readonly TftpServerCounters _counters;
    private readonly TimeProvider _time;

    private Socket? _socket;
    private SocketAddress _clientAddress = null!;
    private SocketAddress _from = null!;
    private byte[] _receive = [];
    private CancellationTokenSource _timer;
    private volatile bool _stopRequested;

    private string _path;
    private TftpTransferOutcome _outcome = TftpTransferOutcome.Failed;
    private TftpErrorCode? _errorCode;
    private string? _errorMessage;
    private int _blockSize = TftpPacket.DefaultBlockSize;
    private int _windowSize = 1;
    private int _retransmissions;
    private long _bytesAcknowledged;
    private TimeSpan _initialTimeout;
    private int _illegalOpcode;

    public TftpTransfer(TftpServer server, byte[] request, IPEndPoint client, IPAddress localAddress, int interfaceIndex, CancellationToken stopping)
    {
        _server = server;
        _request = request;
        _client = client;
        _localAddress = localAddress;
        _interfaceIndex = interfaceIndex;
        _stopping = stopping;
        _logger = server.Logger;
        _counters = server.Counters;
        _time = server.TimeProvider;
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        _initialTimeout = server.Options.RetransmitTimeout;
        _path = "";
    }

    public IPEndPoint Client => _client;

    /// <summary>Completes when the transfer has finished and released everything.</summary>
    public Task Completion => _completion.Task;

    private enum Received
    {
        Acknowledgment,
        ClientError,
        Illegal,
        Timeout,
        Stopped,
    }

    public async Task RunAsync()
    {
        var started = _time.GetTimestamp();
        var startedAt = _time.GetUtcNow();
        var stopRegistration = _stopping.UnsafeRegister(static state => ((TftpTransfer)state!).OnStop(), this);
        TftpFile? file = null;
        byte[]? data = null;
        try
        {
            var options = _server.Options;
            _socket = TftpSockets.CreateTransferSocket(_localAddress, _server.AddressFamily, _server.DualMode);
            _clientAddress = _client.Serialize();
            _from = new SocketAddress(_clientAddress.Family);
            _receive = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);

            var request = TftpRequest.Parse(_request, out var parseError);
            if (request is null)
            {
                await RejectAsync(TftpErrorCode.IllegalOperation, parseError!).ConfigureAwait(false);
                return;
            }

            _path = request.FileName;
            if (request.Opcode == TftpOpcode.WriteRequest)
            {
                // The server is read-only (ARCHITECTURE.md: Tftp "must not write files").
                await RejectAsync(TftpErrorCode.AccessViolation, "Write requests are not accepted").ConfigureAwait(false);
                return;
            }

            if (!TftpPath.TryNormalize(request.FileName, out var path, out var pathError))
            {
                await RejectAsync(TftpErrorCode.AccessViolation, pathError).ConfigureAwait(false);
                return;
            }

            _path = path;
            var context = new TftpRequestContext(_client, _localAddress, _interfaceIndex, request.FileName, request.Mode);
            TftpOpenResult opened;
            try
            {
                opened = await _server.FileSource.OpenAsync(path, context, _stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
            {
                // The source is someone else's code: whatever it throws becomes ERROR 0 for this one request.
                Log.FileSourceFailed(_logger, e, path, _client);
                await FailAsync(TftpTransferOutcome.Failed, "Internal server error").ConfigureAwait(false);
                return;
            }

            if (!opened.IsSuccess)
            {
                await RejectAsync(opened.ErrorCode, opened.ErrorMessage ?? "Error").ConfigureAwait(false);
                return;
            }

            file = request.Mode == TftpTransferMode.Netascii ? new NetasciiTftpFile(opened.File) : opened.File;
            var negotiation = TftpNegotiation.Negotiate(
                request, options.MaxBlockSize, options.MaxWindowSize, file.Length, file.SupportsRandomAccess, out var optionError);
            if (negotiation is null)
            {
                await RejectAsync(TftpErrorCode.OptionNegotiationFailed, optionError!).ConfigureAwait(false);
                return;
            }

            _blockSize = negotiation.BlockSize;
            _windowSize = negotiation.WindowSize;
            if (negotiation.TimeoutSeconds is { } seconds)
            {
                _initialTimeout = TimeSpan.FromSeconds(seconds);
            }

            Log.TransferStarted(_logger, _client, path, _blockSize, _windowSize, file.Length);
            if (negotiation.Acknowledged.Count > 0)
            {
                var oack = new byte[negotiation.GetOackLength()];
                negotiation.WriteOack(oack);
                if (!await SendOptionAcknowledgmentAsync(oack).ConfigureAwait(false))
                {
                    return;
                }
            }

            data = ArrayPool<byte>.Shared.Rent(TftpPacket.HeaderSize + _blockSize);
            var sender = new TftpBlockSender(_socket, _clientAddress, file, _blockSize, data);
            await SendFileAsync(sender).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            _outcome = TftpTransferOutcome.Cancelled;
        }
        catch (Exception e)
        {
            // Transfer boundary: a socket or read failure ends this transfer only. Logged, answered with ERROR 0.
            Log.TransferFailed(_logger, e, _path, _client);
            await FailAsync(TftpTransferOutcome.Failed, "Internal server error").ConfigureAwait(false);
        }
        finally
        {
            stopRegistration.Dispose();
            Dispose();
            _socket?.Dispose();
            file?.Dispose();
            if (data is not null)
            {
                ArrayPool<byte>.Shared.Return(data);
            }

            if (_receive.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_receive);
            }

            Finish(_time.GetElapsedTime(started), startedAt);
        }
    }

    /// <summary>
    /// RFC 2347: send the OACK and wait for ACK 0, retransmitting with backoff. False when the transfer ended
    /// here (the client refused the options with an ERROR, vanished, or the server stopped).
    /// </summary>
    private async ValueTask<bool> SendOptionAcknowledgmentAsync(byte[] oack)
    {
        var retransmits = 0;
        var timeout = _initialTimeout;
        while (true)
        {
            await _socket!.SendToAsync(oack, SocketFlags.None, _clientAddress, _stopping).ConfigureAwait(false);
            _timer.CancelAfter(timeout);
            while (true)
            {
                var (kind, block) = await ReceiveFromClientAsync().ConfigureAwait(false);
                if (kind == Received.Acknowledgment)
                {
                    if (block != 0)
                    {
                        continue;
                    }

                    ResetTimer();
                    return true;
                }

                if (kind == Received.Timeout)
                {
                    timeout = NextTimeout(timeout);
                    if (!await BackOffAsync(++retransmits, 0, timeout).ConfigureAwait(false))
                    {
                        return false;
                    }

                    _retransmissions++;
                    _counters.AddRetransmission();
                    break;
                }

                await EndOnReceivedAsync(kind).ConfigureAwait(false);
                return false;
            }
        }
    }

    /// <summary>
    /// The data phase. Sends a window of blocks (one block in RFC 1350 lock-step), then waits for an ACK:
    /// <list type="bullet">
    /// <item>an ACK for block n of the window moves on to n+1: the whole window when n is its last block, or
    /// a restart after a gap the client saw (RFC 7440 §4);</item>
    /// <item>a duplicate ACK for the block before the window is ignored in lock-step, because answering it is
    /// the Sorcerer's Apprentice bug (RFC 1123 §4.2.3.1: "never resend the current DATA packet on receipt of a
    /// duplicate ACK"). With windows it is how a client reports that the window's first block is missing
    /// (atftp sends exactly one such "extra ACK"), so the window restarts at once, but only if no block up to that
    /// point has ever been sent twice. Otherwise the duplicate may be an echo of our own retransmission, and
    /// answering echoes is the same cascade. Those cases are left to the timer;</item>
    /// <item>no ACK in time: the window is resent from the first unacknowledged block, with the timeout doubled,
    /// at most MaxRetransmits times.</item>
    /// </list>
    /// Ignored packets never extend the deadline.
    /// </summary>
    private async ValueTask SendFileAsync(TftpBlockSender sender)
    {
        var window = _windowSize;
        var acknowledged = 0L;
        var lastBlock = long.MaxValue;
        var lastLength = 0;
        var highestSent = 0L;
        var highestResent = 0L;
        var retransmits = 0;
        var timeout = _initialTimeout;
        while (true)
        {
            var first = acknowledged + 1;
            var end = acknowledged;
            for (var block = first; block < first + window && block <= lastBlock; block++)
            {
                var length = await sender.SendAsync(block, _stopping).ConfigureAwait(false);
                _counters.AddData(length);
                if (block <= highestSent)
                {
                    highestResent = Math.Max(highestResent, block);
                    _retransmissions++;
                    _counters.AddRetransmission();
                }
                else
                {
                    highestSent = block;
                }

                if (length < _blockSize)
                {
                    lastBlock = block;
                    lastLength = length;
                }

                end = block;
            }

            _timer.CancelAfter(timeout);
            while (true)
            {
                var (kind, wire) = await ReceiveFromClientAsync().ConfigureAwait(false);
                if (kind == Received.Acknowledgment)
                {
                    var block = MapAcknowledgment(wire, first - 1, end);
                    if (block >= first)
                    {
                        acknowledged = block;
                        _bytesAcknowledged = block == lastBlock ? ((block - 1) * _blockSize) + lastLength : block * _blockSize;
                        retransmits = 0;
                        timeout = _initialTimeout;
                        ResetTimer();
                        if (block == lastBlock)
                        {
                            _outcome = TftpTransferOutcome.Completed;
                            return;
                        }

                        break;
                    }

                    if (block == first - 1 && window > 1 && block > highestResent)
                    {
                        // RFC 7440 §4: the client is missing the window's first block; restart now (see above).
                        ResetTimer();
                        break;
                    }

                    // RFC 1123 §4.2.3.1: a duplicate (or stale) ACK changes nothing and keeps the deadline.
                    _counters.AddDuplicateAcknowledgment();
                    continue;
                }

                if (kind == Received.Timeout)
                {
                    // Resend from the first unacknowledged block; SendAsync counts the retransmissions.
                    timeout = NextTimeout(timeout);
                    if (!await BackOffAsync(++retransmits, first, timeout).ConfigureAwait(false))
                    {
                        return;
                    }

                    break;
                }

                await EndOnReceivedAsync(kind).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>
    /// Maps a 16-bit ACK number onto the absolute block range [<paramref name="before"/>, <paramref name="end"/>]
    /// (the block before the window up to the last block sent); -1 when it names none of them. The range holds at
    /// most 65536 blocks, so the mapping is unique across the wrap from 65535 to 0.
    /// </summary>
    internal static long MapAcknowledgment(ushort wire, long before, long end)
    {
        var delta = (ushort)(wire - (ushort)before);
        return delta <= end - before ? before + delta : -1;
    }

    private static TimeSpan NextTimeout(TimeSpan current)
    {
        var doubled = current * 2;
        var cap = current > s_maxBackoff ? current : s_maxBackoff;
        return doubled > cap ? cap : doubled;
    }

    /// <summary>
    /// Handles a timeout before the resend of <paramref name="block"/> (0 = the OACK). False, after ERROR 0, when
    /// the retransmissions are used up; the transfer then ends and frees its resources.
    /// </summary>
    private async ValueTask<bool> BackOffAsync(int retransmits, long block, TimeSpan nextTimeout)
    {
        RenewTimer();
        if (retransmits > _server.Options.MaxRetransmits)
        {
            Log.TransferTimedOut(_logger, _path, _client, block, retransmits - 1);
            await FailAsync(TftpTransferOutcome.TimedOut, "Transfer timed out").ConfigureAwait(false);
            return false;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.Retransmitting(_logger, _client, block, retransmits, nextTimeout.TotalMilliseconds);
        }

        return true;
    }

    private async ValueTask EndOnReceivedAsync(Received kind)
    {
        switch (kind)
        {
            case Received.ClientError:
                // RFC 1350 §7: an ERROR is not acknowledged; the transfer just ends.
                _counters.AddAbortedByClient();
                _outcome = TftpTransferOutcome.AbortedByClient;
                Log.TransferAbortedByClient(_logger, _client, _path, (int)(_errorCode ?? 0), _errorMessage ?? "");
                break;
            case Received.Illegal:
                Log.IllegalTransferPacket(_logger, _client, _illegalOpcode, _path);
                await SendErrorAsync(TftpErrorCode.IllegalOperation, "Illegal TFTP operation").ConfigureAwait(false);
                _outcome = TftpTransferOutcome.ProtocolError;
                break;
            case Received.Stopped:
                await FailAsync(TftpTransferOutcome.Cancelled, "Server shutting down").ConfigureAwait(false);
                break;
        }
    }

    /// <summary>
    /// Waits for the next packet from the client. Packets from anyone else get ERROR 5 and change nothing
    /// (RFC 1350 §4: "the source TID ... if it is not, ... send an error packet to the source of the incoming
    /// packet"). The deadline is the timer armed by the caller; it is not extended here.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(Received Kind, ushort Block)> ReceiveFromClientAsync()
    {
        while (true)
        {
            int length;
            try
            {
                length = await _socket!.ReceiveFromAsync(_receive.AsMemory(0, ReceiveBufferSize), SocketFlags.None, _from, _timer.Token)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (_stopRequested ? Received.Stopped : Received.Timeout, 0);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // An ICMP port-unreachable for an earlier send, reported by some platforms; not a packet.
                continue;
            }

            if (!TftpSockets.SameEndPoint(_from, _clientAddress))
            {
                await AnswerStrangerAsync(length).ConfigureAwait(false);
                continue;
            }

            var result = Classify(length);
            if (result.HasValue)
            {
                return result.Value;
            }
        }
    }

    private (Received Kind, ushort Block)? Classify(int length)
    {
        var packet = _receive.AsSpan(0, length);
        if (TftpPacket.TryReadAck(packet, out var block))
        {
            return (Received.Acknowledgment, block);
        }

        if (TftpPacket.TryReadError(packet, out var code, out var message))
        {
            _errorCode = (TftpErrorCode)code;
            _errorMessage = Encoding.UTF8.GetString(message);
            return (Received.ClientError, 0);
        }

        if (!TftpPacket.TryReadOpcode(packet, out var opcode))
        {
            _counters.AddMalformed();
            return null;
        }

        _illegalOpcode = (int)opcode;
        return (Received.Illegal, 0);
    }

    private async ValueTask AnswerStrangerAsync(int length)
    {
        _counters.AddUnknownTransferId();
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.UnknownTransferId(_logger, _client.Create(_from), _client);
        }

        // Never answer an ERROR with an ERROR (RFC 1350 §7), or two confused peers could loop.
        if (TftpPacket.TryReadOpcode(_receive.AsSpan(0, length), out var opcode) && opcode == TftpOpcode.Error)
        {
            return;
        }

        var size = TftpPacket.WriteError(_receive, TftpErrorCode.UnknownTransferId, "Unknown transfer ID"u8);
        await _socket!.SendToAsync(_receive.AsMemory(0, size), SocketFlags.None, _from, _stopping).ConfigureAwait(false);
        _counters.AddErrorSent(TftpErrorCode.UnknownTransferId);
    }

    private async ValueTask RejectAsync(TftpErrorCode code, string message)
    {
        _counters.AddRejected();
        _outcome = TftpTransferOutcome.Rejected;
        Log.RequestRejected(_logger, _client, _path, code, message);
        await SendErrorAsync(code, message).ConfigureAwait(false);
    }

    private async ValueTask FailAsync(TftpTransferOutcome outcome, string message)
    {
        _outcome = outcome;
        if (outcome == TftpTransferOutcome.Cancelled)
        {
            Log.TransferCancelled(_logger, _path, _client);
        }

        await SendErrorAsync(TftpErrorCode.NotDefined, message).ConfigureAwait(false);
    }

    /// <summary>Best effort: an ERROR that cannot be sent (socket gone, server stopping) changes nothing.</summary>
    private async ValueTask SendErrorAsync(TftpErrorCode code, string message)
    {
        _errorCode = code;
        _errorMessage = message;
        if (_socket is null || _receive.Length == 0)
        {
            return;
        }

        try
        {
            var size = TftpPacket.WriteError(_receive, code, message);
            await _socket.SendToAsync(_receive.AsMemory(0, size), SocketFlags.None, _clientAddress, CancellationToken.None).ConfigureAwait(false);
            _counters.AddErrorSent(code);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Nothing more to tell a peer we cannot reach.
        }
    }

    /// <summary>After a successful wait: disarm the timer so it can be armed again without allocating.</summary>
    private void ResetTimer()
    {
        if (!_timer.TryReset())
        {
            RenewTimer();
        }
    }

    /// <summary>After a timeout the source is cancelled for good; take a fresh one (only on the slow path).</summary>
    private void RenewTimer()
    {
        // The old source is not disposed: OnStop may be cancelling it on another thread right now.
        Volatile.Write(ref _timer, new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time));
        if (_stopRequested)
        {
            _timer.Cancel();
        }
    }

    /// <summary>Releases the timer; called by <see cref="RunAsync"/> itself once the stop registration is gone.</summary>
    public void Dispose() => _timer.Dispose();

    /// <summary>Server shutdown: wake whatever the transfer is waiting for.</summary>
    private void OnStop()
    {
        _stopRequested = true;
        try
        {
            Volatile.Read(ref _timer).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The transfer finished meanwhile.
        }
    }

    private void Finish(TimeSpan duration, DateTimeOffset startedAt)
    {
        switch (_outcome)
        {
            case TftpTransferOutcome.Completed:
                _counters.AddCompleted();
                Log.TransferCompleted(_logger, _path, _client, _bytesAcknowledged, duration.TotalMilliseconds);
                break;
            case TftpTransferOutcome.Rejected:
            case TftpTransferOutcome.AbortedByClient:
                break;
            default:
                _counters.AddFailed();
                break;
        }

        _server.OnTransferFinished(this, new TftpTransferCompletedEventArgs
        {
            Path = _path,
            Client = _client,
            LocalAddress = _localAddress,
            Outcome = _outcome,
            BytesTransferred = _bytesAcknowledged,
            Duration = duration,
            StartedAt = startedAt,
            ErrorCode = _outcome == TftpTransferOutcome.Completed ? null : _errorCode,
            ErrorMessage = _outcome == TftpTransferOutcome.Completed ? null : _errorMessage,
            BlockSize = _blockSize,
            WindowSize = _windowSize,
            Retransmissions = _retransmissions,
        });
        _completion.TrySetResult();
    }
}
