using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Underlay.TestUtilities;

namespace Underlay.Images.Tests.Support;

/// <summary>
/// Debian's docker-registry (distribution 2.8) on 127.0.0.1 with TLS from a self-signed certificate made here and
/// htpasswd (bcrypt) auth, holding the test images pushed with skopeo. Killed by PID when the tests end.
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    public const string User = "builder";
    public const string Password = "s3cret-pass";
    private readonly TempDirectory _directory = new("registry");
    private BackgroundProcess? _registry;

    public int Port { get; private set; }
    public string Host => $"127.0.0.1:{Port}";
    public X509Certificate2 Certificate { get; private set; } = null!;
    public string CertificateDirectory => _directory.Combine("certs");
    public string StorageDirectory => _directory.Combine("data");
    public string Log => _registry?.Output ?? "";

    public RegistryOptions Options(bool withCredentials = true)
    {
        var options = new RegistryOptions { RequestTimeout = TimeSpan.FromSeconds(60) };
        options.TrustedCertificates.Add(Certificate);
        if (withCredentials)
        {
            options.Credentials[Host] = new RegistryCredential(User, Password);
        }

        return options;
    }

    public async ValueTask InitializeAsync()
    {
        TestEnvironment.RequireTool("docker-registry", "docker-registry");
        TestEnvironment.RequireTool("skopeo", "skopeo");
        TestEnvironment.RequireTool("htpasswd", "apache2-utils");
        Port = FreePort();

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=underlay-test-registry", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        Certificate = X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));
        Directory.CreateDirectory(CertificateDirectory);
        var certPem = certificate.ExportCertificatePem();
        await File.WriteAllTextAsync(_directory.Combine("cert.pem"), certPem);
        await File.WriteAllTextAsync(_directory.Combine("key.pem"), key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(CertificateDirectory, "ca.crt"), certPem);

        var htpasswd = await ExternalProcess.RunAsync("htpasswd", ["-Bbn", User, Password], TimeSpan.FromSeconds(30));
        Assert.True(htpasswd.ExitCode == 0, htpasswd.Combined);
        await File.WriteAllTextAsync(_directory.Combine("htpasswd"), htpasswd.StandardOutput);

        var config = $"""
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: {StorageDirectory}
            http:
              addr: 127.0.0.1:{Port}
              tls:
                certificate: {_directory.Combine("cert.pem")}
                key: {_directory.Combine("key.pem")}
            auth:
              htpasswd:
                realm: underlay-test
                path: {_directory.Combine("htpasswd")}
            """;
        await File.WriteAllTextAsync(_directory.Combine("config.yml"), config);
        _registry = ExternalProcess.StartBackground("docker-registry", ["serve", _directory.Combine("config.yml")]);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await CanConnectAsync(Port))
        {
            if (_registry.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("docker-registry did not start:\n" + _registry.Output);
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Pushes an image from an OCI layout with skopeo, over TLS with credentials.</summary>
    public async Task PushAsync(string layout, string refName, string repository)
    {
        var run = await ExternalProcess.RunAsync("skopeo",
            ["--insecure-policy", "copy", "--quiet", "--dest-creds", $"{User}:{Password}", "--dest-cert-dir", CertificateDirectory,
             $"oci:{layout}:{refName}", $"docker://{Host}/{repository}"],
            TimeSpan.FromMinutes(3));
        Assert.True(run.ExitCode == 0, "skopeo copy failed: " + run.Combined);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _registry?.Dispose();
        Certificate?.Dispose();
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}
