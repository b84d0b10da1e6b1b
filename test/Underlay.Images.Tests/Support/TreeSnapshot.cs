using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Underlay.Images.Assembly;
using Underlay.Images.Output;

namespace Underlay.Images.Tests.Support;

/// <summary>
/// A comparable description of a filesystem: path → "type mode uid:gid target-or-hash". Built either from an
/// assembled tree (streamed through the real emitter) or from a directory on disk (what umoci unpacked).
/// </summary>
public static partial class TreeSnapshot
{
    internal static SortedDictionary<string, string> FromTree(FsTree tree)
    {
        var sink = new CollectingSink();
        Emitter.Emit(tree, sink, null, CancellationToken.None);
        return sink.Entries;
    }

    private sealed class CollectingSink : IFsSink
    {
        public SortedDictionary<string, string> Entries { get; } = new(StringComparer.Ordinal);

        public void WriteNode(string path, FsNode node)
        {
            var type = node.Kind switch
            {
                NodeKind.Directory => "dir",
                NodeKind.Symlink => "symlink",
                NodeKind.Fifo => "fifo",
                NodeKind.CharDevice => "char",
                _ => "block",
            };
            var mode = node.Kind == NodeKind.Symlink ? "-" : Convert.ToString(node.Mode, 8);
            Entries[path] = $"{type} {mode} {node.Uid}:{node.Gid} {(node.Kind == NodeKind.Symlink ? node.LinkTarget : "")}".TrimEnd();
        }

        public void WriteFile(IReadOnlyList<string> paths, FsNode attributes, long size, Stream data)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(data));
            foreach (var path in paths)
            {
                Entries[path] = $"file {Convert.ToString(attributes.Mode, 8)} {attributes.Uid}:{attributes.Gid} {hash}";
            }
        }

        public void Complete()
        {
        }
    }

    /// <summary>Reads a directory unpacked by umoci; with --rootless, owners are in the user.rootlesscontainers xattr.</summary>
    public static SortedDictionary<string, string> FromDirectory(string root)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(root, path);
            var info = new FileInfo(path);
            var (uid, gid) = Owner(path);
            var mode = Convert.ToString((int)File.GetUnixFileMode(path) & 0xFFF, 8);
            if (info.LinkTarget is { } target)
            {
                entries[relative] = $"symlink - {uid}:{gid} {target}";
            }
            else if (info.Attributes.HasFlag(FileAttributes.Directory))
            {
                entries[relative] = $"dir {mode} {uid}:{gid}";
            }
            else if (IsFifo(path))
            {
                entries[relative] = $"fifo {mode} {uid}:{gid}";
            }
            else
            {
                using var stream = File.OpenRead(path);
                entries[relative] = $"file {mode} {uid}:{gid} {Convert.ToHexStringLower(SHA256.HashData(stream))}";
            }
        }

        return entries;
    }

    private static bool IsFifo(string path) => lstat(path, out var st) == 0 && (st.Mode & 0xF000) == 0x1000;

    private static (long Uid, long Gid) Owner(string path)
    {
        var buffer = new byte[64];
        var n = lgetxattr(path, "user.rootlesscontainers", buffer, buffer.Length);
        var (uid, gid) = lstat(path, out var st) == 0 ? ((long)st.Uid, (long)st.Gid) : (0L, 0L);
        if (n > 0)
        {
            // rootlesscontainers.proto: message Resource { uint32 uid = 1; uint32 gid = 2; }; absent or 2^32-1 = unchanged.
            var i = 0;
            while (i < n)
            {
                var tag = buffer[i++];
                long value = 0;
                var shift = 0;
                byte b;
                do
                {
                    b = buffer[i++];
                    value |= (long)(b & 0x7F) << shift;
                    shift += 7;
                }
                while ((b & 0x80) != 0);

                if (value == uint.MaxValue)
                {
                    continue;
                }

                if (tag == 0x08)
                {
                    uid = value;
                }
                else if (tag == 0x10)
                {
                    gid = value;
                }
            }
        }

        return (uid, gid);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct StatBuffer
    {
        public ulong Dev;
        public ulong Ino;
        public ulong Nlink;
        public uint Mode;
        public uint Uid;
        public uint Gid;
        public int Pad0;
        public ulong Rdev;
        public long Size;
        public long BlkSize;
        public long Blocks;
        public long Atime, AtimeNsec, Mtime, MtimeNsec, Ctime, CtimeNsec;
        public long Reserved0, Reserved1, Reserved2;
    }

    // x86_64 struct stat layout (glibc >= 2.33 exports lstat).
    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lstat(string path, out StatBuffer buffer);

    [LibraryImport("libc", EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint lgetxattr(string path, string name, byte[] value, nint size);
}
