namespace Underlay.Boot.Files;

/// <summary>
/// Boot loader binaries served under DRP's names, taken from Debian's <c>ipxe</c> package at start (never
/// committed): DHCP hands out <c>ipxe.pxe</c> (BIOS), <c>ipxe.efi</c> (x64 UEFI) and <c>ipxe-arm64.efi</c>. DRP's
/// <c>ipxe.pxe</c> is iPXE's UNDI build, which drives the NIC through the firmware's own PXE stack and so works on
/// any BIOS PXE ROM; <c>ipxe.efi</c> is the full EFI build. Every file of the package directory is also served under
/// its own name (<c>undionly.kpxe</c>, <c>snponly.efi</c>, <c>ipxe.lkrn</c>...). A file of the same name in the file
/// root wins, as DRP's <c>--replace-root</c> files do.
/// </summary>
public sealed class LoaderAssets
{
    /// <summary>Where Debian installs iPXE (package <c>ipxe</c>; arm64 builds, where a package ships them, below it).</summary>
    public static readonly IReadOnlyList<string> DefaultDirectories = ["/usr/lib/ipxe"];

    /// <summary>DRP's loader names and the package files they are, in order of preference.</summary>
    private static readonly (string Name, string[] Candidates)[] Aliases =
    [
        ("ipxe.pxe", ["undionly.kpxe", "ipxe.pxe"]),
        ("ipxe.efi", ["ipxe.efi", "snponly.efi"]),
        ("ipxe-arm64.efi", ["arm64-efi/snponly.efi", "arm64-efi/ipxe.efi", "ipxe-arm64.efi", "snponly-arm64.efi"]),
        ("ipxe.lkrn", ["ipxe.lkrn"]),
    ];

    private readonly Dictionary<string, string> _files;

    private LoaderAssets(Dictionary<string, string> files, IReadOnlyList<string> missing, IReadOnlyList<string> searched)
    {
        _files = files;
        Missing = missing;
        Searched = searched;
    }

    /// <summary>Served name → file on disk.</summary>
    public IReadOnlyDictionary<string, string> Files => _files;

    /// <summary>DRP loader names no package file was found for.</summary>
    public IReadOnlyList<string> Missing { get; }

    public IReadOnlyList<string> Searched { get; }

    public static LoaderAssets None { get; } = new([], [.. Aliases.Select(a => a.Name)], []);

    public static LoaderAssets Locate(IReadOnlyList<string>? directories = null)
    {
        directories ??= DefaultDirectories;
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var directory in directories)
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(directory))
            {
                files.TryAdd(Path.GetFileName(file), file);
            }
        }

        var missing = new List<string>();
        foreach (var (name, candidates) in Aliases)
        {
            var found = directories.SelectMany(d => candidates.Select(c => Path.Combine(d, c))).FirstOrDefault(File.Exists);
            if (found is not null)
            {
                files[name] = found;
            }
            else
            {
                missing.Add(name);
            }
        }

        return new LoaderAssets(files, missing, directories);
    }

    public string? Find(string name) => _files.GetValueOrDefault(name);
}
