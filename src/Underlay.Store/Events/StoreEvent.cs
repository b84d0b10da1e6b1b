using System.Text.Json;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Store.Events;

/// <summary>
/// One change notification inside the server. The wire form (<see cref="Event"/> as JSON) is produced at most once
/// per event, however many subscribers receive it.
/// </summary>
public sealed class StoreEvent
{
    private byte[]? _utf8;

    public StoreEvent(DateTime time, string type, string action, string key, string principal, ModelBase? obj, ModelBase? original, JsonElement? data = null)
    {
        Time = time;
        Type = type;
        Action = action;
        Key = key;
        Principal = principal;
        Object = obj;
        Original = original;
        Data = data;
    }

    public DateTime Time { get; }

    public string Type { get; }

    public string Action { get; }

    public string Key { get; }

    public string Principal { get; }

    /// <summary>The object after the change (null for delete of nothing, and for non-object events).</summary>
    public ModelBase? Object { get; }

    /// <summary>The object before the change, for updates and deletes.</summary>
    public ModelBase? Original { get; }

    /// <summary>Payload of non-object events (tftp.serve, dhcp.ack, ...).</summary>
    public JsonElement? Data { get; }

    /// <summary>The event as DRP's JSON <c>{Time, Type, Action, Key, Principal, Object, Original}</c>.</summary>
    public byte[] ToUtf8Json()
    {
        var cached = Volatile.Read(ref _utf8);
        if (cached is not null)
        {
            return cached;
        }

        var wire = new Event
        {
            Time = Time,
            Type = Type,
            Action = Action,
            Key = Key,
            Principal = Principal,
            Object = Object is not null ? ModelTypes.Of(Object).ToOutputElement(Object) : Data,
            Original = Original is not null ? ModelTypes.Of(Original).ToOutputElement(Original) : null,
        };
        cached = JsonSerializer.SerializeToUtf8Bytes(wire, UnderlayJsonContext.Default.Event);
        Volatile.Write(ref _utf8, cached);
        return cached;
    }
}
