using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Client;

/// <summary>A raw API answer: status, headers and body bytes.</summary>
public sealed record ApiResponse(HttpStatusCode Status, HttpResponseHeaders Headers, HttpContentHeaders? ContentHeaders, byte[] Body)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public string Text => Encoding.UTF8.GetString(Body);

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var values) || ContentHeaders?.TryGetValues(name, out values) == true ? values.FirstOrDefault() : null;
}

/// <summary>An API call that failed, carrying DRP's error body.</summary>
public sealed class UnderlayApiException : Exception
{
    public UnderlayApiException(ApiError error)
        : base(error.ToString()) => Error = error;

    public UnderlayApiException()
        : this(new ApiError())
    {
    }

    public UnderlayApiException(string message)
        : base(message) => Error = new ApiError { Messages = [message] };

    public UnderlayApiException(string message, Exception innerException)
        : base(message, innerException) => Error = new ApiError { Messages = [message] };

    public ApiError Error { get; }

    public int Code => Error.Code;
}

/// <summary>
/// Typed client for <c>/api/v3</c>, shared by the CLI, the agent, tests and benchmarks. AOT-clean: every body goes
/// through the source-generated <see cref="UnderlayJsonContext"/>.
/// </summary>
public sealed class UnderlayClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly ClientOptions _options;

    public UnderlayClient(ClientOptions options)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, chain, errors) => options.ValidateCertificate(certificate as System.Security.Cryptography.X509Certificates.X509Certificate2, chain, errors) },
        };
        _http = new HttpClient(handler)
        {
            BaseAddress = new Uri(options.Endpoint, "/api/v3/"),
            Timeout = options.Timeout,
        };
        if (options.Token is { } token)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (options.Username is { } user)
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{options.Password}"));
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }
    }

    public ClientOptions Options => _options;

    /// <summary>Sends one request; never throws for HTTP error statuses (see <see cref="EnsureSuccess"/>).</summary>
    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, byte[]? body = null, string contentType = "application/json", IReadOnlyDictionary<string, string>? headers = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return new ApiResponse(response.StatusCode, response.Headers, response.Content.Headers, bytes);
    }

    /// <summary>Throws <see cref="UnderlayApiException"/> with the server's error body for a failed response.</summary>
    public static ApiResponse EnsureSuccess(ApiResponse response)
    {
        if (response.IsSuccess)
        {
            return response;
        }

        ApiError? error = null;
        try
        {
            error = response.Body.Length > 0 ? JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.ApiError) : null;
        }
        catch (JsonException)
        {
        }

        error ??= new ApiError { Code = (int)response.Status, Messages = [response.Body.Length > 0 ? response.Text : response.Status.ToString()] };
        if (error.Code == 0)
        {
            error.Code = (int)response.Status;
        }

        throw new UnderlayApiException(error);
    }

    public static string Escape(string id) => Uri.EscapeDataString(id);

    public async Task<List<ModelBase>> ListAsync(ModelType type, string query = "", CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, type.Prefix + (query.Length > 0 ? "?" + query.TrimStart('?') : ""), cancellationToken: cancellationToken).ConfigureAwait(false));
        using var document = JsonDocument.Parse(response.Body);
        return [.. document.RootElement.EnumerateArray().Select(e => type.Deserialize(e, UnderlayJson.LenientInput))];
    }

    public async Task<ModelBase> GetAsync(ModelType type, string id, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, $"{type.Prefix}/{Escape(id)}", cancellationToken: cancellationToken).ConfigureAwait(false));
        return type.Deserialize(response.Body, UnderlayJson.LenientInput);
    }

    public async Task<T> GetAsync<T>(string id, CancellationToken cancellationToken = default)
        where T : ModelBase => (T)await GetAsync(ModelTypes.Of<T>(), id, cancellationToken).ConfigureAwait(false);

    public async Task<ModelBase> CreateAsync(ModelBase model, CancellationToken cancellationToken = default)
    {
        var type = ModelTypes.Of(model);
        var response = EnsureSuccess(await SendAsync(HttpMethod.Post, type.Prefix, type.SerializeForOutput(model), cancellationToken: cancellationToken).ConfigureAwait(false));
        return type.Deserialize(response.Body, UnderlayJson.LenientInput);
    }

    public async Task<T> CreateAsync<T>(T model, CancellationToken cancellationToken = default)
        where T : ModelBase => (T)await CreateAsync((ModelBase)model, cancellationToken).ConfigureAwait(false);

    public async Task<ModelBase> PutAsync(ModelBase model, string? ifMatch = null, CancellationToken cancellationToken = default)
    {
        var type = ModelTypes.Of(model);
        var headers = ifMatch is null ? null : new Dictionary<string, string> { ["If-Match"] = ifMatch };
        var response = EnsureSuccess(await SendAsync(HttpMethod.Put, $"{type.Prefix}/{Escape(model.Key)}", type.SerializeForOutput(model), headers: headers, cancellationToken: cancellationToken).ConfigureAwait(false));
        return type.Deserialize(response.Body, UnderlayJson.LenientInput);
    }

    /// <summary>Applies an RFC 6902 patch (a JSON array of operations).</summary>
    public async Task<ModelBase> PatchAsync(ModelType type, string id, string patchJson, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Patch, $"{type.Prefix}/{Escape(id)}", Encoding.UTF8.GetBytes(patchJson), "application/json-patch+json", cancellationToken: cancellationToken).ConfigureAwait(false));
        return type.Deserialize(response.Body, UnderlayJson.LenientInput);
    }

    public async Task<ModelBase> DeleteAsync(ModelType type, string id, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Delete, $"{type.Prefix}/{Escape(id)}", cancellationToken: cancellationToken).ConfigureAwait(false));
        return type.Deserialize(response.Body, UnderlayJson.LenientInput);
    }

    public async Task<Dictionary<string, JsonElement>> GetParamsAsync(ModelType type, string id, bool aggregate = false, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, $"{type.Prefix}/{Escape(id)}/params{(aggregate ? "?aggregate=true" : "")}", cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.DictionaryStringJsonElement) ?? [];
    }

    public async Task<JsonElement> GetParamAsync(ModelType type, string id, string name, bool aggregate = false, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, $"{type.Prefix}/{Escape(id)}/params/{name}{(aggregate ? "?aggregate=true" : "")}", cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.JsonElement);
    }

    public async Task<JsonElement> SetParamAsync(ModelType type, string id, string name, JsonElement value, CancellationToken cancellationToken = default)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, UnderlayJsonContext.Default.JsonElement);
        var response = EnsureSuccess(await SendAsync(HttpMethod.Post, $"{type.Prefix}/{Escape(id)}/params/{name}", body, cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.JsonElement);
    }

    public async Task<Info> InfoAsync(CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, "info", cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.Info)!;
    }

    public async Task<UserToken> UserTokenAsync(string user, string? ttl = null, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, $"users/{Escape(user)}/token{(ttl is null ? "" : "?ttl=" + Escape(ttl))}", cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.UserToken)!;
    }

    public async Task<UserToken> MachineTokenAsync(string machine, string? ttl = null, CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, $"machines/{Escape(machine)}/token{(ttl is null ? "" : "?ttl=" + Escape(ttl))}", cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.UserToken)!;
    }

    public async Task<List<ContentSummary>> ListContentsAsync(CancellationToken cancellationToken = default)
    {
        var response = EnsureSuccess(await SendAsync(HttpMethod.Get, "contents", cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.ListContentSummary) ?? [];
    }

    /// <summary>Uploads a pack (JSON or YAML bytes); replaces an existing pack of the same name when <paramref name="replace"/> is set.</summary>
    public async Task<ContentSummary> UploadContentAsync(byte[] pack, string? replace = null, CancellationToken cancellationToken = default)
    {
        var contentType = YamlJson.LooksLikeJson(pack) ? "application/json" : "application/yaml";
        var response = EnsureSuccess(replace is null
            ? await SendAsync(HttpMethod.Post, "contents", pack, contentType, cancellationToken: cancellationToken).ConfigureAwait(false)
            : await SendAsync(HttpMethod.Put, $"contents/{Escape(replace)}", pack, contentType, cancellationToken: cancellationToken).ConfigureAwait(false));
        return JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.ContentSummary)!;
    }

    public async Task DeleteContentAsync(string name, CancellationToken cancellationToken = default) =>
        EnsureSuccess(await SendAsync(HttpMethod.Delete, $"contents/{Escape(name)}", cancellationToken: cancellationToken).ConfigureAwait(false));

    /// <summary>Opens the event websocket and registers the given <c>type.action.key</c> patterns.</summary>
    public async Task<EventStream> WatchAsync(IEnumerable<string> registrations, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            _options.ValidateCertificate(certificate as System.Security.Cryptography.X509Certificates.X509Certificate2, chain, errors);
        if (_http.DefaultRequestHeaders.Authorization is { } authorization)
        {
            socket.Options.SetRequestHeader("Authorization", authorization.ToString());
        }

        var builder = new UriBuilder(new Uri(_http.BaseAddress!, "ws")) { Scheme = _options.Endpoint.Scheme == "https" ? "wss" : "ws" };
        try
        {
            await socket.ConnectAsync(builder.Uri, cancellationToken).ConfigureAwait(false);
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

        return new EventStream(socket);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Events arriving on a websocket, one <see cref="Event"/> per text frame.</summary>
public sealed class EventStream : IDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];

    internal EventStream(ClientWebSocket socket) => _socket = socket;

    public WebSocketState State => _socket.State;

    /// <summary>Registers another pattern on the open socket.</summary>
    public Task RegisterAsync(string pattern, CancellationToken cancellationToken = default) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes($"register {pattern}"), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>The next event, or null when the server closed the stream.</summary>
    public async Task<Event?> NextAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await _socket.ReceiveAsync(_buffer, cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return null;
                }

                message.Write(_buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            var bytes = message.ToArray();
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.TryGetProperty("Error", out _))
            {
                throw new UnderlayApiException(Encoding.UTF8.GetString(bytes));
            }

            if (document.RootElement.TryGetProperty("Type", out _))
            {
                return JsonSerializer.Deserialize(bytes, UnderlayJsonContext.Default.Event);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).Wait(TimeSpan.FromSeconds(2));
            }
        }
        catch (Exception e) when (e is WebSocketException or AggregateException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }
}
