using System.Diagnostics.CodeAnalysis;

namespace Underlay.Tftp.Files;

/// <summary>What <see cref="ITftpFileSource.OpenAsync"/> answers: readable content, or an error for the client.</summary>
public sealed class TftpOpenResult
{
    private static readonly TftpOpenResult s_notFound = new(null, TftpErrorCode.FileNotFound, "File not found");
    private static readonly TftpOpenResult s_accessViolation = new(null, TftpErrorCode.AccessViolation, "Access violation");

    private TftpOpenResult(TftpFile? file, TftpErrorCode errorCode, string? errorMessage)
    {
        File = file;
        ErrorCode = errorCode;
        ErrorMessage = errorMessage;
    }

    /// <summary>The content to send; null when the open failed.</summary>
    public TftpFile? File { get; }

    /// <summary>The ERROR code sent to the client when <see cref="IsSuccess"/> is false.</summary>
    public TftpErrorCode ErrorCode { get; }

    /// <summary>The ERROR message sent to the client when <see cref="IsSuccess"/> is false.</summary>
    public string? ErrorMessage { get; }

    [MemberNotNullWhen(true, nameof(File))]
    public bool IsSuccess => File is not null;

    /// <summary>Serve <paramref name="file"/>; the server disposes it when the transfer ends.</summary>
    public static TftpOpenResult Success(TftpFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new TftpOpenResult(file, TftpErrorCode.NotDefined, null);
    }

    /// <summary>Serve bytes held in memory, e.g. a boot file rendered for this machine. Length is known (tsize).</summary>
    public static TftpOpenResult FromMemory(ReadOnlyMemory<byte> content) => Success(TftpFile.FromMemory(content));

    /// <summary>Serve a stream; see <see cref="TftpFile.FromStream"/>.</summary>
    public static TftpOpenResult FromStream(Stream stream, bool leaveOpen = false) => Success(TftpFile.FromStream(stream, leaveOpen));

    /// <summary>Refuse with <paramref name="code"/> and <paramref name="message"/> (sent to the client as is).</summary>
    public static TftpOpenResult Error(TftpErrorCode code, string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new TftpOpenResult(null, code, message);
    }

    /// <summary>ERROR 1, "File not found".</summary>
    public static TftpOpenResult NotFound() => s_notFound;

    /// <summary>ERROR 2, "Access violation".</summary>
    public static TftpOpenResult AccessViolation() => s_accessViolation;
}
