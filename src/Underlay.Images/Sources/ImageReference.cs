namespace Underlay.Images.Sources;

internal enum ReferenceKind
{
    Registry,
    OciDirectory,
    OciArchive,
}

/// <summary>
/// An image reference. Registry references follow the Docker grammar (<c>[host[:port]/]path[:tag][@digest]</c>,
/// with Docker Hub's <c>docker.io</c> and <c>library/</c> defaults, as LinuxKit's ReferenceExpand does). Local
/// OCI layouts use skopeo's transport syntax: <c>oci:DIR[:REF]</c> and <c>oci-archive:FILE[:REF]</c>.
/// </summary>
internal sealed record ImageReference
{
    public const string DefaultRegistry = "docker.io";

    public required ReferenceKind Kind { get; init; }
    public required string Original { get; init; }

    /// <summary>Registry host (with port), for registry references.</summary>
    public string Registry { get; init; } = "";
    public string Repository { get; init; } = "";
    public string? Tag { get; init; }
    public string? Digest { get; init; }

    /// <summary>Directory or archive path, for layout references.</summary>
    public string LayoutPath { get; init; } = "";

    /// <summary>The <c>org.opencontainers.image.ref.name</c> to look for in a layout (null: its only image).</summary>
    public string? LayoutRefName { get; init; }

    /// <summary>The canonical name, also the ref name under which the cache stores a registry image.</summary>
    public string Canonical => Kind switch
    {
        ReferenceKind.Registry => Registry + "/" + Repository + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest),
        ReferenceKind.OciDirectory => "oci:" + LayoutPath + (LayoutRefName is null ? "" : ":" + LayoutRefName),
        _ => "oci-archive:" + LayoutPath + (LayoutRefName is null ? "" : ":" + LayoutRefName),
    };

    /// <summary>The registry API host: Docker Hub's API lives at registry-1.docker.io.</summary>
    public string ApiHost => Registry == DefaultRegistry ? "registry-1.docker.io" : Registry;

    public override string ToString() => Canonical;

    public static ImageReference Parse(string text, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.StartsWith("oci:", StringComparison.Ordinal) || text.StartsWith("oci-archive:", StringComparison.Ordinal))
        {
            var archive = text.StartsWith("oci-archive:", StringComparison.Ordinal);
            var rest = text[(archive ? "oci-archive:".Length : "oci:".Length)..];
            string? refName = null;
            var colon = rest.LastIndexOf(':');
            if (colon > 0 && rest.IndexOf('/', colon) < 0)
            {
                refName = rest[(colon + 1)..];
                rest = rest[..colon];
            }

            if (rest.Length == 0)
            {
                throw new ImageBuildException($"invalid image reference '{text}': missing path");
            }

            if (rest.StartsWith("~/", StringComparison.Ordinal))
            {
                rest = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), rest[2..]);
            }

            var full = Path.GetFullPath(rest, baseDirectory ?? Environment.CurrentDirectory);
            return new ImageReference
            {
                Kind = archive ? ReferenceKind.OciArchive : ReferenceKind.OciDirectory,
                Original = text,
                LayoutPath = full,
                LayoutRefName = string.IsNullOrEmpty(refName) ? null : refName,
            };
        }

        return ParseRegistry(text);
    }

    private static ImageReference ParseRegistry(string text)
    {
        var remainder = text;
        string? digest = null;
        var at = remainder.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = remainder[(at + 1)..];
            remainder = remainder[..at];
            Oci.Digest.Validate(digest);
        }

        string? tag = null;
        var lastSlash = remainder.LastIndexOf('/');
        var tagColon = remainder.LastIndexOf(':');
        if (tagColon > lastSlash)
        {
            tag = remainder[(tagColon + 1)..];
            remainder = remainder[..tagColon];
            if (tag.Length == 0 || tag.Length > 128 || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') || tag[0] is '.' or '-')
            {
                throw new ImageBuildException($"invalid image reference '{text}': bad tag '{tag}'");
            }
        }

        var registry = DefaultRegistry;
        var repository = remainder;
        var firstSlash = remainder.IndexOf('/', StringComparison.Ordinal);
        if (firstSlash > 0)
        {
            var first = remainder[..firstSlash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                registry = first;
                repository = remainder[(firstSlash + 1)..];
            }
        }

        if (registry == DefaultRegistry && !repository.Contains('/', StringComparison.Ordinal))
        {
            repository = "library/" + repository;
        }

        if (repository.Length == 0 || repository.Split('/').Any(c => c.Length == 0 ||
                !c.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '.' or '_' or '-')))
        {
            throw new ImageBuildException($"invalid image reference '{text}': repository names are lower-case letters, digits and separators");
        }

        if (tag is null && digest is null)
        {
            tag = "latest";
        }

        return new ImageReference { Kind = ReferenceKind.Registry, Original = text, Registry = registry, Repository = repository, Tag = tag, Digest = digest };
    }
}
