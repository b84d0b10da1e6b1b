using System.Threading.Channels;

namespace Underlay.Store.Events;

/// <summary>
/// In-process publish/subscribe for store changes and service events. Publishing never blocks: a subscriber that
/// falls more than its buffer behind is closed (its reader completes with <see cref="EventSubscription.Overflowed"/>)
/// and must resubscribe, so one slow websocket can never stall DHCP or the API.
/// </summary>
public sealed class EventBus
{
    private readonly object _gate = new();
    private EventSubscription[] _subscriptions = [];

    public int SubscriberCount => Volatile.Read(ref _subscriptions).Length;

    public EventSubscription Subscribe(Func<StoreEvent, bool> filter, int capacity = 4096)
    {
        var subscription = new EventSubscription(this, filter, capacity);
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    public void Publish(StoreEvent storeEvent)
    {
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            subscription.Offer(storeEvent);
        }
    }

    internal void Remove(EventSubscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions.Where(s => !ReferenceEquals(s, subscription))];
        }
    }
}

/// <summary>One subscriber's filtered, bounded queue of events.</summary>
public sealed class EventSubscription : IDisposable
{
    private readonly EventBus _bus;
    private readonly Channel<StoreEvent> _channel;
    private Func<StoreEvent, bool> _filter;

    internal EventSubscription(EventBus bus, Func<StoreEvent, bool> filter, int capacity)
    {
        _bus = bus;
        _filter = filter;
        _channel = Channel.CreateBounded<StoreEvent>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public ChannelReader<StoreEvent> Reader => _channel.Reader;

    /// <summary>True when events were lost because the reader fell behind; the subscription is then closed.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Replaces the filter (websocket register/deregister change it while connected).</summary>
    public void SetFilter(Func<StoreEvent, bool> filter) => Volatile.Write(ref _filter, filter);

    internal void Offer(StoreEvent storeEvent)
    {
        bool matches;
        try
        {
            matches = Volatile.Read(ref _filter)(storeEvent);
        }
        catch (Exception)
        {
            // A broken filter must not break publishing for everyone else.
            matches = false;
        }

        if (matches && !_channel.Writer.TryWrite(storeEvent))
        {
            Overflowed = true;
            _channel.Writer.TryComplete();
            _bus.Remove(this);
        }
    }

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _bus.Remove(this);
    }
}
