using Underlay.Tftp;
using Underlay.Tftp.Files;

namespace Underlay.Boot.Files;

/// <summary>The TFTP server's view of the boot file space: renders from memory, real files by positional reads.</summary>
public sealed class TftpBootFileSource(BootFileSystem files) : ITftpFileSource
{
    public ValueTask<TftpOpenResult> OpenAsync(string path, TftpRequestContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var file = files.Open(path, new BootFileRequest("tftp", context.RemoteEndPoint.Address, context.LocalAddress));
        return new ValueTask<TftpOpenResult>(file.Kind switch
        {
            BootFileKind.Rendered => TftpOpenResult.FromMemory(file.Content),
            BootFileKind.Physical => OpenPhysical(file),
            BootFileKind.Forbidden => TftpOpenResult.Error(TftpErrorCode.AccessViolation, file.Message ?? "Access violation"),

            // ERROR 0 carries the reason (a missing required param) to the client's log.
            BootFileKind.Failed => TftpOpenResult.Error(TftpErrorCode.NotDefined, Truncate(file.Message ?? "Render failed")),
            _ => TftpOpenResult.NotFound(),
        });
    }

    private static TftpOpenResult OpenPhysical(BootFile file)
    {
        if (file.Length == 0)
        {
            // Empty, a FIFO or a device: never open those (a FIFO blocks until someone writes).
            return TftpOpenResult.FromMemory(ReadOnlyMemory<byte>.Empty);
        }

        try
        {
            var handle = File.OpenHandle(file.FullPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
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

    /// <summary>An ERROR packet should fit one 512-byte block with room for the header.</summary>
    private static string Truncate(string message) => message.Length <= 400 ? message : message[..400];
}
