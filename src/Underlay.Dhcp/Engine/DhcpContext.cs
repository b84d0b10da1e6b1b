using Underlay.Core.Models;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Engine;

/// <summary>Sends a finished reply out of the interface the request came in on.</summary>
internal interface IReplySender
{
    /// <summary>The interface name, for logs.</summary>
    string InterfaceName { get; }

    void Send(ReadOnlySpan<byte> datagram, uint address, int port);
}

/// <summary>Where a request came from: the interface (IP_PKTINFO / the socket's device) and the sender.</summary>
internal sealed class Ingress
{
    public required IReplySender Sender { get; init; }

    public required int InterfaceIndex { get; init; }

    public required string InterfaceName { get; init; }

    /// <summary>The interface's IPv4 addresses with their masks.</summary>
    public required (uint Address, uint Mask)[] Addresses { get; init; }

    /// <summary>True for the PXE/BINL port (4011): only proxy-DHCP REQUESTs are answered there.</summary>
    public bool Binl { get; init; }

    /// <summary>The interface address inside <paramref name="network"/>'s subnet, else the first one, else 0.</summary>
    public uint AddressFor(CompiledSubnet? network, uint hint)
    {
        foreach (var (address, mask) in Addresses)
        {
            if (network is not null ? network.Contains(address) : hint != 0 && (hint & mask) == (address & mask))
            {
                return address;
            }
        }

        return Addresses.Length > 0 ? Addresses[0].Address : 0;
    }
}

/// <summary>Options chosen for one reply: code → wire value, held in a reused buffer.</summary>
internal sealed class ReplyOptions
{
    private readonly byte[] _data = new byte[4096];
    private readonly int[] _start = new int[256];
    private readonly int[] _length = new int[256];
    private readonly byte[] _codes = new byte[256];
    private int _count;
    private int _used;

    public ReplyOptions() => Array.Fill(_length, -1);

    public bool Has(byte code) => _length[code] >= 0;

    public ReadOnlySpan<byte> Get(byte code) => _length[code] < 0 ? default : _data.AsSpan(_start[code], _length[code]);

    /// <summary>Codes set, in the order first set.</summary>
    public ReadOnlySpan<byte> Codes => _codes.AsSpan(0, _count);

    /// <summary>Sets (or replaces) an option; false when the buffer is full.</summary>
    public bool Set(byte code, ReadOnlySpan<byte> value)
    {
        if (_used + value.Length > _data.Length)
        {
            return false;
        }

        if (_length[code] < 0)
        {
            _codes[_count++] = code;
        }

        value.CopyTo(_data.AsSpan(_used));
        _start[code] = _used;
        _length[code] = value.Length;
        _used += value.Length;
        return true;
    }

    public void Remove(byte code)
    {
        if (_length[code] < 0)
        {
            return;
        }

        _length[code] = -1;
        var index = Array.IndexOf(_codes, code, 0, _count);
        Array.Copy(_codes, index + 1, _codes, index, _count - index - 1);
        _count--;
    }

    public void Clear()
    {
        for (var i = 0; i < _count; i++)
        {
            _length[_codes[i]] = -1;
        }

        _count = 0;
        _used = 0;
    }
}

/// <summary>
/// Everything the handler chain knows about one request and the reply it is building. One instance per worker,
/// reused for every packet; nothing here survives the packet.
/// </summary>
internal sealed class DhcpContext
{
    public DhcpMessage Request { get; } = new();

    public ReplyOptions Options { get; } = new();

    /// <summary>Scratch for the boot file name and server name (sname).</summary>
    public byte[] FileName { get; } = new byte[128];

    public byte[] ServerName { get; } = new byte[64];

    public byte[] Reply { get; } = new byte[1500];

    public Ingress Ingress { get; set; } = null!;

    /// <summary>The request's source address and port.</summary>
    public uint SourceAddress { get; set; }

    public int SourcePort { get; set; }

    public long Now { get; set; }

    public DhcpConfiguration Config { get; set; } = DhcpConfiguration.Empty;

    /// <summary>How many ICMP probes this request already went through (bounded).</summary>
    public int ProbeAttempt { get; set; }

    /// <summary>Set by the lease handler when a new address must be probed before it is offered.</summary>
    public DhcpEngine.PendingProbe? PendingProbe { get; set; }

    // ---- scope -----------------------------------------------------------------------------------------

    /// <summary>The address that chose the subnet: option 82/5, giaddr, or the ingress interface's address.</summary>
    public uint LinkAddress { get; set; }

    public CompiledSubnet? Subnet { get; set; }

    public CompiledReservation? Reservation { get; set; }

    /// <summary>Our own address on the ingress interface (for siaddr and boot URLs).</summary>
    public uint LocalAddress { get; set; }

    /// <summary>Option 54 in replies: <see cref="LocalAddress"/>, or option 82/11's override (RFC 5107).</summary>
    public uint ServerId { get; set; }

    /// <summary>The lease's via: giaddr for relayed requests, else the interface address.</summary>
    public uint Via { get; set; }

    /// <summary>The client's MAC as DRP's token (lowercase colon form); made once per packet when needed.</summary>
    public string Token
    {
        get => _token ??= OptionValues.FormatMac(Request.Mac);
        set => _token = value;
    }

    private string? _token;

    // ---- reply -----------------------------------------------------------------------------------------

    public DhcpMessageType ReplyType { get; set; }

    public uint YiAddr { get; set; }

    public uint CiAddr { get; set; }

    public uint SiAddr { get; set; }

    /// <summary>Lease time in seconds; 0 for replies without a lease (INFORM, NAK, proxy).</summary>
    public int LeaseSeconds { get; set; }

    /// <summary>Proxy DHCP or BINL reply: PXE options only, no address.</summary>
    public bool Proxy { get; set; }

    /// <summary>Send the reply only after its lease change is durable (ACKs).</summary>
    public bool AfterCommit { get; set; }

    /// <summary>Boot options may be sent (DRP's checks: managed subnet, machine's bootenv has a kernel, ...).</summary>
    public bool NetBootAllowed { get; set; }

    public Machine? Machine { get; set; }

    public BootEnv? BootEnv { get; set; }

    public int FileNameLength { get; set; }

    public int ServerNameLength { get; set; }

    /// <summary>Why the chain stopped without a reply (for counters and debug logs).</summary>
    public string? Outcome { get; set; }

    public void Reset()
    {
        Options.Clear();
        Subnet = null;
        Reservation = null;
        LinkAddress = 0;
        LocalAddress = 0;
        ServerId = 0;
        Via = 0;
        _token = null;
        ReplyType = DhcpMessageType.None;
        YiAddr = 0;
        CiAddr = 0;
        SiAddr = 0;
        LeaseSeconds = 0;
        Proxy = false;
        AfterCommit = false;
        NetBootAllowed = false;
        Machine = null;
        BootEnv = null;
        FileNameLength = 0;
        ServerNameLength = 0;
        Outcome = null;
        PendingProbe = null;
    }

    public bool IsPxeClient => Request.Option(OptionCode.VendorClass).StartsWith("PXEClient"u8);

    public bool IsHttpClient => Request.Option(OptionCode.VendorClass).StartsWith("HTTPClient"u8);
}
