namespace Underlay.Images.Assembly;

internal enum NodeKind
{
    Directory,
    File,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
}

/// <summary>Where a regular file's bytes come from when the output is streamed.</summary>
internal abstract class ContentSource;

/// <summary>Bytes held in memory (generated files, small captured files).</summary>
internal sealed class InlineContent(byte[] data) : ContentSource
{
    public byte[] Data { get; } = data;
}

/// <summary>A file on the build host (the <c>files: source:</c> form), read when the output is written.</summary>
internal sealed class HostFileContent(string path) : ContentSource
{
    public string Path { get; } = path;
}

/// <summary>The data of entry <see cref="Ordinal"/> in a layer (or of an entry inside a tar nested in that entry).</summary>
internal sealed class LayerContent(Layers.LayerIndex index, int ordinal, int nestedOrdinal) : ContentSource
{
    public Layers.LayerIndex Index { get; } = index;
    public Layers.LayerBlob Blob => Index.Blob;
    public int Ordinal { get; } = ordinal;
    public int NestedOrdinal { get; } = nestedOrdinal;
}

/// <summary>
/// The data of one regular file. Several nodes may share a <see cref="FileContent"/>: those are hard links
/// (OCI layer.md "Hardlinks"), written as one inode.
/// </summary>
internal sealed class FileContent(ContentSource source, long size)
{
    public ContentSource Source { get; } = source;
    public long Size { get; } = size;
}

/// <summary>One path of an assembled filesystem. Nothing here touches the host filesystem: devices are just numbers.</summary>
internal sealed class FsNode
{
    public FsNode(string name, NodeKind kind)
    {
        Name = name;
        Kind = kind;
        if (kind == NodeKind.Directory)
        {
            Children = new Dictionary<string, FsNode>(StringComparer.Ordinal);
        }
    }

    public string Name { get; set; }
    public FsNode? Parent { get; set; }
    public NodeKind Kind { get; private set; }
    public Dictionary<string, FsNode>? Children { get; private set; }
    public int Mode { get; set; } = 0x1ED; // 0755 (C# has no octal literals)
    public int Uid { get; set; }
    public int Gid { get; set; }
    public long ModificationTime { get; set; } = Cpio.CpioWriter.DefaultModificationTime;
    public string? LinkTarget { get; set; }
    public int DeviceMajor { get; set; }
    public int DeviceMinor { get; set; }
    public FileContent? Content { get; set; }

    /// <summary>A directory that exists only as the parent of other entries (no entry of its own yet).</summary>
    public bool Implicit { get; set; }

    /// <summary>Flattening bookkeeping: index of the layer that provided this node.</summary>
    public int Layer { get; set; } = -1;

    public string Path
    {
        get
        {
            if (Parent is null)
            {
                return "";
            }

            var parent = Parent.Path;
            return parent.Length == 0 ? Name : parent + "/" + Name;
        }
    }

    public static FsNode Directory(string name, int mode = 0x1ED) => new(name, NodeKind.Directory) { Mode = mode };

    public static FsNode File(string name, byte[] data, int mode = 0x1A4) =>
        new(name, NodeKind.File) { Mode = mode, Content = new FileContent(new InlineContent(data), data.Length) };

    public static FsNode Symlink(string name, string target) => new(name, NodeKind.Symlink) { Mode = 0x1FF, LinkTarget = target };

    /// <summary>Copies attributes (not children or name) from another node; used when a directory entry meets a directory.</summary>
    public void CopyAttributesFrom(FsNode other)
    {
        Mode = other.Mode;
        Uid = other.Uid;
        Gid = other.Gid;
        ModificationTime = other.ModificationTime;
    }

    public IEnumerable<FsNode> SortedChildren() =>
        Children is null ? [] : Children.Values.OrderBy(c => c.Name, StringComparer.Ordinal);
}

/// <summary>
/// A tree of <see cref="FsNode"/>s rooted at "". Paths are relative, '/'-separated, already validated
/// (no "..", no empty components).
/// </summary>
internal sealed class FsTree
{
    public FsNode Root { get; } = FsNode.Directory("");

    public static string[] Split(string path) => path.Length == 0 ? [] : path.Split('/');

    public FsNode? Find(string path)
    {
        var node = Root;
        foreach (var part in Split(path))
        {
            if (node.Children is null || !node.Children.TryGetValue(part, out var child))
            {
                return null;
            }

            node = child;
        }

        return node;
    }

    /// <summary>
    /// Returns the directory that will hold <paramref name="path"/>, creating missing parents as implicit directories.
    /// Returns the blocking node instead (with <c>blocked</c> true) when a parent exists but is not a directory.
    /// </summary>
    public FsNode ParentOf(string path, out bool blocked, int implicitLayer = -1)
    {
        blocked = false;
        var parts = Split(path);
        var node = Root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (!node.Children!.TryGetValue(parts[i], out var child))
            {
                child = FsNode.Directory(parts[i]);
                child.Implicit = true;
                child.Layer = implicitLayer;
                Attach(node, child);
            }
            else if (child.Kind != NodeKind.Directory)
            {
                blocked = true;
                return child;
            }

            node = child;
        }

        return node;
    }

    public static void Attach(FsNode parent, FsNode child)
    {
        child.Parent = parent;
        parent.Children![child.Name] = child;
    }

    public static void Detach(FsNode node)
    {
        node.Parent?.Children!.Remove(node.Name);
        node.Parent = null;
    }

    /// <summary>
    /// Puts <paramref name="node"/> at <paramref name="path"/> with tar-stream semantics: a later entry replaces an
    /// earlier one, except that a directory meeting a directory only takes its attributes (and keeps the children).
    /// </summary>
    public void Put(string path, FsNode node, string origin)
    {
        var parent = ParentOf(path, out var blocked);
        if (blocked)
        {
            throw new ImageBuildException($"{origin}: cannot place {path}: {parent.Path} is not a directory");
        }

        var name = Split(path)[^1];
        node.Name = name;
        if (parent.Children!.TryGetValue(name, out var existing))
        {
            if (existing.Kind == NodeKind.Directory && node.Kind == NodeKind.Directory)
            {
                if (!node.Implicit)
                {
                    existing.CopyAttributesFrom(node);
                    existing.Implicit = false;
                }

                foreach (var child in node.Children!.Values.ToList())
                {
                    Put(path + "/" + child.Name, child, origin);
                }

                return;
            }

            Detach(existing);
        }

        Attach(parent, node);
    }

    /// <summary>Creates a directory (and its parents) if missing, without touching an existing one's attributes.</summary>
    public FsNode EnsureDirectory(string path, string origin, int mode = 0x1ED, int uid = 0, int gid = 0)
    {
        var existing = Find(path);
        if (existing is not null)
        {
            if (existing.Kind != NodeKind.Directory)
            {
                throw new ImageBuildException($"{origin}: {path} exists and is not a directory");
            }

            return existing;
        }

        var node = FsNode.Directory("", mode);
        node.Uid = uid;
        node.Gid = gid;
        Put(path, node, origin);
        return Find(path)!;
    }

    /// <summary>Depth-first, children in ordinal order; parents always come before their children.</summary>
    public IEnumerable<FsNode> Walk()
    {
        var stack = new Stack<FsNode>();
        foreach (var child in Root.SortedChildren().Reverse())
        {
            stack.Push(child);
        }

        while (stack.Count > 0)
        {
            var node = stack.Pop();
            yield return node;
            if (node.Children is not null)
            {
                foreach (var child in node.SortedChildren().Reverse())
                {
                    stack.Push(child);
                }
            }
        }
    }
}
