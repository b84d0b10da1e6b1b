using System.Security.Cryptography.X509Certificates;

namespace Underlay.Images;

/// <summary>Output formats (LINUXKIT.md §2). Only kernel+initrd, tar-kernel-initrd and tar are native; ISOs use xorriso.</summary>
public enum OutputFormat
{
    KernelInitrd,
    TarKernelInitrd,
    Tar,
    IsoBios,
    IsoEfi,
}

public static class OutputFormats
{
    public static string Name(OutputFormat format) => format switch
    {
        OutputFormat.KernelInitrd => "kernel+initrd",
        OutputFormat.TarKernelInitrd => "tar-kernel-initrd",
        OutputFormat.Tar => "tar",
        OutputFormat.IsoBios => "iso-bios",
        OutputFormat.IsoEfi => "iso-efi",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static bool TryParse(string text, out OutputFormat format)
    {
        foreach (var candidate in Enum.GetValues<OutputFormat>())
        {
            if (string.Equals(Name(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                format = candidate;
                return true;
            }
        }

        format = default;
        return false;
    }
}

/// <summary>Gzip effort for the initrd. Fastest is the default: see bench/images for the measured trade-off.</summary>
public enum InitrdCompression
{
    Fastest,
    Optimal,
    SmallestSize,
}

public sealed record RegistryCredential(string Username, string Password);

/// <summary>How to reach registries: credentials per host, extra trusted CA certificates, hosts spoken to over plain HTTP.</summary>
public sealed class RegistryOptions
{
    /// <summary>Credentials by registry host (with port when not 443), used for Basic auth and for token requests.</summary>
    public Dictionary<string, RegistryCredential> Credentials { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Certificates trusted as roots for registry TLS in addition to the system store (e.g. a private CA).</summary>
    public X509Certificate2Collection TrustedCertificates { get; } = [];

    /// <summary>Hosts reached over http:// instead of https:// (a local test registry without TLS).</summary>
    public HashSet<string> PlainHttpHosts { get; } = new(StringComparer.OrdinalIgnoreCase);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Parses "host=user:pass" (the --registry-auth option and UNDERLAY_REGISTRY_AUTH, comma separated).</summary>
    public void AddCredentials(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = item.IndexOf('=', StringComparison.Ordinal);
            var colon = equals < 0 ? -1 : item.IndexOf(':', equals);
            if (equals <= 0 || colon < 0)
            {
                throw new ImageBuildException($"registry credentials must look like host=user:password (got '{item.Split(':')[0]}:…')");
            }

            Credentials[item[..equals]] = new RegistryCredential(item[(equals + 1)..colon], item[(colon + 1)..]);
        }
    }
}

public enum BuildPhase
{
    Resolve,
    Pull,
    Scan,
    Assemble,
    Write,
    Done,
}

/// <summary>A progress report. <see cref="Bytes"/> is an increment for Pull and Scan, otherwise zero.</summary>
public sealed record BuildProgress(BuildPhase Phase, string Message, long Bytes = 0, long TotalBytes = 0);

/// <summary>What to build.</summary>
public sealed class BuildRequest
{
    /// <summary>LinuxKit YAML files, merged in order.</summary>
    public required IReadOnlyList<string> SpecFiles { get; init; }

    public IReadOnlyList<OutputFormat> Formats { get; init; } = [OutputFormat.KernelInitrd];

    public required string OutputDirectory { get; init; }

    /// <summary>Base name of the outputs; defaults to the first spec file's name without extension.</summary>
    public string? Name { get; init; }

    public required string CacheDirectory { get; init; }

    /// <summary>"os/arch[/variant]", e.g. linux/amd64.</summary>
    public string Platform { get; init; } = "linux/amd64";

    public RegistryOptions Registry { get; init; } = new();

    /// <summary>Ask registries again for tags already in the cache.</summary>
    public bool AlwaysPull { get; init; }

    public InitrdCompression Compression { get; init; } = InitrdCompression.Fastest;

    /// <summary>Skip the build when the outputs of an identical earlier build are present and unchanged.</summary>
    public bool UseOutputCache { get; init; } = true;

    public IProgress<BuildProgress>? Progress { get; init; }
}

public sealed record BuildOutput(string Path, long Size);

public sealed record BuildResult
{
    public required IReadOnlyList<BuildOutput> Outputs { get; init; }

    /// <summary>True when the outputs of an earlier build with the same inputs were kept.</summary>
    public bool UpToDate { get; init; }

    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Registry traffic of this build: manifest and blob requests, blobs and bytes downloaded.</summary>
    public int ManifestRequests { get; init; }
    public int BlobRequests { get; init; }
    public int BlobsPulled { get; init; }
    public long BytesPulled { get; init; }

    /// <summary>Digest over every resolved input (spec, image digests, file sources, options).</summary>
    public string InputDigest { get; init; } = "";
}
