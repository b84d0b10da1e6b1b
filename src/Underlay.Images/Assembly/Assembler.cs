using System.Globalization;
using System.Text;
using Underlay.Images.Layers;
using Underlay.Images.Sources;
using Underlay.Images.Spec;

namespace Underlay.Images.Assembly;

/// <summary>
/// Builds the filesystem of a LinuxKit image (LINUXKIT.md §1.7) as a tree of headers, in LinuxKit's section order
/// kernel, init, volumes, onboot, onshutdown, services, files — a later entry for a path wins, as it does in
/// LinuxKit's tar stream. No data is read here except a few small captured files; layers are streamed later.
/// </summary>
internal sealed class Assembler
{
    private const string ResolvConfSymlink = "/run/resolvconf/resolv.conf";
    private const string ApkDatabase = "lib/apk/db/installed";
    private const string VolumesDirectory = "containers/volumes";

    private static readonly byte[] HostsContents = Encoding.ASCII.GetBytes(
        "127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n");

    private static readonly byte[] ResolvContents = Encoding.ASCII.GetBytes("\n# no resolv.conf configured\n");

    private readonly ImageSpec _spec;
    private readonly IReadOnlyDictionary<string, ResolvedImage> _images;
    private readonly string _workingDirectory;
    private readonly IProgress<BuildProgress>? _progress;
    private readonly Dictionary<string, LayerIndex> _indexes = new(StringComparer.Ordinal);
    private readonly FsTree _tree = new();
    private readonly Dictionary<string, long> _ids;

    public Assembler(ImageSpec spec, IReadOnlyDictionary<string, ResolvedImage> images, string workingDirectory, IProgress<BuildProgress>? progress)
    {
        _spec = spec;
        _images = images;
        _workingDirectory = workingDirectory;
        _progress = progress;
        _ids = RuntimeConfig.AllocateIds(spec);
    }

    public FsTree Assemble()
    {
        if (_spec.Kernel.Image is { Length: > 0 } kernelImage)
        {
            AddKernel(_images[kernelImage]);
        }

        var apkDatabases = new List<byte[]>();
        for (var i = 0; i < _spec.Init.Count; i++)
        {
            var image = _images[_spec.Init[i]];
            var tree = FlattenImage(image, new ScanRequest(new HashSet<string>(), new HashSet<string> { ApkDatabase }));
            if (tree.Find(ApkDatabase) is { Content.Source: LayerContent apk } && Index(apk).Entries[apk.Ordinal].Captured is { } db)
            {
                apkDatabases.Add(db);
            }

            ApplyImageFilter(tree, ResolvConfSymlink);
            Graft(tree, "", $"init[{i}] {image.Reference}");
        }

        if (apkDatabases.Count > 1)
        {
            _tree.Put(ApkDatabase, FsNode.File("", MergeApkDatabases(apkDatabases)), "init (apk database)");
        }

        foreach (var volume in _spec.Volumes)
        {
            AddVolume(volume);
        }

        var duplicates = new Dictionary<string, string>(StringComparer.Ordinal);
        AddContainers(_spec.Onboot, "onboot", numbered: true, duplicates);
        AddContainers(_spec.Onshutdown, "onshutdown", numbered: true, duplicates);
        AddContainers(_spec.Services, "services", numbered: false, duplicates);
        AddFiles();
        return _tree;
    }

    private static LayerIndex Index(LayerContent content) => content.Index;

    private FsTree FlattenImage(ResolvedImage image, ScanRequest request)
    {
        var layers = new List<LayerIndex>();
        foreach (var blob in image.Layers)
        {
            var key = blob.Digest + "|" + request.Key;
            if (!_indexes.TryGetValue(key, out var index))
            {
                _progress?.Report(new BuildProgress(BuildPhase.Scan, blob.Description, 0, blob.Descriptor.Size));
                index = LayerScanner.Scan(blob, request, n => _progress?.Report(new BuildProgress(BuildPhase.Scan, blob.Description, n, blob.Descriptor.Size)));
                _indexes[key] = index;
            }

            layers.Add(index);
        }

        return Flattener.Flatten(layers, image.Reference.Canonical);
    }

