using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Underlay.Images.Oci;

namespace Underlay.Images.Sources;

/// <summary>
/// The subset of the OCI Distribution API v2 (distribution-spec spec.md) the builder needs: manifests by tag or
/// digest and blobs, with the Docker token flow on 401 (distribution token-auth spec: <c>WWW-Authenticate:
/// Bearer realm=…,service=…,scope=…</c>) and Basic auth. TLS is validated normally; extra roots can be trusted
/// through <see cref="RegistryOptions.TrustedCertificates"/> for this client only.
/// </summary>
internal sealed class RegistryClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly RegistryOptions _options;
    private readonly Dictionary<string, AuthenticationHeaderValue> _authorizations = new(StringComparer.Ordinal);
    private int _manifestRequests;
    private int _blobRequests;

    public RegistryClient(RegistryOptions options, HttpMessageHandler? handler = null)
    {
        _options = options;
        handler ??= CreateHandler(options);
        _http = new HttpClient(handler) { Timeout = options.RequestTimeout };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("underlay", "1.0"));
    }

    public int ManifestRequests => _manifestRequests;
    public int BlobRequests => _blobRequests;

    private static SocketsHttpHandler CreateHandler(RegistryOptions options)
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 5, ConnectTimeout = TimeSpan.FromSeconds(30) };
        if (options.TrustedCertificates.Count > 0)
        {
            var trusted = options.TrustedCertificates;
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (errors == SslPolicyErrors.None)
                    {
                        return true;
                    }

                    // Only chain errors may be cured by the extra roots; a name mismatch never is.
                    if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return chain.Build(leaf);
                },
            };
        }

        return handler;
    }

    /// <summary>Fetches a manifest or index; the body's digest is checked against the request and the server's header.</summary>
    public async Task<(byte[] Body, string MediaType, string Digest)> GetManifestAsync(ImageReference image, string reference, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _manifestRequests);
        using var response = await SendAsync(image, "manifests/" + reference, MediaTypes.AcceptedManifests, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var digest = Digest.Sha256(body);
        if (reference.Contains(':', StringComparison.Ordinal) && reference.StartsWith("sha256:", StringComparison.Ordinal) && reference != digest)
        {
            throw new ImageBuildException($"{image}: manifest digest mismatch: asked for {reference}, got {digest}");
        }

        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { } header &&
            header.StartsWith("sha256:", StringComparison.Ordinal) && header != digest)
        {
            throw new ImageBuildException($"{image}: manifest digest mismatch: registry says {header}, content is {digest}");
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
        return (body, mediaType, digest);
    }

    /// <summary>Opens a blob's bytes (redirects to storage are followed); the caller verifies them.</summary>
    public async Task<Stream> OpenBlobAsync(ImageReference image, Descriptor descriptor, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _blobRequests);
        var response = await SendAsync(image, "blobs/" + descriptor.Digest, null, cancellationToken).ConfigureAwait(false);
        return new ResponseStream(response, await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
    }

    private async Task<HttpResponseMessage> SendAsync(ImageReference image, string path, string[]? accept, CancellationToken cancellationToken)
    {
        var scheme = _options.PlainHttpHosts.Contains(image.Registry) ? "http" : "https";
        var uri = new Uri($"{scheme}://{image.ApiHost}/v2/{image.Repository}/{path}");
        var key = image.ApiHost + "|" + image.Repository;
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            foreach (var type in accept ?? [])
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
            }

            if (_authorizations.TryGetValue(key, out var authorization))
            {
                request.Headers.Authorization = authorization;
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new ImageBuildException($"{image}: cannot reach registry {image.ApiHost}: {e.Message}", e);
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ImageBuildException($"{image}: registry {image.ApiHost} did not answer in time", e);
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
                response.Dispose();
                _authorizations[key] = await AuthorizeAsync(image, challenge, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var detail = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                response.Dispose();
                throw new ImageBuildException(status switch
                {
                    401 => $"{image}: registry {image.ApiHost} refused the credentials{detail}",
                    403 => $"{image}: access to {image.Repository} on {image.ApiHost} is denied{detail}",
                    404 => $"{image}: {path.Split('/')[0].TrimEnd('s')} {path[(path.IndexOf('/', StringComparison.Ordinal) + 1)..]} not found on {image.ApiHost}{detail}",
                    _ => $"{image}: registry {image.ApiHost} answered {status} {response.ReasonPhrase}{detail}",
                });
            }

            return response;
        }
    }

    private async Task<AuthenticationHeaderValue> AuthorizeAsync(ImageReference image, AuthenticationHeaderValue? challenge, CancellationToken cancellationToken)
    {
        _options.Credentials.TryGetValue(image.Registry, out var credential);
        if (challenge is null || challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return credential is null
                ? throw new ImageBuildException($"{image}: registry {image.Registry} requires authentication; give credentials with --registry-auth {image.Registry}=USER:PASSWORD")
                : Basic(credential);
        }

        if (!challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new ImageBuildException($"{image}: unsupported authentication scheme '{challenge.Scheme}' from {image.Registry}");
        }

        var parameters = ParseChallenge(challenge.Parameter ?? "");
        if (!parameters.TryGetValue("realm", out var realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
        {
            throw new ImageBuildException($"{image}: registry {image.Registry} sent a Bearer challenge without a usable realm");
        }

        var query = new StringBuilder();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        var scope = parameters.TryGetValue("scope", out var s) ? s : $"repository:{image.Repository}:pull";
        query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
        var tokenUri = new UriBuilder(realmUri) { Query = query.ToString() }.Uri;
        using var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
        if (credential is not null)
        {
            request.Headers.Authorization = Basic(credential);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new ImageBuildException($"{image}: token request to {realmUri.Host} failed with {(int)response.StatusCode}" +
                (credential is null ? "; give credentials with --registry-auth" : ""));
        }

        TokenResponse? token;
        try
        {
            token = await JsonSerializer.DeserializeAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false),
                OciJsonContext.Default.TokenResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new ImageBuildException($"{image}: token endpoint {realmUri.Host} returned invalid JSON", e);
        }

        var value = token?.Token ?? token?.AccessToken;
        return string.IsNullOrEmpty(value)
            ? throw new ImageBuildException($"{image}: token endpoint {realmUri.Host} returned no token")
            : new AuthenticationHeaderValue("Bearer", value);
    }

    private static AuthenticationHeaderValue Basic(RegistryCredential credential) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.Username + ":" + credential.Password)));

    /// <summary>Parses <c>key="value",key2=value2</c> (RFC 7235 auth-params); commas may appear inside quotes.</summary>
    internal static Dictionary<string, string> ParseChallenge(string parameter)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            var equals = parameter.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var key = parameter[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < parameter.Length && parameter[i] == '"')
            {
                i++;
                while (i < parameter.Length && parameter[i] != '"')
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length)
                    {
                        i++;
                    }

                    value.Append(parameter[i++]);
                }

                i++;
            }
            else
            {
                while (i < parameter.Length && parameter[i] != ',')
                {
                    value.Append(parameter[i++]);
                }
            }

            result[key] = value.ToString().Trim();
        }

        return result;
    }

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            text = text.Trim();
            return text.Length == 0 ? "" : ": " + (text.Length > 300 ? text[..300] + "…" : text);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Keeps the response alive as long as its body stream.</summary>
    private sealed class ResponseStream(HttpResponseMessage response, Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
