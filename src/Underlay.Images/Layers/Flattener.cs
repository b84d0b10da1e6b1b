using Underlay.Images.Assembly;

namespace Underlay.Images.Layers;

/// <summary>
/// Applies an image's layers into one tree, following OCI image-spec layer.md ("Applying Changesets",
/// "Whiteouts"). The walk goes from the top layer down, so the first entry seen for a path wins and only headers
/// are needed; whiteouts and opaque markers recorded in a layer take effect for the layers below it only
/// ("files in the same layer as a whiteout are not affected"). Opaque markers hide every lower child of their
/// directory wherever they sit in the tar — the case go-containerregistry's Extract (and so LinuxKit) misses.
/// </summary>
internal static class Flattener
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    public static FsTree Flatten(IReadOnlyList<LayerIndex> layers, string imageName)
    {
        var tree = new FsTree();
        var whiteouts = new HashSet<string>(StringComparer.Ordinal);
        var opaques = new HashSet<string>(StringComparer.Ordinal);
        var pendingLinks = new List<(LayerEntry Entry, int Layer, string Origin)>();

        for (var layer = layers.Count - 1; layer >= 0; layer--)
        {
            var index = layers[layer];
            var origin = $"image {imageName}, layer {layer + 1} ({index.Blob.Digest})";
            var layerWhiteouts = new List<string>();
            var layerOpaques = new List<string>();

            // Every regular file of this layer by path, emitted or not: a hard link in this layer may point at a
            // file that a higher layer hides, and must still get that file's data.
            var layerFiles = new Dictionary<string, (FileContent Content, LayerEntry Entry)>(StringComparer.Ordinal);

            foreach (var entry in index.Entries)
            {
                if (entry.Kind == EntryKind.Ignored)
                {
                    continue;
                }

                var baseName = TarPath.BaseName(entry.Path);
                if (baseName.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
                {
                    var directory = TarPath.Parent(entry.Path);
                    if (baseName == OpaqueMarker)
                    {
                        layerOpaques.Add(directory);
                    }
                    else
                    {
                        var hidden = baseName[WhiteoutPrefix.Length..];
                        if (hidden.Length == 0 || hidden is "." or "..")
                        {
                            throw new ImageBuildException($"{origin}: invalid whiteout '{entry.Path}'");
                        }

                        layerWhiteouts.Add(TarPath.Join(directory, hidden));
                    }

                    continue;
                }

                FileContent? content = null;
                var attributes = entry;
                if (entry.Kind == EntryKind.File)
                {
                    content = new FileContent(new LayerContent(index, entry.Ordinal, -1), entry.Size);
                    layerFiles[entry.Path] = (content, entry);
                }
                else if (entry.Kind == EntryKind.HardLink)
                {
                    // A tar hard link names an entry written earlier in the same archive; failing that, a lower layer.
                    if (!layerFiles.TryGetValue(entry.LinkTarget!, out var target))
                    {
                        if (IsHidden(entry.Path, whiteouts, opaques))
                        {
                            continue;
                        }

                        pendingLinks.Add((entry, layer, origin));
                        continue;
                    }

                    // A link is the same inode: it has the target's mode, owner and mtime.
                    (content, attributes) = target;
                    layerFiles[entry.Path] = target;
                }

                if (IsHidden(entry.Path, whiteouts, opaques))
                {
                    continue;
                }

                Place(tree, entry, layer, content, origin, attributes);
            }

            whiteouts.UnionWith(layerWhiteouts);
            opaques.UnionWith(layerOpaques);
        }

        foreach (var (entry, layer, origin) in pendingLinks)
        {
            var target = tree.Find(entry.LinkTarget!);
            if (target is null || target.Kind != NodeKind.File || target.Content is null)
            {
                throw new ImageBuildException($"{origin}: hard link '{entry.Path}' points at '{entry.LinkTarget}', which is not a regular file in the image");
            }

            var attributes = new LayerEntry
            {
                Path = entry.Path, Kind = EntryKind.File, Ordinal = entry.Ordinal, Mode = target.Mode, Uid = target.Uid, Gid = target.Gid,
                ModificationTime = target.ModificationTime,
            };
            Place(tree, entry, layer, target.Content, origin, attributes);
        }

        return tree;
    }

    /// <summary>True when a higher layer whited out the path or one of its parents, or made a parent opaque.</summary>
    private static bool IsHidden(string path, HashSet<string> whiteouts, HashSet<string> opaques)
    {
        if (whiteouts.Count == 0 && opaques.Count == 0)
        {
            return false;
        }

        if (whiteouts.Contains(path) || opaques.Contains(""))
        {
            return true;
        }

        for (var slash = path.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = path.IndexOf('/', slash + 1))
        {
            var ancestor = path[..slash];
            if (whiteouts.Contains(ancestor) || opaques.Contains(ancestor))
            {
                return true;
            }
        }

        return false;
    }

    private static void Place(FsTree tree, LayerEntry entry, int layer, FileContent? content, string origin, LayerEntry attributes)
    {
        var parent = tree.ParentOf(entry.Path, out var blocked, implicitLayer: layer);
        if (blocked)
        {
            if (parent.Layer > layer)
            {
                // layer.md: a non-directory in a higher layer replaces everything beneath its path.
                return;
            }

            throw new ImageBuildException(
                $"{origin}: entry '{entry.Path}' lies beneath '{parent.Path}', which is a {Describe(parent.Kind)}; refusing to follow it");
        }

        var name = TarPath.BaseName(entry.Path);
        var node = CreateNode(entry, name, content, attributes);
        node.Layer = layer;
        if (parent.Children!.TryGetValue(name, out var existing))
        {
            if (existing.Layer > layer)
            {
                if (!existing.Implicit)
                {
                    return; // the higher layer's entry wins, for directories their attributes too
                }

                if (node.Kind != NodeKind.Directory)
                {
                    var child = existing.Children!.Values.First();
                    throw new ImageBuildException(
                        $"{origin}: '{entry.Path}' is a {Describe(node.Kind)} here but a higher layer puts '{child.Path}' beneath it");
                }

                existing.CopyAttributesFrom(node);
                existing.Implicit = false;
                existing.Layer = layer;
                return;
            }

            // The same path twice in one layer: the later tar entry wins, a directory keeps its children.
            if (existing.Kind == NodeKind.Directory && node.Kind == NodeKind.Directory)
            {
                existing.CopyAttributesFrom(node);
                existing.Implicit = false;
                return;
            }

            FsTree.Detach(existing);
        }

        FsTree.Attach(parent, node);
    }

    private static FsNode CreateNode(LayerEntry entry, string name, FileContent? content, LayerEntry attributes)
    {
        var kind = entry.Kind switch
        {
            EntryKind.File or EntryKind.HardLink => NodeKind.File,
            EntryKind.Directory => NodeKind.Directory,
            EntryKind.Symlink => NodeKind.Symlink,
            EntryKind.CharDevice => NodeKind.CharDevice,
            EntryKind.BlockDevice => NodeKind.BlockDevice,
            EntryKind.Fifo => NodeKind.Fifo,
            _ => throw new InvalidOperationException(),
        };
        return new FsNode(name, kind)
        {
            Mode = attributes.Mode,
            Uid = attributes.Uid,
            Gid = attributes.Gid,
            ModificationTime = attributes.ModificationTime,
            LinkTarget = kind == NodeKind.Symlink ? entry.LinkTarget : null,
            DeviceMajor = entry.DeviceMajor,
            DeviceMinor = entry.DeviceMinor,
            Content = content,
        };
    }

    private static string Describe(NodeKind kind) => kind switch
    {
        NodeKind.Symlink => "symlink",
        NodeKind.File => "regular file",
        NodeKind.Directory => "directory",
        _ => "device or fifo",
    };
}
