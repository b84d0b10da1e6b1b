using Underlay.Images.Assembly;
using Underlay.Images.Layers;

namespace Underlay.Images.Output;

/// <summary>Receives an assembled filesystem in emission order.</summary>
internal interface IFsSink
{
    /// <summary>A directory, symlink, device or fifo.</summary>
    void WriteNode(string path, FsNode node);

    /// <summary>A regular file; several paths are hard links to it. <paramref name="data"/> holds exactly <paramref name="size"/> bytes.</summary>
    void WriteFile(IReadOnlyList<string> paths, FsNode attributes, long size, Stream data);

    void Complete();
}

/// <summary>
/// The second pass: walks the tree (parents before children, names in ordinal order) writing everything that
/// needs no layer data, then streams each layer blob once, in order of first use, writing the files it provides.
/// Directories thus always precede their contents, which the kernel's initramfs unpacker requires (it does not
/// create missing parents), and no file is ever buffered.
/// </summary>
internal static class Emitter
{
    private sealed class Group(FileContent content)
    {
        public FileContent Content { get; } = content;
        public List<(string Path, FsNode Node)> Members { get; } = [];
    }

    private sealed class BlobPlan(LayerBlob blob)
    {
        public LayerBlob Blob { get; } = blob;
        public Dictionary<int, List<Group>> Direct { get; } = [];
        public Dictionary<int, Dictionary<int, List<Group>>> Nested { get; } = [];
    }