    private void AddKernel(ResolvedImage image)
    {
        var kernel = _spec.Kernel;
        var binaryName = string.IsNullOrEmpty(kernel.Binary) ? "kernel" : kernel.Binary.TrimStart('/');
        var tarName = kernel.Tar is null ? "kernel.tar" : kernel.Tar is "none" ? "" : kernel.Tar.TrimStart('/');
        var ucodeName = string.IsNullOrEmpty(kernel.UCode) ? "" : kernel.UCode.TrimStart('/');
        var nested = new HashSet<string>(StringComparer.Ordinal);
        if (tarName.Length > 0)
        {
            nested.Add(tarName);
        }

        var capture = new HashSet<string>(StringComparer.Ordinal);
        if (ucodeName.Length > 0)
        {
            capture.Add(ucodeName);
        }

        var origin = $"kernel {image.Reference}";
        var tree = FlattenImage(image, new ScanRequest(nested, capture));
        var binary = tree.Find(binaryName);
        if (binary is not { Kind: NodeKind.File, Content: not null })
        {
            throw new ImageBuildException($"{origin}: did not find the kernel '{binaryName}' in the kernel image");
        }

        _tree.Put("boot", FsNode.Directory(""), origin);
        _tree.Put("boot/cmdline", FsNode.File("", Encoding.UTF8.GetBytes(kernel.Cmdline ?? "")), origin);
        var kernelNode = new FsNode("", NodeKind.File) { Mode = binary.Mode, Content = binary.Content };
        _tree.Put("boot/kernel", kernelNode, origin);
        if (ucodeName.Length > 0)
        {
            var ucode = tree.Find(ucodeName);
            if (ucode is not { Content.Source: LayerContent ucodeContent } || Index(ucodeContent).Entries[ucodeContent.Ordinal].Captured is not { } ucodeBytes)
            {
                throw new ImageBuildException($"{origin}: did not find the microcode archive '{ucodeName}' in the kernel image");
            }

            _tree.Put("boot/ucode.cpio", FsNode.File("", ucodeBytes, ucode.Mode), origin);
        }

        if (tarName.Length > 0)
        {
            var tar = tree.Find(tarName);
            if (tar is not { Content.Source: LayerContent tarContent } || Index(tarContent).Entries[tarContent.Ordinal].Nested is not { } entries)
            {
                throw new ImageBuildException($"{origin}: did not find the kernel tar '{tarName}' in the kernel image (set 'tar: none' if there is none)");
            }

            // The module tarball is expanded into / as a plain tar stream: a later entry replaces an earlier one.
            var files = new Dictionary<string, FileContent>(StringComparer.Ordinal);
            foreach (var entry in entries)
            {
                if (entry.Kind == EntryKind.Ignored)
                {
                    continue;
                }

                FsNode node;
                switch (entry.Kind)
                {
                    case EntryKind.File:
                        var content = new FileContent(new LayerContent(tarContent.Index, tarContent.Ordinal, entry.Ordinal), entry.Size);
                        files[entry.Path] = content;
                        node = new FsNode("", NodeKind.File) { Content = content };
                        break;
                    case EntryKind.HardLink:
                        node = new FsNode("", NodeKind.File)
                        {
                            Content = files.GetValueOrDefault(entry.LinkTarget!)
                                ?? throw new ImageBuildException($"{origin}, {tarName}: hard link '{entry.Path}' points at '{entry.LinkTarget}', which is not an earlier file"),
                        };
                        break;
                    case EntryKind.Directory:
                        node = FsNode.Directory("");
                        break;
                    case EntryKind.Symlink:
                        node = FsNode.Symlink("", entry.LinkTarget!);
                        break;
                    default:
                        node = new FsNode("", entry.Kind switch
                        {
                            EntryKind.CharDevice => NodeKind.CharDevice,
                            EntryKind.BlockDevice => NodeKind.BlockDevice,
                            _ => NodeKind.Fifo,
                        })
                        { DeviceMajor = entry.DeviceMajor, DeviceMinor = entry.DeviceMinor };
                        break;
                }

                node.Mode = entry.Mode;
                node.Uid = entry.Uid;
                node.Gid = entry.Gid;
                node.ModificationTime = entry.ModificationTime;
                _tree.Put(entry.Path, node, $"{origin}, {tarName}");
            }
        }
    }

