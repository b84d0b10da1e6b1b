using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Underlay.Tftp.Files;
using Underlay.Tftp.Protocol;
using Underlay.Tftp.Transfers;

namespace Underlay.Tftp;

/// <summary>
/// A read-only TFTP server: RFC 1350 with option negotiation (RFC 2347), blksize (RFC 2348), tsize and timeout
/// (RFC 2349) and windowsize (RFC 7440). One socket listens for requests; every request runs as its own
/// transfer on its own ephemeral socket. Content comes from an <see cref="ITftpFileSource"/>.
/// The composition root wraps it in a BackgroundService: <see cref="StartAsync"/> binds (and throws if the
/// port is taken), <see cref="StopAsync"/> ends all transfers and waits for them.
/// </summary>
public sealed class TftpServer : IAsyncDisposable
{
    /// <summary>Large enough for any UDP datagram, so a request is never truncated (RFC 2347 asks for ≤ 512 bytes).</summary>
    private const int ListenBufferSize = 65536;

    /// <summary>The latest transfer per client endpoint, to recognise a retransmitted request.</summary>
    private readonly ConcurrentDictionary<IPEndPoint, TftpTransfer> _byClient = new();

    /// <summary>Every transfer still running (StopAsync waits for all of them).</summary>
    private readonly ConcurrentDictionary<TftpTransfer, byte> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _listenTask;
    private int _state; // 0 new, 1 started, 2 stopped

    public TftpServer(TftpServerOptions options, ITftpFileSource fileSource, ILogger<TftpServer>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(fileSource);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid TFTP server options: " + string.Join(" ", errors), nameof(options));
        }

