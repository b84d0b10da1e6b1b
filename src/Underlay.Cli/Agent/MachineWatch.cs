using System.Threading.Channels;
using Underlay.Client;

namespace Underlay.Cli.Agent;

/// <summary>
/// Keeps a websocket registered for one machine's events and turns each into a wake-up signal, reconnecting with
/// back-off when the server goes away. After every (re)connect it signals too, since events may have been missed.
/// The agent never polls: it sleeps until a signal or a long idle re-check.
/// </summary>
internal sealed class MachineWatch : IAsyncDisposable
{
    private readonly Func<UnderlayClient> _client;
    private readonly Guid _machine;
    private readonly TimeSpan _maxDelay;
    private readonly Action<string> _log;
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public MachineWatch(Func<UnderlayClient> client, Guid machine, TimeSpan maxDelay, Action<string> log)
    {
        _client = client;
        _machine = machine;
        _maxDelay = maxDelay;
        _log = log;
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    /// <summary>Waits for a change of the machine, at most <paramref name="timeout"/>; true if something happened.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await _signals.Reader.ReadAsync(limit.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Forgets any pending signal (call before reading state, so only later changes wake the next wait).</summary>
    public void Drain()
    {
        while (_signals.Reader.TryRead(out _))
        {
        }
    }

    private async Task LoopAsync()
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var stream = await _client().WatchAsync([$"machines.*.{_machine}"], _stop.Token).ConfigureAwait(false);
                delay = TimeSpan.FromMilliseconds(200);
                _signals.Writer.TryWrite(true);
                while (await stream.NextAsync(_stop.Token).ConfigureAwait(false) is not null)
                {
                    _signals.Writer.TryWrite(true);
                }

                _log("event stream closed by the server; reconnecting");
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or HttpRequestException or IOException or UnderlayApiException or OperationCanceledException or System.Text.Json.JsonException)
            {
                _log($"event stream unavailable ({e.Message}); retrying in {delay.TotalSeconds:0.#} s");
            }

            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _maxDelay.Ticks));
            _signals.Writer.TryWrite(true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stop.Dispose();
    }
}
