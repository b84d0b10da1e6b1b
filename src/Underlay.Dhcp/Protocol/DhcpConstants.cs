namespace Underlay.Dhcp.Protocol;

/// <summary>DHCP message types (RFC 2132 §9.6, option 53).</summary>
public enum DhcpMessageType : byte
{
    None = 0,
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

/// <summary>Option codes the server reads or writes (RFC 2132, RFC 3046, RFC 4578, RFC 3527, RFC 5107).</summary>
internal static class OptionCode
{
    public const byte Pad = 0;
    public const byte SubnetMask = 1;
    public const byte Router = 3;
    public const byte DomainNameServer = 6;
    public const byte HostName = 12;
    public const byte DomainName = 15;
    public const byte BroadcastAddress = 28;
    public const byte VendorSpecific = 43;
    public const byte RequestedAddress = 50;
    public const byte LeaseTime = 51;
    public const byte Overload = 52;
    public const byte MessageType = 53;
    public const byte ServerIdentifier = 54;
    public const byte ParameterRequestList = 55;
    public const byte Message = 56;
    public const byte MaxMessageSize = 57;
    public const byte RenewalTime = 58;
    public const byte RebindingTime = 59;
    public const byte VendorClass = 60;
    public const byte ClientIdentifier = 61;
    public const byte TftpServerName = 66;
    public const byte BootFileName = 67;
    public const byte UserClass = 77;
    public const byte RelayAgentInformation = 82;
    public const byte ClientArchitecture = 93;
    public const byte ClientNetworkInterface = 94;
    public const byte ClientMachineId = 97;
    public const byte IpxeEncapsulated = 175;
    public const byte End = 255;
}

/// <summary>Fixed BOOTP header layout (RFC 2131 §2, figure 1).</summary>
internal static class BootpLayout
{
    public const int Op = 0;
    public const int HType = 1;
    public const int HLen = 2;
    public const int Hops = 3;
    public const int Xid = 4;
    public const int Secs = 8;
    public const int Flags = 10;
    public const int CiAddr = 12;
    public const int YiAddr = 16;
    public const int SiAddr = 20;
    public const int GiAddr = 24;
    public const int ChAddr = 28;
    public const int ChAddrLength = 16;
    public const int SName = 44;
    public const int SNameLength = 64;
    public const int File = 108;
    public const int FileLength = 128;
    public const int Cookie = 236;
    public const int Options = 240;

    /// <summary>RFC 2131 §3: the first four octets of the options field are the magic cookie 99.130.83.99.</summary>
    public const uint MagicCookie = 0x63825363;

    public const byte BootRequest = 1;
    public const byte BootReply = 2;

    /// <summary>RFC 2131 §2: the leftmost bit of 'flags' is the BROADCAST flag.</summary>
    public const ushort BroadcastFlag = 0x8000;

    /// <summary>RFC 1542 §3.1.1 / RFC 2131 §2: BOOTP relays and old clients expect at least 300 octets.</summary>
    public const int MinimumReplyLength = 300;

    /// <summary>RFC 2131 §2: every client must accept 576-octet IP datagrams, i.e. 548 octets of DHCP.</summary>
    public const int DefaultMaxMessageSize = 576 - 28;

    public const int ServerPort = 67;
    public const int ClientPort = 68;
}
