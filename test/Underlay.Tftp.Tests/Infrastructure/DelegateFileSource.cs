using Underlay.Tftp.Files;

namespace Underlay.Tftp.Tests.Infrastructure;

/// <summary>A file source answered by a function: stands in for rendered (in-memory) boot files.</summary>
internal sealed class DelegateFileSource(Func<string, TftpRequestContext, TftpOpenResult> open) : ITftpFileSource
{
    public ValueTask<TftpOpenResult> OpenAsync(string path, TftpRequestContext context, CancellationToken cancellationToken) =>
        new(open(path, context));
}