    /// <summary>
    /// LinuxKit's per-image filter (moby/build/image.go): drop files Docker injects, replace /etc/hosts and
    /// /etc/resolv.conf, and make sure the mount points and files a container runtime expects exist.
    /// </summary>
    private static void ApplyImageFilter(FsTree tree, string? resolvSymlink)
    {
        foreach (var path in new[] { ".dockerenv", "Dockerfile", "dev/console", "etc/hostname" })
        {
            if (tree.Find(path) is { } node)
            {
                FsTree.Detach(node);
            }
        }

        foreach (var path in new[] { "dev/pts", "dev/shm" })
        {
            if (tree.Find(path) is { Kind: not NodeKind.Directory } node)
            {
                FsTree.Detach(node);
            }
        }

        foreach (var path in new[] { "dev", "dev/pts", "dev/shm", "etc", "proc", "sys" })
        {
            var node = tree.Find(path);
            if (node is null)
            {
                tree.Put(path, FsNode.Directory(""), "image filter");
            }
            else if (node.Kind == NodeKind.Directory)
            {
                node.ModificationTime = Cpio.CpioWriter.DefaultModificationTime;
                node.Implicit = false;
            }
        }

        if (tree.Find("etc/mtab") is { } mtab)
        {
            mtab.ModificationTime = Cpio.CpioWriter.DefaultModificationTime;
        }
        else
        {
            var link = FsNode.Symlink("", "/proc/mounts");
            link.Mode = 0x1ED; // 0755, as LinuxKit writes it
            tree.Put("etc/mtab", link, "image filter");
        }

        Replace(tree, "etc/hosts", HostsContents, null);
        Replace(tree, "etc/resolv.conf", ResolvContents, resolvSymlink);
    }

    private static void Replace(FsTree tree, string path, byte[] contents, string? symlink)
    {
        var existing = tree.Find(path);
        var mode = existing?.Kind == NodeKind.File ? existing.Mode : 0x1A4;
        var node = symlink is null ? FsNode.File("", contents, mode) : FsNode.Symlink("", symlink);
        if (existing is not null)
        {
            node.Uid = existing.Uid;
            node.Gid = existing.Gid;
            if (symlink is not null)
            {
                node.Mode = existing.Mode;
            }
        }

        tree.Put(path, node, "image filter");
    }

    /// <summary>Moves every entry of an image tree under <paramref name="prefix"/> of the output tree.</summary>
    private void Graft(FsTree image, string prefix, string origin)
    {
        foreach (var child in image.Root.Children!.Values.ToList())
        {
            FsTree.Detach(child);
            _tree.Put(prefix.Length == 0 ? child.Name : prefix + "/" + child.Name, child, origin);
        }
    }

    /// <summary>LinuxKit's tarPrefix: every component of a bundle path is written as a 0755 directory entry.</summary>
    private void PrefixDirectories(string path, string origin)
    {
        var current = "";
        foreach (var part in path.Split('/'))
        {
            current = current.Length == 0 ? part : current + "/" + part;
            _tree.Put(current, FsNode.Directory(""), origin);
        }
    }

    private void AddVolume(VolumeSpec volume)
    {
        var origin = $"{volume.Location}: volume {volume.Name}";
        if (volume.Format == "oci")
        {
            throw new ImageBuildException($"{origin}: 'format: oci' volumes are not supported yet; use 'format: filesystem'");
        }

        var baseDirectory = $"{VolumesDirectory}/{volume.Name}";
        PrefixDirectories(baseDirectory + "/lower", origin);
        if (volume.Image is { Length: > 0 } imageName)
        {
            var image = _images[imageName];
            Graft(FlattenImage(image, ScanRequest.HeadersOnly), baseDirectory + "/lower", origin);
        }

        _tree.Put(baseDirectory + "/tmp", FsNode.Directory(""), origin);
        _tree.Put(baseDirectory + "/merged", FsNode.Directory(""), origin);
    }

