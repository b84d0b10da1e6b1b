using System.CommandLine;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Spectre.Console;
using Underlay.Client;

namespace Underlay.Cli.Commands;

/// <summary>
/// <c>underlay isos …</c> and <c>underlay files …</c> (drpcli's verbs): list, upload, download, destroy install
/// media and files in the server's boot file root. Uploads stream from disk with a progress bar when standard
/// output is a terminal (quiet otherwise, for scripts), hash the bytes on the way and check the server stored
/// exactly those (the server's SHA-256 must match), and print the server's answer.
/// </summary>
internal static class FileCommands
{
    public static Command Isos() => Create("isos", "Install media (ISOs, tar archives) that boot environments explode", isIso: true);

    public static Command Files() => Create("files", "Files in the boot file root's files/ directory", isIso: false);

    private static Command Create(string scope, string description, bool isIso)
    {
        var command = new Command(scope, description);

        var listPath = new Argument<string?>("path") { Description = "Directory under files/", Arity = ArgumentArity.ZeroOrOne };
        var list = isIso ? new Command("list", "List uploaded ISOs") : new Command("list", "List a directory under files/") { listPath };
        list.Run(async (parse, cancellationToken) =>
        {
            using var client = CliContext.Client(parse);
            var path = isIso ? "isos" : "files" + (parse.GetValue(listPath) is { Length: > 0 } dir ? "?path=" + Uri.EscapeDataString(dir) : "");
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, path, cancellationToken: cancellationToken).ConfigureAwait(false));
            Printer.Write(parse.GetValue(CliContext.Format)!, response.Body);
        });

        var source = new Argument<string>("file") { Description = "Local file to upload" };
        var rest = new Argument<string[]>("as") { Description = $"'as <{(isIso ? "name" : "path")}>' (drpcli style); default: the file's name", Arity = ArgumentArity.ZeroOrMore };
        var explode = new Option<bool>("--explode") { Description = "Unpack the archive (tar, tar.gz, ISO) into the directory it is uploaded to" };
        var expected = new Option<string?>("--sha256") { Description = "Refuse the upload unless its SHA-256 is this (hex)" };
        var upload = new Command("upload", isIso ? "Upload an ISO; boot environments that name it are exploded" : "Upload a file") { source, rest, expected };
        if (!isIso)
        {
            upload.Options.Add(explode);
        }

        upload.Run(async (parse, cancellationToken) =>
        {
            var file = parse.GetValue(source)!;
            var target = Target(parse.GetValue(rest) ?? [], Path.GetFileName(file), "as");
            var query = new List<string>();
            if (parse.GetValue(expected) is { Length: > 0 } sha)
            {
                query.Add("sha256=" + Uri.EscapeDataString(sha));
            }

            if (!isIso && parse.GetValue(explode))
            {
                query.Add("explode=true");
            }

            var path = $"{scope}/{EscapePath(target)}{(query.Count > 0 ? "?" + string.Join('&', query) : "")}";
            var body = await UploadAsync(CliContext.Options(parse), path, file, cancellationToken).ConfigureAwait(false);
            Printer.Write(parse.GetValue(CliContext.Format)!, body);
        });

        var name = new Argument<string>(isIso ? "name" : "path");
        var to = new Argument<string[]>("to") { Description = "'to <local file>'; default: the name", Arity = ArgumentArity.ZeroOrMore };
        var download = new Command("download", "Download to a local file") { name, to };
        download.Run(async (parse, cancellationToken) =>
        {
            var remote = parse.GetValue(name)!;
            var local = Target(parse.GetValue(to) ?? [], Path.GetFileName(remote), "to");
            using var client = CliContext.Client(parse);
            var response = UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Get, $"{scope}/{EscapePath(remote)}", cancellationToken: cancellationToken).ConfigureAwait(false));
            await File.WriteAllBytesAsync(local, response.Body, cancellationToken).ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"{local}: {response.Body.Length} bytes").ConfigureAwait(false);
        });

        var destroyName = new Argument<string>(isIso ? "name" : "path");
        var destroy = new Command("destroy", "Delete it on the server") { destroyName };
        destroy.Run(async (parse, cancellationToken) =>
        {
            var remote = parse.GetValue(destroyName)!;
            using var client = CliContext.Client(parse);
            UnderlayClient.EnsureSuccess(await client.SendAsync(HttpMethod.Delete, $"{scope}/{EscapePath(remote)}", cancellationToken: cancellationToken).ConfigureAwait(false));
            await Console.Out.WriteLineAsync($"Deleted {scope}/{remote}").ConfigureAwait(false);
        });

        command.Subcommands.Add(list);
        command.Subcommands.Add(upload);
        command.Subcommands.Add(download);
        command.Subcommands.Add(destroy);
        return command;
    }

    /// <summary>drpcli's trailing <c>as NAME</c> / <c>to FILE</c>; a bare name is accepted too.</summary>
    private static string Target(string[] words, string fallback, string keyword) => words switch
    {
        [] => fallback,
        [var only] when only != keyword => only,
        [var first, var second] when first == keyword => second,
        _ => throw new CliException($"expected '{keyword} <name>', got '{string.Join(' ', words)}'"),
    };

    private static string EscapePath(string path) => string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.EscapeDataString));

    /// <summary>Streams the file as the request body and returns the answer; the server's SHA-256 must equal ours.</summary>
    internal static async Task<byte[]> UploadAsync(ClientOptions options, string path, string file, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            throw new CliException($"{file}: no such file");
        }

        using var http = CreateHttpClient(options);
        var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (input.ConfigureAwait(false))
        {
            using var hashing = new HashingStream(input);
            using var request = new HttpRequestMessage(HttpMethod.Post, path)
            {
                Content = new StreamContent(hashing, 1 << 20),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Content.Headers.ContentLength = input.Length;
            HttpResponseMessage response;
            if (Console.IsOutputRedirected)
            {
                response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                response = await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask(Markup.Escape(Path.GetFileName(file)), maxValue: Math.Max(1, input.Length));
                        hashing.Progress = bytes => task.Value = bytes;
                        var answer = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                        task.Value = task.MaxValue;
                        return answer;
                    }).ConfigureAwait(false);
            }

            using (response)
            {
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                UnderlayClient.EnsureSuccess(new ApiResponse(response.StatusCode, response.Headers, response.Content.Headers, body));
                var local = hashing.Sha256();
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty("Sha256", out var remote) && !string.Equals(remote.GetString(), local, StringComparison.OrdinalIgnoreCase))
                {
                    throw new CliException($"the server stored sha256 {remote.GetString()}, but {file} is {local}: the upload was corrupted");
                }

                return body;
            }
        }
    }

    /// <summary>
    /// An HttpClient for a streamed upload (the typed client buffers bodies in memory, which an ISO must not be):
    /// the same endpoint, credentials and certificate trust as <see cref="ClientOptions"/> — the pinned digest, or
    /// exactly the given CA/server certificate — and no overall timeout.
    /// </summary>
    private static HttpClient CreateHttpClient(ClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusted(options, certificate as X509Certificate2, errors) },
        };
        var http = new HttpClient(handler) { BaseAddress = new Uri(options.Endpoint, "/api/v3/"), Timeout = Timeout.InfiniteTimeSpan };
        if (options.Token is { } token)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (options.Username is { } user)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{options.Password}")));
        }

        return http;
    }

    private static bool Trusted(ClientOptions options, X509Certificate2? certificate, System.Net.Security.SslPolicyErrors errors)
    {
        if (options.Insecure)
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        if (options.PinnedCertificateSha256 is { } pin)
        {
            return string.Equals(Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256)), pin.Replace(":", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        }

        if (errors == System.Net.Security.SslPolicyErrors.None)
        {
            return true;
        }

        if (options.CaCertificateFile is null)
        {
            return false;
        }

        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(options.CaCertificateFile);
        if (trusted.Any(candidate => candidate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span)))
        {
            return true;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        return chain.Build(certificate) && (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
    }

    /// <summary>Hashes what the request body reads and reports how far it got.</summary>
    private sealed class HashingStream(Stream inner) : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _read;
        private string? _digest;

        public Action<long>? Progress { get; set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        /// <summary>
        /// The digest of everything read. It is taken when the body reaches its end, because HttpClient disposes the
        /// request content (and so this stream) as soon as the request is sent, before the answer is checked.
        /// </summary>
        public string Sha256() => _digest ?? throw new CliException("the upload ended before the whole file was sent");

        public override int Read(byte[] buffer, int offset, int count) => Count(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            return Count(buffer.Span[..read]);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(ReadOnlySpan<byte> data)
        {
            if (_digest is not null)
            {
                return data.Length;
            }

            _hash.AppendData(data);
            _read += data.Length;
            Progress?.Invoke(_read);
            if (data.Length == 0 || _read == inner.Length)
            {
                _digest = Convert.ToHexStringLower(_hash.GetHashAndReset());
            }

            return data.Length;
        }

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
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
