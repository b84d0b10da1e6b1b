using System.Formats.Tar;

namespace Underlay.Images.Layers;

internal enum EntryKind
{
    File,
    Directory,
    Symlink,
    HardLink,
    CharDevice,
    BlockDevice,
    Fifo,
    Ignored,
}

/// <summary>The header of one tar entry, kept from the first pass; the data is read again in the second.</summary>
internal sealed class LayerEntry
{
    public required string Path { get; init; }
    public required EntryKind Kind { get; init; }
    public required int Ordinal { get; init; }
    public int Mode { get; init; }
    public int Uid { get; init; }
    public int Gid { get; init; }
    public long ModificationTime { get; init; }
    public long Size { get; init; }
    public string? LinkTarget { get; init; }
    public int DeviceMajor { get; init; }
    public int DeviceMinor { get; init; }

    /// <summary>Entries of a tar archive stored as this entry's data (a kernel image's <c>kernel.tar</c>).</summary>
    public List<LayerEntry>? Nested { get; set; }

    /// <summary>The data, when the scan was asked to keep it (microcode, apk database).</summary>
    public byte[]? Captured { get; set; }
}

/// <summary>What to collect beyond headers while scanning a layer.</summary>
internal sealed record ScanRequest(IReadOnlySet<string> NestedTarNames, IReadOnlySet<string> CaptureNames)
{
    public static readonly ScanRequest HeadersOnly = new(new HashSet<string>(), new HashSet<string>());

    /// <summary>Captured files are held in memory, so they are bounded (microcode archives are a few MiB).</summary>
    public const long CaptureLimit = 64L * 1024 * 1024;

    public string Key => string.Join(',', NestedTarNames.Order(StringComparer.Ordinal)) + "|" + string.Join(',', CaptureNames.Order(StringComparer.Ordinal));
}

/// <summary>All entry headers of one layer, in tar order.</summary>
internal sealed class LayerIndex(LayerBlob blob, List<LayerEntry> entries)
{
    public LayerBlob Blob { get; } = blob;
    public List<LayerEntry> Entries { get; } = entries;
}

/// <summary>
/// First pass over a layer: reads every header (skipping data), validates names, and verifies the blob. The
/// ordinal of an entry is its position in the tar as <see cref="TarReader"/> returns it, so the second pass can
/// find the same entry again without seeking.
/// </summary>
internal static class LayerScanner
{
    public static LayerIndex Scan(LayerBlob blob, ScanRequest request, Action<long>? progress = null)
    {
        using var reader = blob.Open();
        var entries = new List<LayerEntry>();
        var ordinal = 0;
        long lastReported = 0;
        while (reader.Next() is { } tarEntry)
        {
            var entry = Convert(tarEntry, ordinal++, blob.Description);
            if (entry.Kind == EntryKind.File)
            {
                if (request.NestedTarNames.Contains(entry.Path) && tarEntry.DataStream is { } nestedData)
                {
                    entry.Nested = ScanNested(nestedData, $"{blob.Description}, tar {entry.Path}");
                }
                else if (request.CaptureNames.Contains(entry.Path) && tarEntry.DataStream is { } captured)
                {
                    if (entry.Size > ScanRequest.CaptureLimit)
                    {
                        throw new ImageBuildException($"{blob.Description}: {entry.Path} is larger than {ScanRequest.CaptureLimit} bytes");
                    }

                    var bytes = new byte[entry.Size];
                    captured.ReadExactly(bytes);
                    entry.Captured = bytes;
                }
            }

            entries.Add(entry);
            if (progress is not null && reader.CompressedBytesRead - lastReported > 4 * 1024 * 1024)
            {
                progress(reader.CompressedBytesRead - lastReported);
                lastReported = reader.CompressedBytesRead;
            }
        }

        reader.Complete();
        progress?.Invoke(reader.CompressedBytesRead - lastReported);
        return new LayerIndex(blob, entries);
    }

    private static List<LayerEntry> ScanNested(Stream data, string origin)
    {
        var entries = new List<LayerEntry>();
        try
        {
            using var nested = new TarReader(data, leaveOpen: true);
            var ordinal = 0;
            while (nested.GetNextEntry(copyData: false) is { } tarEntry)
            {
                entries.Add(Convert(tarEntry, ordinal++, origin));
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new ImageBuildException($"{origin}: corrupt tar: {e.Message}", e);
        }

        return entries;
    }

    public static LayerEntry Convert(TarEntry tarEntry, int ordinal, string origin)
    {
        var kind = tarEntry.EntryType switch
        {
            TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => EntryKind.File,
            TarEntryType.Directory => EntryKind.Directory,
            TarEntryType.SymbolicLink => EntryKind.Symlink,
            TarEntryType.HardLink => EntryKind.HardLink,
            TarEntryType.CharacterDevice => EntryKind.CharDevice,
            TarEntryType.BlockDevice => EntryKind.BlockDevice,
            TarEntryType.Fifo => EntryKind.Fifo,
            TarEntryType.GlobalExtendedAttributes => EntryKind.Ignored,
            _ => throw new ImageBuildException($"{origin}: entry '{tarEntry.Name}' has unsupported tar type {tarEntry.EntryType}"),
        };
        if (kind == EntryKind.Ignored)
        {
            return new LayerEntry { Path = "", Kind = kind, Ordinal = ordinal };
        }

        var path = TarPath.Normalize(tarEntry.Name, origin);
        string? link = null;
        if (kind == EntryKind.Symlink)
        {
            link = tarEntry.LinkName;
            TarPath.CheckSymlinkTarget(path, link, origin);
        }
        else if (kind == EntryKind.HardLink)
        {
            link = TarPath.Normalize(tarEntry.LinkName, origin + $" (hard link '{tarEntry.Name}')");
            if (link.Length == 0)
            {
                throw new ImageBuildException($"{origin}: hard link '{tarEntry.Name}' points at the root");
            }
        }

        var (major, minor) = tarEntry is PosixTarEntry posix ? (posix.DeviceMajor, posix.DeviceMinor) : (0, 0);
        return new LayerEntry
        {
            Path = path,
            Kind = path.Length == 0 ? EntryKind.Ignored : kind,
            Ordinal = ordinal,
            Mode = (int)tarEntry.Mode & 0xFFF,
            Uid = tarEntry.Uid,
            Gid = tarEntry.Gid,
            ModificationTime = tarEntry.ModificationTime.ToUnixTimeSeconds(),
            Size = kind == EntryKind.File ? tarEntry.Length : 0,
            LinkTarget = link,
            DeviceMajor = major,
            DeviceMinor = minor,
        };
    }
}