    private void AddContainers(List<ContainerSpec> containers, string section, bool numbered, Dictionary<string, string> duplicates)
    {
        for (var i = 0; i < containers.Count; i++)
        {
            var container = ResolveVolumeBinds(containers[i]);
            var image = _images[container.Image];
            var origin = $"{section}[{i}] {container.Name}";
            var bundle = $"containers/{section}/" + (numbered ? i.ToString("000", CultureInfo.InvariantCulture) + "-" : "") + container.Name;
            var config = RuntimeConfig.Build(container, image.Config, _ids);
            var rootName = config.Readonly ? "rootfs" : "lower";
            var root = bundle + "/" + rootName;

            // A reference used by several containers is unpacked once; the others mount it (image.go ImageBundle).
            var foundElsewhere = duplicates.TryGetValue(image.Reference.Canonical, out var existingRoot);
            if (!foundElsewhere)
            {
                PrefixDirectories(root, origin);
                var tree = FlattenImage(image, ScanRequest.HeadersOnly);
                ApplyImageFilter(tree, null);
                Graft(tree, root, origin);
                duplicates[image.Reference.Canonical] = root;
            }
            else
            {
                PrefixDirectories(bundle, origin);
                root = existingRoot!;
            }

            _tree.Put(bundle + "/config.json", FsNode.File("", config.ConfigJson), origin);
            List<MountSpec> rootfsMounts;
            if (!config.Readonly)
            {
                // The image is the overlay's lower layer; writes go to a tmpfs (LINUXKIT.md §1.7).
                _tree.Put(bundle + "/tmp", FsNode.Directory(""), origin);
                _tree.Put(bundle + "/rootfs", FsNode.Directory(""), origin);
                rootfsMounts =
                [
                    new MountSpec { Source = "tmpfs", Type = "tmpfs", Destination = "/" + bundle + "/tmp" },
                    new MountSpec { Destination = "/" + bundle + "/tmp", Options = ["remount", "private"] },
                    new MountSpec
                    {
                        Source = "overlay", Type = "overlay", Destination = "/" + bundle + "/rootfs",
                        Options = ["lowerdir=/" + root, "upperdir=/" + bundle + "/tmp/upper", "workdir=/" + bundle + "/tmp/work"],
                    },
                ];
            }
            else
            {
                if (foundElsewhere)
                {
                    _tree.Put(bundle + "/rootfs", FsNode.Directory(""), origin);
                }

                // runc wants the rootfs to be a mount point, so it is bind-mounted onto itself (or from the copy).
                rootfsMounts = [new MountSpec { Source = "/" + root, Destination = "/" + bundle + "/rootfs", Options = ["bind"] }];
            }

            _tree.Put(bundle + "/runtime.json", FsNode.File("", RuntimeConfig.RuntimeJson(config.Runtime, rootfsMounts)), origin);
        }
    }

    /// <summary>A bind or bind mount whose source is not absolute names a volume: mount its merged directory.</summary>
    private ContainerSpec ResolveVolumeBinds(ContainerSpec container)
    {
        var config = container.Config;
        if (config.Binds is null && config.BindsAdd is null && config.Mounts is null)
        {
            return container;
        }

        List<string>? MapBinds(List<string>? binds) => binds?.Select(bind =>
        {
            var parts = bind.Split(':');
            if (parts[0].StartsWith('/'))
            {
                return bind;
            }

            var volume = FindVolume(parts[0], container);
            if (volume.Readonly && (parts.Length < 3 || parts[2] != "ro"))
            {
                throw new ImageBuildException($"{container.Location}: volume {volume.Name} is read-only, but {container.Name} binds it read-write");
            }

            parts[0] = $"/{VolumesDirectory}/{volume.Name}/merged";
            return string.Join(':', parts);
        }).ToList();

        var mounts = config.Mounts?.Select(mount =>
        {
            if (mount.Type != "bind" || mount.Source is null || mount.Source.StartsWith('/'))
            {
                return mount;
            }

            var volume = FindVolume(mount.Source, container);
            var readOnly = mount.Options?.FirstOrDefault(o => o is "ro" or "rw") == "ro";
            if (volume.Readonly && !readOnly)
            {
                throw new ImageBuildException($"{container.Location}: volume {volume.Name} is read-only, but {container.Name} mounts it read-write");
            }

            return new MountSpec { Destination = mount.Destination, Type = mount.Type, Source = $"/{VolumesDirectory}/{volume.Name}/merged", Options = mount.Options };
        }).ToList();

        var copy = config.Clone();
        copy.Binds = MapBinds(config.Binds);
        copy.BindsAdd = MapBinds(config.BindsAdd);
        copy.Mounts = mounts;
        return new ContainerSpec { Name = container.Name, Image = container.Image, Config = copy, Location = container.Location };
    }

    private VolumeSpec FindVolume(string name, ContainerSpec container) =>
        _spec.Volumes.FirstOrDefault(v => v.Name == name)
        ?? throw new ImageBuildException($"{container.Location}: {container.Name} refers to volume '{name}', which is not defined under 'volumes'");

