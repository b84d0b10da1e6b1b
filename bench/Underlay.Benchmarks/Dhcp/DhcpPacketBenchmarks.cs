using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Underlay.Core.Models;
using Underlay.Dhcp;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Engine;
using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;
using Underlay.Templates;

namespace Underlay.Benchmarks.Dhcp;

/// <summary>
/// The DHCP packet path without sockets or store. Budget 0 B per packet for parsing a PXE DISCOVER and for
/// building its OFFER (options in 55's order, sname/file). For scale, the whole engine (scope, lease table,
/// options, PXE, reply) on a re-offer, which allocates only the client's token string.
/// </summary>
[MemoryDiagnoser]
public class DhcpPacketBenchmarks
{
    private readonly byte[] _discover = BuildDiscover(0x525400123456);
    private readonly DhcpMessage _message = new();
    private readonly DhcpContext _replyContext = new();
    private readonly DhcpContext _engineContext = new();
    private DhcpEngine _engine = null!;
    private Ingress _ingress = null!;
    private DhcpCounters _counters = null!;

    [GlobalSetup]
    public void Setup()
    {
        var config = DhcpConfiguration.Build(
            [new Subnet
            {
                Name = "lab", Cidr = "10.99.0.0/16", ActiveStart = "10.99.1.0", ActiveEnd = "10.99.254.254", ActiveLeaseTime = 3600, Validated = true,
                Options = [new DhcpOption { Code = 3, Value = "10.99.0.1" }, new DhcpOption { Code = 6, Value = "10.99.0.1" }, new DhcpOption { Code = 15, Value = "lab.example" }],
            }],
            [], TemplateEngine.Shared);
        _counters = new DhcpCounters();
        _engine = new DhcpEngine(new DhcpServerOptions(), new LeaseTable(new NullJournal()), null, null, new NoMachines(), null, _counters,
            NullLogger.Instance, TimeProvider.System) { Configuration = config };
        _ingress = new Ingress { Sender = new NullSender(), InterfaceIndex = 2, InterfaceName = "eth0", Addresses = [(0x0a630001, 0xffff0000)] };

        // A reply context as the handlers leave it for an OFFER.
        _replyContext.Request.Parse(_discover);
        _replyContext.Ingress = _ingress;
        _replyContext.ReplyType = DhcpMessageType.Offer;
        _replyContext.YiAddr = 0x0a630105;
        _replyContext.SiAddr = 0x0a630001;
        _replyContext.ServerId = 0x0a630001;
        _replyContext.LeaseSeconds = 3600;
        _replyContext.Options.Set(1, [255, 255, 0, 0]);
        _replyContext.Options.Set(3, [10, 99, 0, 1]);
        _replyContext.Options.Set(6, [10, 99, 0, 1]);
        _replyContext.Options.Set(15, "lab.example"u8);
        _replyContext.Options.Set(66, "10.99.0.1"u8);
        _replyContext.Options.Set(67, "ipxe.efi"u8);
        "ipxe.efi"u8.CopyTo(_replyContext.FileName);
        _replyContext.FileNameLength = 8;
        "10.99.0.1"u8.CopyTo(_replyContext.ServerName);
        _replyContext.ServerNameLength = 9;
        _engine.Process(_engineContext, _discover, _discover.Length, _ingress, 0, 68);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        _counters.Dispose();
    }

    [Benchmark]
    public int ParseDiscover() => (int)_message.Parse(_discover) + _message.OptionCodes.Length;

    [Benchmark]
    public int BuildOffer() => DhcpEngine.BuildReply(_replyContext);

    [Benchmark]
    public void EngineDiscoverToOffer() => _engine.Process(_engineContext, _discover, _discover.Length, _ingress, 0, 68);

    /// <summary>A UEFI PXE ROM's DISCOVER (options as in DRP's golden 0000-basic-uefi-discover).</summary>
    private static byte[] BuildDiscover(ulong mac)
    {
        var packet = new byte[400];
        packet[0] = 1;
        packet[1] = 1;
        packet[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), 0xed2b0d78);
        for (var i = 0; i < 6; i++)
        {
            packet[28 + i] = (byte)(mac >> (8 * (5 - i)));
        }

        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(236), 0x63825363);
        var options = new List<byte> { 53, 1, 1, 57, 2, 5, 192, 93, 2, 0, 7, 94, 3, 1, 3, 1 };
        options.AddRange([60, 32, .. "PXEClient:Arch:00007:UNDI:003001"u8.ToArray()]);
        byte[] requested = [1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135];
        options.AddRange([55, (byte)requested.Length, .. requested]);
        options.AddRange([97, 17, 0, .. Enumerable.Range(1, 16).Select(i => (byte)i)]);
        options.Add(255);
        options.CopyTo(packet, 240);
        return packet[..(240 + options.Count)];
    }

    private sealed class NullJournal : ILeaseJournal
    {
        public void Record(in LeaseRecord record)
        {
        }
    }

    private sealed class NullSender : IReplySender
    {
        public string InterfaceName => "eth0";

        public void Send(ReadOnlySpan<byte> datagram, uint address, int port)
        {
        }
    }

    private sealed class NoMachines : IBootDirectory
    {
        public string UnknownBootEnv => "";

        public Machine? FindMachine(string mac) => null;

        public BootEnv? FindBootEnv(string name) => null;

        public void UpdateMachineAddress(string mac, uint address)
        {
        }
    }
}
