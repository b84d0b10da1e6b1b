using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;

namespace Underlay.Tftp.Transfers;

/// <summary>
/// One read request, from the RRQ to the final ACK, on its own socket (its own transfer ID, RFC 1350 §4).
/// The setup (parsing, opening the file through the asynchronous source, negotiating options) runs on the thread
/// pool. The exchange that follows (OACK, DATA, ACK) runs on a thread of its own with a blocking socket:
/// lock-step TFTP waits for one ACK per block, and a blocked recvfrom is woken by the kernel directly, where an
/// awaited receive costs an epoll wake-up plus a thread-pool hand-off per ACK (measured: ~2-3x the CPU per
/// block; see bench/tftp/README.md). tftpd-hpa (a process per transfer) and atftpd (a thread per transfer)
/// do the same. Everything the transfer holds (thread, socket, rented buffers, the file) is released in
/// <see cref="RunAsync"/>'s finally block, whatever happens.
/// </summary>
internal sealed class TftpTransfer
{
    /// <summary>Receive buffer for ACK and ERROR packets from the client; longer datagrams are truncated silently.</summary>
    private const int ReceiveBufferSize = 1024;

    /// <summary>The retransmission timeout doubles up to this, or up to the client's own timeout if that is longer.</summary>
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(64);

    /// <summary>The exchange thread only runs the loops below; it needs far less than the default 1.5 MiB reserve.</summary>
    private const int ExchangeThreadStackSize = 256 * 1024;

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
    private byte[]? _data;
    private TftpFile? _file;
    private byte[]? _oack;
    private long _deadline;
    private int _socketTimeoutMilliseconds = -1;
    private volatile bool _stopRequested;
    private volatile bool _heardFromClient;

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
        _initialTimeout = server.Options.RetransmitTimeout;
        _path = "";
    }

    public IPEndPoint Client => _client;

    /// <summary>True once the client has sent this transfer anything (so a new request from it is not a retransmission).</summary>
    public bool HasHeardFromClient => _heardFromClient;

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
        try
        {
            var options = _server.Options;
            Volatile.Write(ref _socket, TftpSockets.CreateTransferSocket(_localAddress, _server.AddressFamily, _server.DualMode));
            _clientAddress = _client.Serialize();
            _from = new SocketAddress(_clientAddress.Family);
            _receive = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);

            var request = TftpRequest.Parse(_request, out var parseError);
            if (request is null)
            {
                Reject(TftpErrorCode.IllegalOperation, parseError!);
                return;
            }

            _path = request.FileName;
            if (request.Opcode == TftpOpcode.WriteRequest)
            {
                // The server is read-only (ARCHITECTURE.md: Tftp "must not write files").
                Reject(TftpErrorCode.AccessViolation, "Write requests are not accepted");
                return;
            }

            if (!TftpPath.TryNormalize(request.FileName, out var path, out var pathError))
            {
                Reject(TftpErrorCode.AccessViolation, pathError);
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
                Fail(TftpTransferOutcome.Failed, "Internal server error");
                return;
            }

            if (!opened.IsSuccess)
            {
                Reject(opened.ErrorCode, opened.ErrorMessage ?? "Error");
                return;
            }

            _file = request.Mode == TftpTransferMode.Netascii ? new NetasciiTftpFile(opened.File) : opened.File;
            var negotiation = TftpNegotiation.Negotiate(
                request, options.MaxBlockSize, options.MaxWindowSize, options.MaxWindowBytes, _file.Length, _file.SupportsRandomAccess, out var optionError);
            if (negotiation is null)
            {
                Reject(TftpErrorCode.OptionNegotiationFailed, optionError!);
                return;
            }

            _blockSize = negotiation.BlockSize;
            _windowSize = negotiation.WindowSize;
            if (negotiation.TimeoutSeconds is { } seconds)
            {
                _initialTimeout = TimeSpan.FromSeconds(seconds);
            }

            if (negotiation.Acknowledged.Count > 0)
            {
                _oack = new byte[negotiation.GetOackLength()];
                negotiation.WriteOack(_oack);
            }

            _data = ArrayPool<byte>.Shared.Rent(TftpBlockSender.BufferSize(_blockSize, _windowSize));
            Log.TransferStarted(_logger, _client, path, _blockSize, _windowSize, _file.Length);
            await RunExchangeThreadAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            _outcome = TftpTransferOutcome.Cancelled;
        }
        catch (Exception e)
        {
            // Transfer boundary: a socket or read failure ends this transfer only. Logged, answered with ERROR 0.
            Log.TransferFailed(_logger, e, _path, _client);
            Fail(TftpTransferOutcome.Failed, "Internal server error");
        }
        finally
        {
            // Unregistering waits for a running OnStop, so nothing touches the socket after this line.
            stopRegistration.Dispose();
            _socket?.Dispose();
            _file?.Dispose();
            if (_data is not null)
            {
                ArrayPool<byte>.Shared.Return(_data);
            }

            if (_receive.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_receive);
            }

            Finish(_time.GetElapsedTime(started), startedAt);
        }
    }

    /// <summary>Runs <see cref="Exchange"/> on a new thread; its exception, if any, surfaces through the task.</summary>
    private Task RunExchangeThreadAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(
            static state =>
            {
                var (transfer, done) = ((TftpTransfer, TaskCompletionSource))state!;
                try
                {
                    transfer.Exchange();
                    done.SetResult();
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            },
            ExchangeThreadStackSize)
        {
            IsBackground = true,
            Name = "tftp transfer",
        };
        thread.UnsafeStart((this, done));
        return done.Task;
    }

    /// <summary>The exchange, on the transfer's own thread: OACK if any, then the data.</summary>
    private void Exchange()
    {
        if (_oack is not null && !SendOptionAcknowledgment(_oack))
        {
            return;
        }

        SendFile(new TftpBlockSender(_socket!, _clientAddress, _file!, _blockSize, _windowSize, _data!));
    }

    /// <summary>
    /// RFC 2347: send the OACK and wait for ACK 0, retransmitting with backoff. False when the transfer ended
    /// here (the client refused the options with an ERROR, vanished, or the server stopped).
    /// </summary>
    private bool SendOptionAcknowledgment(byte[] oack)
    {
        var retransmits = 0;
        var timeout = _initialTimeout;
        while (true)
        {
            _socket!.SendTo(oack, SocketFlags.None, _clientAddress);
            Arm(timeout);
            while (true)
            {
                var (kind, block) = ReceiveFromClient();
                if (kind == Received.Acknowledgment)
                {
                    if (block != 0)
                    {
                        continue;
                    }

                    return true;
                }

                if (kind == Received.Timeout)
                {
                    timeout = NextTimeout(timeout);
                    if (!BackOff(++retransmits, 0, timeout))
                    {
                        return false;
                    }

                    _retransmissions++;
                    _counters.AddRetransmissions(1);
                    break;
                }

                EndOnReceived(kind);
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
    private void SendFile(TftpBlockSender sender)
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
            var sent = sender.Send(first, (int)Math.Min(window, lastBlock - acknowledged), out var payload, out var length);
            var end = first + sent - 1;
            _counters.AddData(sent, payload);
            if (length < _blockSize)
            {
                lastBlock = end;
                lastLength = length;
            }

            if (first <= highestSent)
            {
                var resentUpTo = Math.Min(end, highestSent);
                var resent = (int)(resentUpTo - first + 1);
                highestResent = Math.Max(highestResent, resentUpTo);
                _retransmissions += resent;
                _counters.AddRetransmissions(resent);
            }

            highestSent = Math.Max(highestSent, end);

            Arm(timeout);
            while (true)
            {
                var (kind, wire) = ReceiveFromClient();
                if (kind == Received.Acknowledgment)
                {
                    var block = MapAcknowledgment(wire, first - 1, end);
                    if (block >= first)
                    {
                        acknowledged = block;
                        _bytesAcknowledged = block == lastBlock ? ((block - 1) * _blockSize) + lastLength : block * _blockSize;
                        retransmits = 0;
                        timeout = _initialTimeout;
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
                        break;
                    }

                    // RFC 1123 §4.2.3.1: a duplicate (or stale) ACK changes nothing and keeps the deadline.
                    _counters.AddDuplicateAcknowledgment();
                    continue;
                }

                if (kind == Received.Timeout)
                {
                    // Resend from the first unacknowledged block (counted as retransmissions above).
                    timeout = NextTimeout(timeout);
                    if (!BackOff(++retransmits, first, timeout))
                    {
                        return;
                    }

                    break;
                }

                EndOnReceived(kind);
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
    private bool BackOff(int retransmits, long block, TimeSpan nextTimeout)
    {
        if (retransmits > _server.Options.MaxRetransmits)
        {
            Log.TransferTimedOut(_logger, _path, _client, block, retransmits - 1);
            Fail(TftpTransferOutcome.TimedOut, "Transfer timed out");
            return false;
        }

        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.Retransmitting(_logger, _client, block, retransmits, nextTimeout.TotalMilliseconds);
        }

        return true;
    }

    private void EndOnReceived(Received kind)
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
                SendError(TftpErrorCode.IllegalOperation, "Illegal TFTP operation");
                _outcome = TftpTransferOutcome.ProtocolError;
                break;
            case Received.Stopped:
                Fail(TftpTransferOutcome.Cancelled, "Server shutting down");
                break;
        }
    }

    /// <summary>
    /// Waits (blocking) until the deadline set by <see cref="Arm"/> for the next packet from the client. Packets
    /// from anyone else get ERROR 5 and change nothing (RFC 1350 §4: "If a source TID does not match, the packet
    /// should be discarded as erroneously sent from somewhere else. An error packet should be sent to the source
    /// of the incoming packet"). Ignored packets do not extend the deadline. The socket timeout (SO_RCVTIMEO) is
    /// only changed when the remaining time differs, so the steady state costs one recvfrom per ACK.
    /// </summary>
    private (Received Kind, ushort Block) ReceiveFromClient()
    {
        while (true)
        {
            if (_stopRequested)
            {
                return (Received.Stopped, 0);
            }

            var remaining = RemainingMilliseconds();
            if (remaining <= 0)
            {
                return (Received.Timeout, 0);
            }

            if (remaining != _socketTimeoutMilliseconds)
            {
                _socket!.ReceiveTimeout = remaining;
                _socketTimeoutMilliseconds = remaining;
            }

            int length;
            try
            {
                length = _socket!.ReceiveFrom(_receive.AsSpan(0, ReceiveBufferSize), SocketFlags.None, _from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
            {
                continue; // the loop re-checks the deadline
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // An ICMP port-unreachable for an earlier send, reported by some platforms; not a packet.
                continue;
            }

            if (_stopRequested)
            {
                return (Received.Stopped, 0);
            }

            if (!TftpSockets.SameEndPoint(_from, _clientAddress))
            {
                AnswerStranger(length);
                continue;
            }

            _heardFromClient = true;
            var result = Classify(length);
            if (result.HasValue)
            {
                return result.Value;
            }
        }
    }

    private void Arm(TimeSpan timeout) =>
        _deadline = _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);

    private int RemainingMilliseconds()
    {
        var ticks = _deadline - _time.GetTimestamp();
        return ticks <= 0 ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(ticks * 1000.0 / _time.TimestampFrequency));
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

    private void AnswerStranger(int length)
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
        _socket!.SendTo(_receive.AsSpan(0, size), SocketFlags.None, _from);
        _counters.AddErrorSent(TftpErrorCode.UnknownTransferId);
    }

    private void Reject(TftpErrorCode code, string message)
    {
        _counters.AddRejected();
        _outcome = TftpTransferOutcome.Rejected;
        Log.RequestRejected(_logger, _client, _path, code, message);
        SendError(code, message);
    }

    private void Fail(TftpTransferOutcome outcome, string message)
    {
        _outcome = outcome;
        if (outcome == TftpTransferOutcome.Cancelled)
        {
            Log.TransferCancelled(_logger, _path, _client);
        }

        SendError(TftpErrorCode.NotDefined, message);
    }

    /// <summary>Best effort: an ERROR that cannot be sent (socket gone, server stopping) changes nothing.</summary>
    private void SendError(TftpErrorCode code, string message)
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
            _socket.SendTo(_receive.AsSpan(0, size), SocketFlags.None, _clientAddress);
            _counters.AddErrorSent(code);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Nothing more to tell a peer we cannot reach.
        }
    }

    /// <summary>
    /// Server shutdown: raise the flag and wake the exchange thread if it is blocked in recvfrom, by sending an
    /// empty datagram to its own socket (the receive loop checks the flag before looking at any packet).
    /// </summary>
    private void OnStop()
    {
        _stopRequested = true;
        var socket = Volatile.Read(ref _socket);
        if (socket is null)
        {
            return;
        }

        try
        {
            var local = (IPEndPoint)socket.LocalEndPoint!;
            var address = local.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
                : local.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
                : local.Address;
            socket.SendTo([], new IPEndPoint(address, local.Port));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not started yet or already finished: the flag is enough.
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
