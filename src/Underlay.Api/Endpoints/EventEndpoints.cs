using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Underlay.Api.Auth;
using Underlay.Api.Http;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Store.Events;

namespace Underlay.Api.Endpoints;

/// <summary>
/// <c>GET /api/v3/ws</c>: the event stream. Clients send text frames <c>register type.action.key</c> and
/// <c>deregister type.action.key</c> (any part may be <c>*</c>; the key is everything after the second dot) and
/// receive each matching event as one JSON text frame — only events their claims allow them to read.
/// <c>POST /api/v3/events</c> publishes an event (agents report progress this way).
/// </summary>
internal static class EventEndpoints
{
    private const int MaxRegistrations = 256;

    public static void Map(RouteGroupBuilder api, ApiServices services)
    {
        api.Get("/ws", context => WebSocketAsync(context, services)).WithTags("events").ExcludeFromDescription();
        api.Post("/events", context => PostAsync(context, services)).WithTags("events").Produces(204);
    }

    private static async Task WebSocketAsync(HttpContext context, ApiServices services)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ApiHttp.WriteErrorAsync(context, 400, "events", "", "this endpoint speaks websocket only").ConfigureAwait(false);
            return;
        }

        var principal = context.Principal();
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var registrations = new Registrations();
        using var subscription = services.Store.Events.Subscribe(e => registrations.Matches(e) && MayRead(services, principal, e));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        using var sendGate = new SemaphoreSlim(1, 1);
        var sender = SendLoopAsync(socket, sendGate, subscription, stop.Token);
        try
        {
            var buffer = new byte[4096];
            while (socket.State == WebSocketState.Open && !stop.IsCancellationRequested)
            {
                var message = await ReceiveTextAsync(socket, buffer, stop.Token).ConfigureAwait(false);
                if (message is null)
                {
                    break;
                }

                var reply = registrations.Apply(message);
                if (reply is not null)
                {
                    await SendAsync(socket, sendGate, Encoding.UTF8.GetBytes(reply), stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await sender.ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }

            if (socket.State == WebSocketState.Open)
            {
                var status = subscription.Overflowed ? WebSocketCloseStatus.PolicyViolation : WebSocketCloseStatus.NormalClosure;
                await socket.CloseOutputAsync(status, subscription.Overflowed ? "event stream overflow: reconnect" : "bye", CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    private static bool MayRead(ApiServices services, Principal principal, StoreEvent storeEvent) =>
        services.Authorizer.Allows(principal, storeEvent.Type, "get", storeEvent.Key, storeEvent.Object);

    private static async Task SendLoopAsync(WebSocket socket, SemaphoreSlim sendGate, EventSubscription subscription, CancellationToken cancellationToken)
    {
        await foreach (var storeEvent in subscription.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await SendAsync(socket, sendGate, storeEvent.ToUtf8Json(), cancellationToken).ConfigureAwait(false);
        }

        if (subscription.Overflowed && socket.State == WebSocketState.Open)
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "event stream overflow: reconnect", CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Sends may not overlap on one socket: event frames and registration replies share a per-connection gate.</summary>
    private static async Task SendAsync(WebSocket socket, SemaphoreSlim sendGate, byte[] payload, CancellationToken cancellationToken)
    {
        await sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await socket.SendAsync(payload, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            sendGate.Release();
        }
    }

    private static async Task<string?> ReceiveTextAsync(WebSocket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Write(buffer, 0, result.Count);
            if (message.Length > 64 * 1024)
            {
                return null;
            }

            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
            }
        }
    }

    private static async Task PostAsync(HttpContext context, ApiServices services)
    {
        var principal = context.Principal();
        var (ok, posted) = await ApiHttp.ReadJsonBodyAsync(context, UnderlayJsonContext.Default.Event, "events", "an event").ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        if (posted is null || posted.Type.Length == 0 || posted.Action.Length == 0)
        {
            await ApiHttp.WriteErrorAsync(context, 422, "events", "", "Type and Action must be set").ConfigureAwait(false);
            return;
        }

        if (!services.Authorizer.Allows(principal, "events", "post", posted.Type))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "events", "", "may not post events").ConfigureAwait(false);
            return;
        }

        services.Store.PublishEvent(new StoreEvent(services.Time.GetUtcNow().UtcDateTime, posted.Type, posted.Action, posted.Key, principal.Name, null, null, posted.Object));
        context.Response.StatusCode = 204;
    }

    /// <summary>The set of <c>type.action.key</c> patterns one connection registered.</summary>
    private sealed class Registrations
    {
        private volatile (string Type, string Action, string Key)[] _patterns = [];

        public bool Matches(StoreEvent storeEvent)
        {
            foreach (var (type, action, key) in _patterns)
            {
                if ((type == "*" || type == storeEvent.Type) && (action == "*" || action == storeEvent.Action) && (key == "*" || key == storeEvent.Key))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Handles one client frame; returns an error text to send back, or null.</summary>
        public string? Apply(string message)
        {
            var text = message.Trim();
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            var verb = space < 0 ? text : text[..space];
            var argument = space < 0 ? "" : text[(space + 1)..].Trim();
            var parts = argument.Split('.', 3);
            if (verb is not ("register" or "deregister") || parts.Length != 3 || parts.Any(p => p.Length == 0))
            {
                return "{\"Error\":\"expected 'register type.action.key' or 'deregister type.action.key'\"}";
            }

            var pattern = (parts[0], parts[1], parts[2]);
            if (verb == "register")
            {
                if (_patterns.Length >= MaxRegistrations)
                {
                    return "{\"Error\":\"too many registrations\"}";
                }

                if (!_patterns.Contains(pattern))
                {
                    _patterns = [.. _patterns, pattern];
                }
            }
            else
            {
                _patterns = [.. _patterns.Where(p => p != pattern)];
            }

            return null;
        }
    }
}
