using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.TestUtilities;

/// <summary>
/// Talks to an <c>underlayd</c> that runs inside a lab namespace: every TCP connection is made from a socket
/// created in that namespace (<see cref="NetnsSocket"/>), so the host namespace is never touched. Trusts exactly
/// the server's own certificate.
/// </summary>
public sealed class NamespaceApiClient : IDisposable
{
    private readonly SocketsHttpHandler _handler;
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly AuthenticationHeaderValue _authorization;

    public NamespaceApiClient(string ns, Uri endpoint, string user, string password, string? certificateFile)
    {
        _endpoint = endpoint;
        var trusted = certificateFile is not null && File.Exists(certificateFile) ? X509CertificateLoader.LoadCertificateFromFile(certificateFile) : null;
        _handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = NetnsSocket.CreateTcp(ns);
                try
                {
                    socket.NoDelay = true;
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    trusted is not null && certificate is not null && certificate.GetCertHashString() == trusted.GetCertHashString(),
            },
        };
        _http = new HttpClient(_handler, disposeHandler: false) { BaseAddress = new Uri(endpoint, "/api/v3/"), Timeout = TimeSpan.FromSeconds(30) };
        _authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        _http.DefaultRequestHeaders.Authorization = _authorization;
    }

    public async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? json = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Creates an object through the API; fails the test with the server's message otherwise.</summary>
    public async Task<T> CreateAsync<T>(T model, CancellationToken cancellationToken = default)
        where T : ModelBase
    {
        var type = ModelTypes.Of(model);
        var (status, body) = await SendAsync(HttpMethod.Post, type.Prefix, Encoding.UTF8.GetString(type.Serialize(model)), cancellationToken).ConfigureAwait(false);
        if ((int)status is < 200 or > 299)
        {
            throw new InvalidOperationException($"POST {type.Prefix} failed with {(int)status}: {body}");
        }

        return (T)type.Deserialize(Encoding.UTF8.GetBytes(body));
    }

    public async Task<List<T>> ListAsync<T>(string query = "", CancellationToken cancellationToken = default)
        where T : ModelBase
    {
        var type = ModelTypes.Of<T>();
        var (status, body) = await SendAsync(HttpMethod.Get, type.Prefix + query, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {type.Prefix} failed with {(int)status}: {body}");
        }

        var list = new List<T>();
        using var document = JsonDocument.Parse(body);
        foreach (var element in document.RootElement.EnumerateArray())
        {
            list.Add((T)type.Deserialize(Encoding.UTF8.GetBytes(element.GetRawText())));
        }

        return list;
    }

    public async Task<Info> InfoAsync(CancellationToken cancellationToken = default)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, "info", cancellationToken: cancellationToken).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"GET info failed with {(int)status}");
        }

        return JsonSerializer.Deserialize(body, UnderlayJsonContext.Default.Info)!;
    }

    /// <summary>Opens the event websocket and registers <c>type.action.key</c> patterns.</summary>
    public async Task<ClientWebSocket> WatchAsync(IEnumerable<string> registrations, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", _authorization.ToString());
        try
        {
            var uri = new UriBuilder(new Uri(_endpoint, "/api/v3/ws")) { Scheme = "wss" }.Uri;
            await socket.ConnectAsync(uri, new HttpMessageInvoker(_handler, disposeHandler: false), cancellationToken).ConfigureAwait(false);
            foreach (var registration in registrations)
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes($"register {registration}"), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return socket;
    }

    public void Dispose()
    {
        _http.Dispose();
        _handler.Dispose();
    }
}
