namespace Underlay.Tftp.Protocol;

/// <summary>RFC 1350 §5 opcodes, plus OACK from RFC 2347.</summary>
internal enum TftpOpcode : ushort
{
    ReadRequest = 1,
    WriteRequest = 2,
    Data = 3,
    Acknowledgment = 4,
    Error = 5,
    OptionAcknowledgment = 6,
}
