using System.Net;

namespace Underlay.Tftp;

/// <summary>
/// Settings fixed for the lifetime of a <see cref="TftpServer"/>. There is no "default block size": without a
/// negotiated blksize a block is 512 bytes (RFC 1350 §1), and any other value would break plain RFC 1350 clients.
/// </summary>
public sealed record TftpServerOptions
{
    /// <summary>Address to listen on. Any (all IPv4 interfaces) like DRP and tftpd-hpa; IPv6Any listens dual-stack.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Any;

    /// <summary>UDP port; 69 is TFTP's well-known port (RFC 1350 §4). 0 picks a free port (tests).</summary>
    public int Port { get; init; } = 69;

    /// <summary>
    /// Largest blksize granted (RFC 2348 allows 8-65464); larger requests get this value in the OACK.
    /// 65464 is the RFC maximum and tftpd-hpa's default (MAX_SEGSIZE). dnsmasq instead caps at the interface
    /// MTU to avoid IP fragmentation; lower this (e.g. 1468 for a 1500 MTU) on lossy networks.
    /// </summary>
    public int MaxBlockSize { get; init; } = 65464;

    /// <summary>
    /// Largest windowsize granted (RFC 7440 allows 1-65535). 64 blocks: a whole window is sent as one burst, and
    /// windowsize × blksize bytes must fit the client's socket receive buffer (Linux default 208 KiB) or blocks
    /// are dropped and the window restarts. dnsmasq caps at 32 (TFTP_MAX_WINDOW), tftpd-hpa at 32768.
    /// 1 disables windows.
    /// </summary>
    public int MaxWindowSize { get; init; } = 64;

    /// <summary>
    /// Largest window in payload bytes (windowsize × blksize); the granted windowsize is lowered to fit. A window
    /// goes out as one burst and must fit in the client's socket receive buffer (Linux default 208 KiB, of which
    /// per-packet overhead takes up to half): measured on loopback, atftp stalls at 16 × 8192 B and never recovers,
    /// because every restart overflows the buffer again. 64 KiB keeps every block size safe and is one UDP GSO send.
    /// tftpd-hpa has the same knob (--window-bytes).
    /// </summary>
    public int MaxWindowBytes { get; init; } = 65536;

    /// <summary>
    /// First retransmission timeout; it doubles on every retransmission of the same packet. 1 s is tftpd-hpa's
    /// default (TIMEOUT, -T). A client's RFC 2349 "timeout" option replaces it for that transfer.
    /// </summary>
    public TimeSpan RetransmitTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Retransmissions of one packet before the transfer is abandoned and its resources freed. 5 matches
    /// tftpd-hpa (TRIES = 6 sends): with the doubling timeout a silent client is given up after 1+2+4+8+16+32 = 63 s.
    /// </summary>
    public int MaxRetransmits { get; init; } = 5;

    /// <summary>
    /// Transfers in progress at once; requests beyond it get ERROR 0 "Server busy". Each transfer holds a socket
    /// and one blksize buffer (≤ 64 KiB). dnsmasq allows 50 (--tftp-max), atftpd 100 threads (--maxthread);
    /// tftpd-hpa forks without limit. 512 covers a rack-scale PXE storm.
    /// </summary>
    public int MaxConcurrentTransfers { get; init; } = 512;

    /// <summary>Every problem with these options at once (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (BindAddress is null)
        {
            errors.Add("BindAddress is required.");
        }

        if (Port is < 0 or > 65535)
        {
            errors.Add($"Port {Port} is outside 0-65535.");
        }

        if (MaxBlockSize is < 8 or > 65464)
        {
            errors.Add($"MaxBlockSize {MaxBlockSize} is outside 8-65464 (RFC 2348).");
        }

        if (MaxWindowSize is < 1 or > 65535)
        {
            errors.Add($"MaxWindowSize {MaxWindowSize} is outside 1-65535 (RFC 7440).");
        }

        if (MaxWindowBytes < 8)
        {
            errors.Add($"MaxWindowBytes {MaxWindowBytes} must be at least 8.");
        }

        if (RetransmitTimeout <= TimeSpan.Zero || RetransmitTimeout > TimeSpan.FromSeconds(255))
        {
            errors.Add($"RetransmitTimeout {RetransmitTimeout} must be above zero and at most 255 s.");
        }

        if (MaxRetransmits is < 0 or > 30)
        {
            errors.Add($"MaxRetransmits {MaxRetransmits} is outside 0-30.");
        }

        if (MaxConcurrentTransfers < 1)
        {
            errors.Add($"MaxConcurrentTransfers {MaxConcurrentTransfers} must be at least 1.");
        }

        return errors;
    }
}