    public static void Emit(FsTree tree, IFsSink sink, IProgress<BuildProgress>? progress, CancellationToken cancellationToken)
    {
        var groups = new Dictionary<FileContent, Group>(ReferenceEqualityComparer.Instance);
        var order = new List<Group>();
        var walk = new List<(string Path, FsNode Node)>();
        foreach (var node in tree.Walk())
        {
            var path = node.Path;
            walk.Add((path, node));
            if (node.Kind == NodeKind.File)
            {
                if (!groups.TryGetValue(node.Content!, out var group))
                {
                    group = new Group(node.Content!);
                    groups[node.Content!] = group;
                    order.Add(group);
                }

                group.Members.Add((path, node));
            }
        }

        var plans = new Dictionary<string, BlobPlan>(StringComparer.Ordinal);
        var planOrder = new List<BlobPlan>();
        var written = new HashSet<Group>(ReferenceEqualityComparer.Instance);
        foreach (var (path, node) in walk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (node.Kind != NodeKind.File)
            {
                sink.WriteNode(path, node);
                continue;
            }

            var group = groups[node.Content!];
            if (!written.Add(group))
            {
                continue;
            }

            switch (group.Content.Source)
            {
                case InlineContent inline:
                    using (var data = new MemoryStream(inline.Data, writable: false))
                    {
                        sink.WriteFile(Paths(group), group.Members[0].Node, inline.Data.Length, data);
                    }

                    break;
                case HostFileContent host:
                    using (var data = new FileStream(host.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
                    {
                        if (data.Length != group.Content.Size)
                        {
                            throw new ImageBuildException($"{host.Path} changed size during the build");
                        }

                        sink.WriteFile(Paths(group), group.Members[0].Node, group.Content.Size, data);
                    }

                    break;
                case LayerContent layer:
                    if (!plans.TryGetValue(layer.Blob.Digest, out var plan))
                    {
                        plan = new BlobPlan(layer.Blob);
                        plans[layer.Blob.Digest] = plan;
                        planOrder.Add(plan);
                    }

                    if (layer.NestedOrdinal < 0)
                    {
                        Add(plan.Direct, layer.Ordinal, group);
                    }
                    else
                    {
                        if (!plan.Nested.TryGetValue(layer.Ordinal, out var nested))
                        {
                            nested = [];
                            plan.Nested[layer.Ordinal] = nested;
                        }

                        Add(nested, layer.NestedOrdinal, group);
                    }

                    break;
            }
        }

        foreach (var plan in planOrder)
        {
            StreamBlob(plan, sink, progress, cancellationToken);
        }

        sink.Complete();
    }

    private static void Add(Dictionary<int, List<Group>> map, int ordinal, Group group)
    {
        if (!map.TryGetValue(ordinal, out var list))
        {
            list = [];
            map[ordinal] = list;
        }

        list.Add(group);
    }

    private static List<string> Paths(Group group) => group.Members.Select(m => m.Path).ToList();

    private static void StreamBlob(BlobPlan plan, IFsSink sink, IProgress<BuildProgress>? progress, CancellationToken cancellationToken)
    {
        progress?.Report(new BuildProgress(BuildPhase.Write, plan.Blob.Description, 0, plan.Blob.Descriptor.Size));
        using var reader = plan.Blob.Open();
        var ordinal = 0;
        long reported = 0;
        while (reader.Next() is { } entry)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var current = ordinal++;
            var hasDirect = plan.Direct.TryGetValue(current, out var direct);
            var hasNested = plan.Nested.TryGetValue(current, out var nested);
            if (hasDirect && hasNested)
            {
                throw new ImageBuildException($"{plan.Blob.Description}: {entry.Name} is needed both as a file and as a tar to expand");
            }

            if (hasDirect)
            {
                WriteGroups(plan, entry, direct!, sink);
            }
            else if (hasNested)
            {
                StreamNested(plan, entry.DataStream!, nested!, sink, cancellationToken);
            }

            if (progress is not null && reader.CompressedBytesRead - reported > 4 * 1024 * 1024)
            {
                progress.Report(new BuildProgress(BuildPhase.Write, plan.Blob.Description, reader.CompressedBytesRead - reported, plan.Blob.Descriptor.Size));
                reported = reader.CompressedBytesRead;
            }
        }

        reader.Complete();
        progress?.Report(new BuildProgress(BuildPhase.Write, plan.Blob.Description, reader.CompressedBytesRead - reported, plan.Blob.Descriptor.Size));
    }

    /// <summary>Largest file copied through memory when several images take it from one shared layer.</summary>
    private const int SharedCopyLimit = 32 * 1024 * 1024;

    private static void WriteGroups(BlobPlan plan, System.Formats.Tar.TarEntry entry, List<Group> groups, IFsSink sink)
    {
        var size = groups[0].Content.Size;
        if (entry.Length != size || (entry.DataStream is null && size > 0))
        {
            throw new ImageBuildException($"{plan.Blob.Description}: {entry.Name} changed between the two passes");
        }

        var data = entry.DataStream ?? Stream.Null;
        if (groups.Count == 1)
        {
            sink.WriteFile(Paths(groups[0]), groups[0].Members[0].Node, size, data);
            return;
        }

        if (size > SharedCopyLimit)
        {
            // Several images share this layer and the file is large: write it once, hard-linked to every path.
            // Image files are never written at run time (they are overlay lower layers or read-only roots).
            var all = groups.SelectMany(g => g.Members).ToList();
            sink.WriteFile(all.Select(m => m.Path).ToList(), all[0].Node, size, data);
            return;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            data.ReadExactly(buffer, 0, (int)size);
            foreach (var group in groups)
            {
                using var copy = new MemoryStream(buffer, 0, (int)size, writable: false);
                sink.WriteFile(Paths(group), group.Members[0].Node, size, copy);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void StreamNested(BlobPlan plan, Stream data, Dictionary<int, List<Group>> wanted, IFsSink sink, CancellationToken cancellationToken)
    {
        using var nested = new System.Formats.Tar.TarReader(data, leaveOpen: true);
        var ordinal = 0;
        try
        {
            while (nested.GetNextEntry(copyData: false) is { } entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (wanted.TryGetValue(ordinal++, out var groups))
                {
                    WriteGroups(plan, entry, groups, sink);
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException)
        {
            throw new ImageBuildException($"{plan.Blob.Description}: corrupt nested tar: {e.Message}", e);
        }
    }
}
