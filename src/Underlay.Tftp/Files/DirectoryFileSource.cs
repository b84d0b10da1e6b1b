namespace Underlay.Tftp.Files;

/// <summary>
/// Serves regular files under a root directory, the way <c>in.tftpd -s ROOT</c> does. Symbolic links are
/// followed only while they resolve inside the root: every component of the path is resolved here (realpath
/// semantics, at most 40 links as Linux allows) and the symlink-free result must lie under the root's own
/// real path, otherwise the request is refused with an access violation. The file is then opened by that
/// resolved path, so a link the check did not see is not followed; what is left is the race of someone with write
/// access to the root swapping a directory for a link between the check and the open.
/// Entries of length zero are served as empty content without being opened: an empty file looks the same as a
/// FIFO or a device to <see cref="FileInfo"/>, and opening a FIFO would block until a writer appears.
/// </summary>
public sealed class DirectoryFileSource : ITftpFileSource
{
    private readonly ConfinedRoot _root;

    public DirectoryFileSource(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        RootDirectory = Path.GetFullPath(rootDirectory);
        if (!Directory.Exists(RootDirectory))
        {
            throw new DirectoryNotFoundException($"TFTP root '{RootDirectory}' does not exist.");
        }

        _root = new ConfinedRoot(RootDirectory);
    }

    /// <summary>The root as given (made absolute).</summary>
    public string RootDirectory { get; }

    public ValueTask<TftpOpenResult> OpenAsync(string path, TftpRequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new ValueTask<TftpOpenResult>(Open(path));
    }

    private TftpOpenResult Open(string path)
    {
        var resolved = _root.Resolve(path);
        if (resolved is null)
        {
            return TftpOpenResult.Error(TftpErrorCode.AccessViolation, "Too many levels of symbolic links");
        }

        if (!_root.Contains(resolved))
        {
            return TftpOpenResult.Error(TftpErrorCode.AccessViolation, "Path leaves the TFTP root");
        }

        var info = new FileInfo(resolved);
        if (!info.Exists)
        {
            // FileInfo.Exists is false for directories too; a client cannot tell those from a missing file.
            return TftpOpenResult.NotFound();
        }

        if (info.Length == 0)
        {
            return TftpOpenResult.FromMemory(ReadOnlyMemory<byte>.Empty);
        }

        try
        {
            var handle = File.OpenHandle(resolved, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return TftpOpenResult.Success(TftpFile.FromFileHandle(handle));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return TftpOpenResult.NotFound();
        }
        catch (UnauthorizedAccessException)
        {
            return TftpOpenResult.AccessViolation();
        }
    }
}