    private void AddFiles()
    {
        for (var i = 0; i < _spec.Files.Count; i++)
        {
            var file = _spec.Files[i];
            var origin = $"{file.Location}: files[{i}]";
            var path = Layers.TarPath.Normalize(file.Path.TrimStart('/'), origin);
            if (path.Length == 0)
            {
                throw new ImageBuildException($"{origin}: 'path' is required");
            }

            var sources = (file.Directory ? 1 : 0) + (file.Symlink is null ? 0 : 1) + (file.Contents is null ? 0 : 1) +
                          (file.Source is null ? 0 : 1) + (file.Metadata is null ? 0 : 1);
            if (sources != 1)
            {
                throw new ImageBuildException($"{origin}: {path}: give exactly one of directory, symlink, contents, source or metadata");
            }

            var mode = file.Directory ? 0x1C0 /* 0700 */ : 0x180 /* 0600 */;
            if (file.Mode is { Length: > 0 } modeText && (!RuntimeConfig.TryParseOctal(modeText, out mode) || mode > 0xFFF))
            {
                throw new ImageBuildException($"{origin}: cannot parse mode '{modeText}' as an octal value");
            }

            // Parent directories get an execute bit wherever the file has read or write bits.
            var directoryMode = mode;
            if ((directoryMode & 0x1C0) != 0)
            {
                directoryMode |= 0x40;
            }

            if ((directoryMode & 0x38) != 0)
            {
                directoryMode |= 0x8;
            }

            if ((directoryMode & 0x7) != 0)
            {
                directoryMode |= 0x1;
            }

            var uid = (int)RuntimeConfig.ResolveId(file.Uid, _ids, origin);
            var gid = (int)RuntimeConfig.ResolveId(file.Gid, _ids, origin);
            FsNode node;
            if (file.Directory)
            {
                node = FsNode.Directory("", mode);
            }
            else if (file.Symlink is not null)
            {
                node = FsNode.Symlink("", file.Symlink);
                node.Mode = mode;
            }
            else if (file.Contents is not null)
            {
                node = FsNode.File("", Encoding.UTF8.GetBytes(file.Contents), mode);
            }
            else if (file.Metadata is not null)
            {
                node = FsNode.File("", SpecSerializer.Serialize(_spec, file.Metadata, origin), mode);
            }
            else
            {
                var source = file.Source!;
                if (source.StartsWith("~/", StringComparison.Ordinal))
                {
                    source = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), source[2..]);
                }

                source = Path.GetFullPath(source, _workingDirectory);
                var info = new FileInfo(source);
                if (!info.Exists)
                {
                    if (file.Optional)
                    {
                        continue;
                    }

                    throw new ImageBuildException($"{origin}: source file {source} does not exist");
                }

                node = new FsNode("", NodeKind.File) { Mode = mode, Content = new FileContent(new HostFileContent(source), info.Length) };
            }

            node.Uid = uid;
            node.Gid = gid;
            var parent = Layers.TarPath.Parent(path);
            if (parent.Length > 0)
            {
                // Unlike LinuxKit, existing directories keep their attributes: a 0600 file must not turn /etc into 0700.
                _tree.EnsureDirectory(parent, origin, directoryMode, uid, gid);
            }

            _tree.Put(path, node, origin);
        }
    }

    /// <summary>
    /// Merges the apk databases of the init images: paragraphs (one per package, keyed by its "P:" line) of a later
    /// image replace an earlier image's, so apk sees each package once.
    /// </summary>
    private static byte[] MergeApkDatabases(List<byte[]> databases)
    {
        var packages = new List<(string Name, string Text)>();
        foreach (var database in databases)
        {
            var text = Encoding.UTF8.GetString(database).Replace("\r\n", "\n", StringComparison.Ordinal);
            foreach (var paragraph in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var name = paragraph.Split('\n').FirstOrDefault(l => l.StartsWith("P:", StringComparison.Ordinal)) ?? paragraph;
                var existing = packages.FindIndex(p => p.Name == name);
                if (existing >= 0)
                {
                    packages[existing] = (name, paragraph);
                }
                else
                {
                    packages.Add((name, paragraph));
                }
            }
        }

        return Encoding.UTF8.GetBytes(string.Concat(packages.Select(p => p.Text + "\n\n")));
    }
}