        Options = options;
        FileSource = fileSource;
        Logger = logger ?? NullLogger<TftpServer>.Instance;
        TimeProvider = timeProvider ?? TimeProvider.System;
        AddressFamily = options.BindAddress.AddressFamily;
        DualMode = options.BindAddress.Equals(IPAddress.IPv6Any);
    }

    /// <summary>Raised once per finished request (after its resources are released), on the transfer's thread.</summary>
    public event EventHandler<TftpTransferCompletedEventArgs>? TransferCompleted;

    public TftpServerOptions Options { get; }

    public TftpServerCounters Counters { get; } = new();

    /// <summary>The bound address and port once started (the real port when <see cref="TftpServerOptions.Port"/> is 0).</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    internal ITftpFileSource FileSource { get; }

    internal ILogger Logger { get; }

    internal TimeProvider TimeProvider { get; }

    internal AddressFamily AddressFamily { get; }

    internal bool DualMode { get; }

    /// <summary>Binds the listening socket and starts accepting requests.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The TFTP server can be started once.");
        }

        var listener = new Socket(AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (DualMode)
            {
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(Options.BindAddress, Options.Port));
        }
        catch
        {
            listener.Dispose();
            _state = 0;
            throw;
        }

        _listener = listener;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        Log.Started(Logger, LocalEndPoint);
        _listenTask = ListenAsync(listener);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting requests, tells every transfer to end (each sends ERROR 0 to its client) and waits for
    /// them to release their resources, or until <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        // Order matters: cancel first so transfers see "stopping" rather than a socket error, then close the
        // listener so no new transfer starts, then wait for the running ones.
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_listenTask is not null)
        {
            await _listenTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var running = new List<Task>();
        foreach (var transfer in _running.Keys)
        {
            running.Add(transfer.Completion);
        }

        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        Log.Stopped(Logger, Counters.TransfersCompleted, Counters.TransfersFailed, Counters.BytesSent);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task ListenAsync(Socket listener)
    {
        // Requests are copied out of this buffer, so one is enough for the listener's lifetime.
        var buffer = new byte[ListenBufferSize];
        EndPoint anyEndPoint = AddressFamily == AddressFamily.InterNetworkV6
            ? new IPEndPoint(IPAddress.IPv6Any, 0)
            : new IPEndPoint(IPAddress.Any, 0);
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult received;
            try
            {
                // ReceiveMessageFrom turns on IP_PKTINFO: PacketInformation.Address is the address the client
                // sent to, which the transfer binds so that its replies come from it.
                received = await listener.ReceiveMessageFromAsync(buffer, SocketFlags.None, anyEndPoint, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                // Failure tiers: the socket is gone (stop) -> leave; anything else is about one datagram -> go on.
                if (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Shutdown or SocketError.NotSocket || token.IsCancellationRequested)
                {
                    break;
                }

                Log.ListenerReceiveFailed(Logger, e.SocketErrorCode);
                continue;
            }

            try
            {
                await DispatchAsync(listener, buffer.AsMemory(0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint, received.PacketInformation)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Sending an ERROR from the listener failed; the next request is unaffected.
                if (token.IsCancellationRequested)
                {
                    break;
                }
            }
        }
    }

    private async ValueTask DispatchAsync(Socket listener, ReadOnlyMemory<byte> packet, IPEndPoint client, IPPacketInformation packetInformation)
    {
        Counters.AddRequest();
        if (!TftpPacket.TryReadOpcode(packet.Span, out var opcode))
        {
            Counters.AddMalformed();
            Log.MalformedPacket(Logger, packet.Length, client);
            return;
        }

        switch (opcode)
        {
            case TftpOpcode.ReadRequest:
            case TftpOpcode.WriteRequest:
                break;
            case TftpOpcode.Error:
                // RFC 1350 §7: errors are never answered.
                return;
            default:
                // RFC 1350 §5: only RRQ and WRQ open a transfer; anything else on port 69 is illegal.
                Log.IllegalListenerPacket(Logger, (int)opcode, client);
                await SendListenerErrorAsync(listener, client, TftpErrorCode.IllegalOperation, "Illegal TFTP operation").ConfigureAwait(false);
                return;
        }

        if (_byClient.TryGetValue(client, out var previous) && !previous.HasHeardFromClient)
        {
            // The client retransmitted its request before our first reply arrived; the running transfer is
            // already retransmitting that reply. Starting a second one would answer from two TIDs. Once the
            // client has answered, a request from the same port is a new one (tftp-hpa's interactive mode and
            // some ROMs reuse their port for the next file).
            Log.DuplicateRequest(Logger, client);
            return;
        }

        if (Counters.IncrementActive() > Options.MaxConcurrentTransfers)
        {
            Counters.DecrementActive();
            Counters.AddRejected();
            Log.Busy(Logger, client, Counters.ActiveTransfers);
            await SendListenerErrorAsync(listener, client, TftpErrorCode.NotDefined, "Server busy, try again later").ConfigureAwait(false);
            return;
        }

        var localAddress = packetInformation.Address ?? Options.BindAddress;
        var transfer = new TftpTransfer(this, packet.ToArray(), client, localAddress, packetInformation.Interface, _stopping.Token);
        _byClient[client] = transfer;
        _running[transfer] = 0;

        // The transfer owns its lifetime (it always completes and removes itself); StopAsync awaits it.
        _ = Task.Run(transfer.RunAsync);
    }

    private async ValueTask SendListenerErrorAsync(Socket listener, IPEndPoint client, TftpErrorCode code, string message)
    {
        var packet = new byte[TftpPacket.MaxErrorPacketSize];
        var length = TftpPacket.WriteError(packet, code, message);
        await listener.SendToAsync(packet.AsMemory(0, length), SocketFlags.None, client, _stopping.Token).ConfigureAwait(false);
        Counters.AddErrorSent(code);
    }

    /// <summary>Called by a transfer as its very last step.</summary>
    internal void OnTransferFinished(TftpTransfer transfer, TftpTransferCompletedEventArgs result)
    {
        _running.TryRemove(transfer, out _);
        _byClient.TryRemove(new KeyValuePair<IPEndPoint, TftpTransfer>(transfer.Client, transfer));
        Counters.DecrementActive();
        var handler = TransferCompleted;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, result);
        }
        catch (Exception e)
        {
            // Subscribers (timelines, metrics) must not take the server down.
            Log.CompletedHandlerFailed(Logger, e);
        }
    }
}
