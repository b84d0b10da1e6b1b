namespace Underlay.Tftp;

/// <summary>Transfer mode from the request (RFC 1350 §1). "mail" is obsolete and refused.</summary>
public enum TftpTransferMode
{
    /// <summary>Raw 8-bit bytes ("octet"); what every boot loader asks for.</summary>
    Octet,

    /// <summary>
    /// "netascii" (RFC 764): the server converts LF to CR LF and a bare CR to CR NUL on the fly. The converted
    /// size is not known in advance, so <c>tsize</c> is not offered, and the conversion is sequential, so
    /// <c>windowsize</c> is declined (both as tftpd-hpa does).
    /// </summary>
    Netascii,
}
