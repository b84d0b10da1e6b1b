using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Underlay.Images.Tests.Support;

namespace Underlay.Images.Tests;

/// <summary>
/// The Docker token flow (distribution token-auth spec) against a small fake registry on loopback: 401 with a
/// Bearer challenge, a token fetched from the realm with Basic credentials, then the request again with the token.
/// The fake serves a multi-platform index, so platform selection is exercised too.
/// </summary>
public sealed class TokenAuthTests(TestImages images)
{
    [Fact]
    public async Task Bearer_challenges_are_answered_with_a_token_from_the_realm()
    {
        var port = FreePort();
        var prefix = $"http://127.0.0.1:{port}/";
        using var listener = new HttpListener();
        listener.Prefixes.Add(prefix);
        listener.Start();
        var log = new List<string>();
        var layout = images.Layout;
        var index = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(layout, "index.json"), TestContext.Current.CancellationToken))!;
        var svc = index["manifests"]!.AsArray().Single(m => m!["annotations"]!["org.opencontainers.image.ref.name"]!.GetValue<string>() == "svc")!;
        var multiPlatform = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = "application/vnd.oci.image.index.v1+json",
            ["manifests"] = new JsonArray(
                new JsonObject { ["mediaType"] = "application/vnd.oci.image.manifest.v1+json", ["digest"] = "sha256:" + new string('0', 64), ["size"] = 10, ["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "arm64" } },
                new JsonObject { ["mediaType"] = svc["mediaType"]!.GetValue<string>(), ["digest"] = svc["digest"]!.GetValue<string>(), ["size"] = svc["size"]!.GetValue<long>(), ["platform"] = new JsonObject { ["os"] = "linux", ["architecture"] = "amd64" } }),
        };
        var indexBytes = Encoding.UTF8.GetBytes(multiPlatform.ToJsonString());

        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var server = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync().WaitAsync(stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var request = context.Request;
                var response = context.Response;
                var path = request.Url!.AbsolutePath;
                lock (log)
                {
                    log.Add($"{request.HttpMethod} {path} {request.Headers["Authorization"]?.Split(' ')[0]}");
                }

                if (path == "/token")
                {
                    var basic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("robot:hunter2"));
                    if (request.Headers["Authorization"] != basic || request.QueryString["scope"] != "repository:test/svc:pull" || request.QueryString["service"] != "fake-registry")
                    {
                        response.StatusCode = 401;
                    }
                    else
                    {
                        await Write(response, "application/json", "{\"token\":\"tok-123\"}"u8.ToArray());
                    }
                }
                else if (request.Headers["Authorization"] != "Bearer tok-123")
                {
                    response.StatusCode = 401;
                    response.AddHeader("WWW-Authenticate", $"Bearer realm=\"{prefix}token\",service=\"fake-registry\",scope=\"repository:test/svc:pull\"");
                }
                else if (path == "/v2/test/svc/manifests/v1")
                {
                    await Write(response, "application/vnd.oci.image.index.v1+json", indexBytes);
                }
                else if (path.StartsWith("/v2/test/svc/manifests/sha256:", StringComparison.Ordinal) || path.StartsWith("/v2/test/svc/blobs/sha256:", StringComparison.Ordinal))
                {
                    var file = Path.Combine(layout, "blobs", "sha256", path[(path.LastIndexOf(':') + 1)..]);
                    if (File.Exists(file))
                    {
                        await Write(response, path.Contains("/manifests/", StringComparison.Ordinal) ? "application/vnd.oci.image.manifest.v1+json" : "application/octet-stream", await File.ReadAllBytesAsync(file));
                    }
                    else
                    {
                        response.StatusCode = 404;
                    }
                }
                else
                {
                    response.StatusCode = 404;
                }

                response.Close();
            }
        });

        try
        {
            using var directory = new TempDirectory("token");
            var options = new RegistryOptions { RequestTimeout = TimeSpan.FromSeconds(30) };
            options.PlainHttpHosts.Add($"127.0.0.1:{port}");
            options.Credentials[$"127.0.0.1:{port}"] = new RegistryCredential("robot", "hunter2");
            var result = await Builds.BuildAsync(directory, $"services:\n  - name: svc\n    image: 127.0.0.1:{port}/test/svc:v1\n",
                [OutputFormat.Tar], useOutputCache: false, null, options);
            Assert.Equal(2, result.ManifestRequests);
            Assert.True(result.BlobsPulled >= 2);
            string[] entries;
            lock (log)
            {
                entries = [.. log];
            }

            Assert.Equal("GET /v2/test/svc/manifests/v1 ", entries[0]);
            Assert.Equal("GET /token Basic", entries[1]);
            Assert.Equal("GET /v2/test/svc/manifests/v1 Bearer", entries[2]);
            Assert.DoesNotContain(entries, e => e.Contains(new string('0', 64), StringComparison.Ordinal));
            Assert.Equal(1, entries.Count(e => e.StartsWith("GET /token", StringComparison.Ordinal)));
        }
        finally
        {
            await stop.CancelAsync();
            listener.Stop();
            await server;
        }
    }

    private static async Task Write(HttpListenerResponse response, string contentType, byte[] body)
    {
        response.ContentType = contentType;
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
