namespace Underlay.Tftp;

/// <summary>TFTP ERROR packet codes (RFC 1350 §5, Appendix; code 8 from RFC 2347).</summary>
public enum TftpErrorCode
{
    /// <summary>Not defined, see the error message.</summary>
    NotDefined = 0,

    /// <summary>File not found.</summary>
    FileNotFound = 1,

    /// <summary>Access violation.</summary>
    AccessViolation = 2,

    /// <summary>Disk full or allocation exceeded.</summary>
    DiskFull = 3,

    /// <summary>Illegal TFTP operation.</summary>
    IllegalOperation = 4,

    /// <summary>Unknown transfer ID.</summary>
    UnknownTransferId = 5,

    /// <summary>File already exists.</summary>
    FileAlreadyExists = 6,

    /// <summary>No such user.</summary>
    NoSuchUser = 7,

    /// <summary>Terminate transfer due to option negotiation (RFC 2347).</summary>
    OptionNegotiationFailed = 8,
}
