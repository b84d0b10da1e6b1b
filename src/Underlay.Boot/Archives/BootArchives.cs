using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Underlay.Boot.Files;
using Underlay.Boot.Rendering;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Boot.Archives;

/// <summary>What an upload did.</summary>
/// <param name="Path">The stored name (ISO) or root-relative path under <c>files/</c>.</param>
/// <param name="Size">Bytes stored.</param>
/// <param name="Sha256">SHA-256 of what was stored, lower-case hex.</param>
/// <param name="Exploded">Directories (root-relative) the upload was exploded into.</param>
/// <param name="Errors">Explodes that failed (the upload itself is kept).</param>
public sealed record UploadResult(string Path, long Size, string Sha256, IReadOnlyList<string> Exploded, IReadOnlyList<string> Errors);

/// <summary>An upload that was refused; <see cref="Status"/> is the HTTP status to answer with.</summary>
public sealed class UploadException : Exception
{
    public UploadException()
        : this(400, "upload refused")
    {
    }

    public UploadException(string message)
        : this(400, message)
    {
    }

    public UploadException(string message, Exception innerException)
        : base(message, innerException) => Status = 400;

    public UploadException(int status, string message)
        : base(message) => Status = status;

    public int Status { get; }
}

/// <summary>
/// ISOs and archives in the file root (DRP's <c>/isos</c> and <c>/files</c>): uploads are streamed to a temporary
/// file while hashed (SHA-256) and renamed into place; an ISO is exploded for every boot environment that names it
/// (after checking the environment's <c>IsoSha256</c>/<c>Sha256</c>) into DRP's install tree, and the boot
/// environments are validated again so they become available. At start, and whenever a boot environment changes,
/// ISOs already in <c>isos/</c> are exploded for environments that lack their kernel (DRP does the same).
/// </summary>
public sealed partial class BootArchives : IDisposable
{
    private readonly ObjectStore _store;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _explodeLock = new(1, 1);
    private readonly ConcurrentDictionary<string, byte> _exploding = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Length, DateTime Written, string Sha256)> _hashes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _failures = new(StringComparer.Ordinal);

    public BootArchives(ObjectStore store, FileRoot root, ILogger logger)
    {
        _store = store;
        Root = root;
        _logger = logger;
        Directory.CreateDirectory(root.IsoDirectory);
        Directory.CreateDirectory(root.FilesDirectory);
    }

    public FileRoot Root { get; }

    /// <summary>Called after explodes with the boot environments that may have changed availability.</summary>
    public Func<IReadOnlyCollection<string>, CancellationToken, Task>? AfterExplode { get; set; }

    // ---- what validation asks -------------------------------------------------------------------------------

    /// <summary>Whether the ISO is in <c>isos/</c>.</summary>
    public bool IsoPresent(string iso) => IsValidIsoName(iso) && File.Exists(Path.Combine(Root.IsoDirectory, iso));

    public bool IsExploding(string iso) => _exploding.ContainsKey(iso);

    /// <summary>The SHA-256 of an ISO if it was hashed since it last changed; null if not known yet.</summary>
    public string? KnownSha256(string iso)
    {
        var path = Path.Combine(Root.IsoDirectory, iso);
        if (!_hashes.TryGetValue(iso, out var known))
        {
            return null;
        }

        var info = new FileInfo(path);
        return info.Exists && info.Length == known.Length && info.LastWriteTimeUtc == known.Written ? known.Sha256 : null;
    }

    /// <summary>Why the last explode of this ISO failed, if it did.</summary>
    public string? LastFailure(string iso) => _failures.GetValueOrDefault(iso);

    // ---- uploads --------------------------------------------------------------------------------------------

    public static bool IsValidIsoName(string name) =>
        name.Length is > 0 and <= 255 && !name.Contains('/', StringComparison.Ordinal) && !name.Contains('\\', StringComparison.Ordinal) &&
        !name.Contains('\0', StringComparison.Ordinal) && name[0] != '.';

    /// <summary>Stores an ISO as <c>isos/NAME</c> and explodes it for the boot environments that use it.</summary>
    public async Task<UploadResult> UploadIsoAsync(string name, Stream body, string? expectedSha256, CancellationToken cancellationToken)
    {
        if (!IsValidIsoName(name))
        {
            throw new UploadException(422, $"'{name}' is not an ISO name (one path segment, not starting with '.')");
        }

        var destination = Path.Combine(Root.IsoDirectory, name);
        var (size, sha) = await StoreAsync(destination, body, expectedSha256, cancellationToken).ConfigureAwait(false);
        var info = new FileInfo(destination);
        _hashes[name] = (size, info.LastWriteTimeUtc, sha);
        _failures.TryRemove(name, out _);
        LogStored("isos/" + name, size, sha);
        var (exploded, errors) = await ExplodeIsoAsync(name, onlyMissing: false, cancellationToken).ConfigureAwait(false);
        return new UploadResult(name, size, sha, exploded, errors);
    }

    /// <summary>Stores a file as <c>files/PATH</c>; with <paramref name="explode"/>, unpacks it into its directory.</summary>
    public async Task<UploadResult> UploadFileAsync(string path, Stream body, string? expectedSha256, bool explode, CancellationToken cancellationToken)
    {
        var relative = FilesRelative(path) ?? throw new UploadException(422, $"'{path}' is not a path inside files/");
        var destination = Root.Combine("files/" + relative) ?? throw new UploadException(403, $"'{path}' leaves the file root");
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var (size, sha) = await StoreAsync(destination, body, expectedSha256, cancellationToken).ConfigureAwait(false);
        LogStored("files/" + relative, size, sha);
        var exploded = new List<string>();
        var errors = new List<string>();
        if (explode)
        {
            // DRP explodes an archive into the directory it was uploaded to.
            var directory = Path.GetDirectoryName(destination)!;
            try
            {
                await ExplodeIntoAsync(destination, directory, cancellationToken).ConfigureAwait(false);
                exploded.Add(Path.GetRelativePath(Root.Path, directory));
            }
            catch (ArchiveException e)
            {
                errors.Add($"{relative}: {e.Message}");
            }
        }

        return new UploadResult(relative, size, sha, exploded, errors);
    }

    /// <summary>A path below <c>files/</c>, normalized; null if it names nothing or climbs out.</summary>
    public static string? FilesRelative(string path)
    {
        if (!FileRoot.TryNormalize(path, out var relative, out _) || relative.Length == 0)
        {
            return null;
        }

        return relative.Split('/').Any(segment => segment.StartsWith(".explode-", StringComparison.Ordinal) || segment.StartsWith(".upload-", StringComparison.Ordinal))
            ? null
            : relative;
    }

    /// <summary>Streams <paramref name="body"/> to a temporary file beside <paramref name="destination"/> while hashing it, then renames it into place.</summary>
    private static async Task<(long Size, string Sha256)> StoreAsync(string destination, Stream body, string? expectedSha256, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(destination)!, $".upload-{Guid.NewGuid():N}");
        long size = 0;
        string sha;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                var buffer = new byte[1 << 20];
                while (true)
                {
                    var read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    size += read;
                }
            }

            sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.IsNullOrEmpty(expectedSha256) && !string.Equals(expectedSha256, sha, StringComparison.OrdinalIgnoreCase))
            {
                throw new UploadException(422, $"sha256 mismatch: the upload's is {sha}, expected {expectedSha256.ToLowerInvariant()}; nothing was stored");
            }

            File.Move(temporary, destination, overwrite: true);
        }
        catch
        {
            ArchiveExploder.TryDelete(temporary);
            throw;
        }

        return (size, sha);
    }

    // ---- listing and removal --------------------------------------------------------------------------------

    public IReadOnlyList<string> ListIsos() =>
        [.. Directory.EnumerateFiles(Root.IsoDirectory).Select(Path.GetFileName).Where(n => n is not null && n[0] != '.').Order(StringComparer.Ordinal)!];

    /// <summary>Entries of a directory under <c>files/</c> (directories end in '/'), or null if it is not a directory.</summary>
    public IReadOnlyList<string>? ListFiles(string path)
    {
        var directory = path.Trim('/').Length == 0 ? Root.FilesDirectory : Root.Combine("files/" + FilesRelative(path));
        if (directory is null || !Directory.Exists(directory))
        {
            return null;
        }

        return [.. Directory.EnumerateFileSystemEntries(directory)
            .Select(entry => Path.GetFileName(entry) + (Directory.Exists(entry) ? "/" : ""))
            .Where(name => name[0] != '.')
            .Order(StringComparer.Ordinal)];
    }

    public string? IsoPath(string name) => IsoPresent(name) ? Path.Combine(Root.IsoDirectory, name) : null;

    public string? FilePath(string path) =>
        FilesRelative(path) is { } relative && Root.Combine("files/" + relative) is { } full && File.Exists(full) ? full : null;

    public bool DeleteIso(string name)
    {
        if (IsoPath(name) is not { } path)
        {
            return false;
        }

        File.Delete(path);
        _hashes.TryRemove(name, out _);
        return true;
    }

    public bool DeleteFile(string path)
    {
        if (FilesRelative(path) is not { } relative || Root.Combine("files/" + relative) is not { } full)
        {
            return false;
        }

        if (File.Exists(full))
        {
            File.Delete(full);
            return true;
        }

        if (Directory.Exists(full))
        {
            ArchiveExploder.TryDelete(full);
            return true;
        }

        return false;
    }

    // ---- explodes -------------------------------------------------------------------------------------------

    /// <summary>
    /// Explodes every present ISO for boot environments whose kernel is missing (at start, after content loads, after
    /// a boot environment is written). Returns the boot environments touched.
    /// </summary>
    public async Task ExplodeMissingAsync(CancellationToken cancellationToken)
    {
        var isos = new HashSet<string>(StringComparer.Ordinal);
        foreach (var env in _store.List(ModelTypes.BootEnvs).Cast<BootEnv>())
        {
            foreach (var arch in BootEnvLayout.Arches(env))
            {
                if (arch.IsoFile.Length > 0 && arch.Kernel.Length > 0 && IsoPresent(arch.IsoFile) && !_failures.ContainsKey(arch.IsoFile) &&
                    !File.Exists(Root.Path + BootEnvLayout.PathFor(env, arch.Kernel, arch.Arch)))
                {
                    isos.Add(arch.IsoFile);
                }
            }
        }

        foreach (var iso in isos)
        {
            await ExplodeIsoAsync(iso, onlyMissing: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Explodes <paramref name="iso"/> into the install tree of each boot environment (and architecture) naming it.</summary>
    public async Task<(IReadOnlyList<string> Exploded, IReadOnlyList<string> Errors)> ExplodeIsoAsync(string iso, bool onlyMissing, CancellationToken cancellationToken)
    {
        var exploded = new List<string>();
        var errors = new List<string>();
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var isoPath = Path.Combine(Root.IsoDirectory, iso);
        if (!File.Exists(isoPath))
        {
            return (exploded, errors);
        }

        _exploding[iso] = 0;
        await _explodeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var done = new HashSet<string>(StringComparer.Ordinal);
            foreach (var env in _store.List(ModelTypes.BootEnvs).Cast<BootEnv>())
            {
                foreach (var arch in BootEnvLayout.Arches(env))
                {
                    if (arch.IsoFile != iso)
                    {
                        continue;
                    }

                    touched.Add(env.Name);
                    var tree = BootEnvLayout.InstallRoot(env, arch.Arch);
                    if (onlyMissing && arch.Kernel.Length > 0 && File.Exists(Root.Path + BootEnvLayout.PathFor(env, arch.Kernel, arch.Arch)))
                    {
                        continue;
                    }

                    if (arch.IsoSha256.Length > 0)
                    {
                        var actual = await Sha256Async(iso, cancellationToken).ConfigureAwait(false);
                        if (!string.Equals(actual, arch.IsoSha256, StringComparison.OrdinalIgnoreCase))
                        {
                            var message = $"bootenv {env.Name} ({arch.Arch}): ISO {iso} has sha256 {actual}, the bootenv expects {arch.IsoSha256.ToLowerInvariant()}; not exploded";
                            errors.Add(message);
                            LogShaMismatch(message);
                            continue;
                        }
                    }

                    if (!done.Add(tree))
                    {
                        continue;
                    }

                    var destination = Root.Combine(tree.TrimStart('/'));
                    if (destination is null)
                    {
                        errors.Add($"bootenv {env.Name}: install tree {tree} leaves the file root");
                        continue;
                    }

                    try
                    {
                        LogExploding(iso, tree);
                        var started = System.Diagnostics.Stopwatch.GetTimestamp();
                        await ExplodeIntoAsync(isoPath, destination, cancellationToken).ConfigureAwait(false);
                        exploded.Add(tree.TrimStart('/'));
                        _failures.TryRemove(iso, out _);
                        LogExploded(iso, tree, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                    }
                    catch (Exception e) when (e is ArchiveException or IOException or UnauthorizedAccessException)
                    {
                        var message = $"explode of {iso} into {tree} failed: {e.Message}";
                        _failures[iso] = message;
                        errors.Add(message);
                        LogExplodeFailed(iso, tree, e.Message);
                    }
                }
            }
        }
        finally
        {
            _explodeLock.Release();
            _exploding.TryRemove(iso, out _);
        }

        if (touched.Count > 0 && AfterExplode is { } after)
        {
            await after(touched, cancellationToken).ConfigureAwait(false);
        }

        return (exploded, errors);
    }

    private static Task ExplodeIntoAsync(string archive, string destination, CancellationToken cancellationToken) =>
        destination == Path.GetDirectoryName(archive)
            ? ExplodeBesideAsync(archive, destination, cancellationToken)
            : ArchiveExploder.ExplodeAsync(archive, destination, cancellationToken);

    /// <summary>
    /// An archive exploded into its own directory (DRP's <c>files upload --explode</c>) adds to that directory
    /// instead of replacing it: explode to a staging tree, then move its entries in.
    /// </summary>
    private static async Task ExplodeBesideAsync(string archive, string directory, CancellationToken cancellationToken)
    {
        var staging = Path.Combine(directory, $".explode-{Guid.NewGuid():N}");
        try
        {
            await ArchiveExploder.ExplodeAsync(archive, staging, cancellationToken).ConfigureAwait(false);
            MoveInto(staging, directory);
        }
        finally
        {
            ArchiveExploder.TryDelete(staging);
        }
    }

    private static void MoveInto(string from, string to)
    {
        foreach (var entry in new DirectoryInfo(from).EnumerateFileSystemInfos())
        {
            var target = Path.Combine(to, entry.Name);
            if (entry is DirectoryInfo { LinkTarget: null } directory)
            {
                if (Directory.Exists(target) && new DirectoryInfo(target).LinkTarget is null)
                {
                    MoveInto(directory.FullName, target);
                    continue;
                }

                ArchiveExploder.TryDelete(target);
                Directory.Move(directory.FullName, target);
            }
            else
            {
                if (Directory.Exists(target) && new DirectoryInfo(target).LinkTarget is null)
                {
                    ArchiveExploder.TryDelete(target);
                }

                File.Move(entry.FullName, target, overwrite: true);
            }
        }
    }

    private async Task<string> Sha256Async(string iso, CancellationToken cancellationToken)
    {
        if (KnownSha256(iso) is { } known)
        {
            return known;
        }

        var path = Path.Combine(Root.IsoDirectory, iso);
        var info = new FileInfo(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
            _hashes[iso] = (info.Length, info.LastWriteTimeUtc, sha);
            return sha;
        }
    }

    public void Dispose() => _explodeLock.Dispose();

    [LoggerMessage(4020, LogLevel.Information, "Stored {Path}: {Size} bytes, sha256 {Sha256}")]
    private partial void LogStored(string path, long size, string sha256);

    [LoggerMessage(4021, LogLevel.Information, "Exploding {Iso} into {Tree}")]
    private partial void LogExploding(string iso, string tree);

    [LoggerMessage(4022, LogLevel.Information, "Exploded {Iso} into {Tree} in {Seconds:F1} s")]
    private partial void LogExploded(string iso, string tree, double seconds);

    [LoggerMessage(4023, LogLevel.Error, "Exploding {Iso} into {Tree} failed: {Error}")]
    private partial void LogExplodeFailed(string iso, string tree, string error);

    [LoggerMessage(4024, LogLevel.Warning, "{Message}")]
    private partial void LogShaMismatch(string message);
}
