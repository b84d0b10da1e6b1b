using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Underlay.Api.Auth;

namespace Underlay.Server.Hosting;

/// <summary>
/// The API's certificate: the one configured, or a self-signed ECDSA P-384 certificate (as DRP generates)
/// created at first start under the data directory with its key readable only by the server.
/// </summary>
internal static class TlsCertificates
{
    public static X509Certificate2 LoadOrCreate(ServerOptions options, out string certificatePath)
    {
        if (options.TlsCertificate is { } configured)
        {
            certificatePath = configured;
            return Load(configured, options.TlsKey ?? throw new InvalidOperationException("--tls-cert needs --tls-key"));
        }

        certificatePath = Path.Combine(options.TlsDirectory, "server.crt");
        var keyPath = Path.Combine(options.TlsDirectory, "server.key");
        if (File.Exists(certificatePath) && File.Exists(keyPath))
        {
            return Load(certificatePath, keyPath);
        }

        Directory.CreateDirectory(options.TlsDirectory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new CertificateRequest($"CN={Environment.MachineName}, O=Underlay", key, HashAlgorithmName.SHA384);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddDnsName(Environment.MachineName);
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        if (options.StaticIp is { } staticIp)
        {
            names.AddIpAddress(staticIp);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        SecretFiles.Write(keyPath, key.ExportPkcs8PrivateKeyPem());
        return Load(certificatePath, keyPath);
    }

    private static X509Certificate2 Load(string certificatePath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

        // Kestrel on Linux needs the key in an exportable, non-ephemeral form; a PKCS#12 round trip provides it.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
