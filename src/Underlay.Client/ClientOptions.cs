using System.Security.Cryptography.X509Certificates;

namespace Underlay.Client;

/// <summary>How to reach and authenticate to an <c>underlayd</c>.</summary>
public sealed record ClientOptions
{
    /// <summary>DRP's default endpoint.</summary>
    public const string DefaultEndpoint = "https://127.0.0.1:8092";

    public Uri Endpoint { get; init; } = new(DefaultEndpoint);

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>A bearer token; wins over user name and password.</summary>
    public string? Token { get; init; }

    /// <summary>A PEM file holding the certificate (or CA) to trust for the API, e.g. the server's generated one.</summary>
    public string? CaCertificateFile { get; init; }

    /// <summary>Hex SHA-256 of the server certificate to accept (pinning), as agents are told on the kernel command line.</summary>
    public string? PinnedCertificateSha256 { get; init; }

    /// <summary>Skip certificate checks entirely; for labs only.</summary>
    public bool Insecure { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Reads settings from the environment: <c>UNDERLAY_ENDPOINT</c>, <c>UNDERLAY_USERNAME</c>/<c>UNDERLAY_PASSWORD</c>,
    /// <c>UNDERLAY_TOKEN</c>, <c>UNDERLAY_CA_CERT</c>, <c>UNDERLAY_CERT_SHA256</c>, <c>UNDERLAY_INSECURE</c>, and DRP's
    /// <c>RS_ENDPOINT</c>, <c>RS_KEY</c> (<c>user:password</c>) and <c>RS_TOKEN</c>.
    /// </summary>
    public static ClientOptions FromEnvironment(Func<string, string?>? getenv = null)
    {
        getenv ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => getenv(name) is { Length: > 0 } value ? value : null;
        string? user = Get("UNDERLAY_USERNAME");
        string? password = Get("UNDERLAY_PASSWORD");
        if (user is null && Get("RS_KEY") is { } key && key.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon)
        {
            user = key[..colon];
            password = key[(colon + 1)..];
        }

        var endpoint = Get("UNDERLAY_ENDPOINT") ?? Get("RS_ENDPOINT") ?? DefaultEndpoint;
        return new ClientOptions
        {
            Endpoint = new Uri(endpoint),
            Username = user,
            Password = password,
            Token = Get("UNDERLAY_TOKEN") ?? Get("RS_TOKEN"),
            CaCertificateFile = Get("UNDERLAY_CA_CERT"),
            PinnedCertificateSha256 = Get("UNDERLAY_CERT_SHA256"),
            Insecure = Get("UNDERLAY_INSECURE") is "1" or "true" or "yes",
        };
    }

    internal bool ValidateCertificate(X509Certificate2? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors)
    {
        if (Insecure)
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        if (PinnedCertificateSha256 is { } pin)
        {
            var actual = Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256));
            return string.Equals(actual, pin.Replace(":", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
        }

        if (errors == System.Net.Security.SslPolicyErrors.None)
        {
            return true;
        }

        if (CaCertificateFile is null)
        {
            return false;
        }

        // Trust exactly the given certificate(s): the server's own self-signed one, or a private CA.
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(CaCertificateFile);
        foreach (var candidate in trusted)
        {
            if (candidate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
            {
                // The operator handed us this exact certificate: that is as strong as pinning, whatever name it bears.
                return true;
            }
        }

        using var customChain = new X509Chain();
        customChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        customChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        customChain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        return customChain.Build(certificate) && (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
    }
}
