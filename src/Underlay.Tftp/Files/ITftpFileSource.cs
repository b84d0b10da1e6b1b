namespace Underlay.Tftp.Files;

/// <summary>
/// Where the TFTP server gets file content. The server never touches the file system itself: it normalizes the
/// requested name (see <see cref="TftpRequestContext.RequestedFileName"/> for the raw one) and asks the source.
/// A source may serve real files (<see cref="DirectoryFileSource"/>), content rendered in memory per machine, or
/// both (a virtual file system that tries renders first). Called once per read request, on a thread-pool thread,
/// concurrently for different requests.
/// </summary>
public interface ITftpFileSource
{
    /// <summary>
    /// Opens <paramref name="path"/> for reading. <paramref name="path"/> is relative to the source's root, uses
    /// <c>/</c> separators and contains no <c>..</c>, empty or <c>.</c> segments. Return
    /// <see cref="TftpOpenResult.Success"/> (the server disposes the file when the transfer ends) or an error,
    /// which is sent to the client as an ERROR packet. An exception is logged and sent as ERROR 0.
    /// </summary>
    ValueTask<TftpOpenResult> OpenAsync(string path, TftpRequestContext context, CancellationToken cancellationToken);
}
