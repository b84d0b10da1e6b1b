using System.Threading.Channels;
using Underlay.Client;
using Underlay.Core.Models;

namespace Underlay.TestUtilities;

/// <summary>
/// Reads an event stream in the background so tests can wait for events with timeouts without cancelling (and so
/// aborting) the websocket receive.
/// </summary>
public sealed class EventCollector : IAsyncDisposable
{
    private readonly EventStream _stream;
    private readonly Channel<Event> _events = Channel.CreateUnbounded<Event>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;

    private EventCollector(EventStream stream)
    {
        _stream = stream;
        _reader = Task.Run(ReadAsync);
    }

    public static async Task<EventCollector> StartAsync(UnderlayClient client, IEnumerable<string> registrations, CancellationToken cancellationToken) =>
        new(await client.WatchAsync(registrations, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Registrations take effect asynchronously on the server; this creates markers (via <paramref name="makeMarker"/>,
    /// called with 0, 1, 2...) until one arrives, proving every earlier registration is active. Bounded by 30 s.
    /// </summary>
    public async Task SynchronizeAsync(Func<int, Task<string>> makeMarker, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        for (var attempt = 0; DateTime.UtcNow < deadline; attempt++)
        {
            var key = await makeMarker(attempt).ConfigureAwait(false);
            if (await NextAsync(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false) is { } first)
            {
                // Skip any earlier markers that arrived late, up to this one.
                var current = first;
                while (current.Key != key)
                {
                    current = await NextAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false)
                              ?? throw new TimeoutException("marker event never arrived");
                }

                return;
            }
        }

        throw new TimeoutException("event registrations did not become active within 30 s");
    }

    /// <summary>The next event, or null if none arrives within <paramref name="timeout"/>.</summary>
    public async Task<Event?> NextAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return await _events.Reader.ReadAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _stream.NextAsync(_stop.Token).ConfigureAwait(false) is { } next)
            {
                await _events.Writer.WriteAsync(next).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stream.Dispose();
        _stop.Dispose();
    }
}
