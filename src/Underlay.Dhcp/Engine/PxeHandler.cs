using System.Text;
using System.Text.Unicode;
using Underlay.Core.Models;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp.Engine;

/// <summary>
/// Boot options (DRP fillForPXE), only for PXE/HTTP-boot clients (option 60) or when the subnet or reservation
/// sets option 67 itself. The boot file is, first match wins: the configured option 67; <c>default.ipxe</c>
/// over HTTP for iPXE (option 77 <c>iPXE</c>); the BootEnv's <c>Loaders</c> for the client's architecture; the
/// iPXE build for the architecture (option 93, RFC 4578 §2.1). It goes into option 67 and the BOOTP 'file'
/// field, the server into option 66 and 'sname' (some firmware reads only the fields; DRP cites the Dell T320).
/// </summary>
internal sealed class PxeHandler : IDhcpHandler
{
    /// <summary>PXE spec option 43 sub-option 6 (PXE_DISCOVERY_CONTROL) = 8: boot the file named in the offer, no menu.</summary>
    private static readonly byte[] PxeDiscoveryControl = [6, 1, 8, 255];

    private readonly int _httpPort;

    public PxeHandler(int httpPort) => _httpPort = httpPort;

    public HandlerResult Handle(DhcpContext context)
    {
        if (context.ReplyType is not (DhcpMessageType.Offer or DhcpMessageType.Ack))
        {
            return HandlerResult.Continue;
        }

        var options = context.Options;
        if (!context.NetBootAllowed)
        {
            RemoveBootOptions(options);
            return HandlerResult.Continue;
        }

        var arch = context.Request.ClientArchitecture;
        var http = context.IsHttpClient || arch is 15 or 16 or 18 or 19;
        var configured = options.Has(OptionCode.BootFileName);
        if (!configured && !context.IsPxeClient && !http)
        {
            // A plain DHCP client: configured options only, no generated boot file.
            return HandlerResult.Continue;
        }

        var siaddr = context.Reservation is { NextServer: not 0 } reservation ? reservation.NextServer
            : context.Subnet is { NextServer: not 0 } subnet ? subnet.NextServer
            : context.LocalAddress;
        context.SiAddr = siaddr;

        var file = context.FileName.AsSpan();
        int length;
        if (configured)
        {
            var value = options.Get(OptionCode.BootFileName);
            length = Math.Min(value.Length, file.Length);
            value[..length].CopyTo(file);
        }
        else if (IsIpxe(context.Request.Option(OptionCode.UserClass)))
        {
            // iPXE is running already: hand it the boot script over HTTP.
            length = WriteUrl(file, context.LocalAddress, "default.ipxe");
        }
        else if (LoaderFor(context.BootEnv, arch) is { } loader)
        {
            length = http && !loader.StartsWith("http", StringComparison.Ordinal) ? WriteUrl(file, context.LocalAddress, loader) : Encoding.UTF8.GetBytes(loader.AsSpan(0, Math.Min(loader.Length, file.Length)), file);
        }
        else if (DefaultLoader(arch) is { } builtIn)
        {
            length = http ? WriteUrl(file, context.LocalAddress, builtIn) : Encoding.UTF8.GetBytes(builtIn, file);
        }
        else
        {
            // DRP: 32-bit EFI (6, 10) and unknown architectures get no boot file.
            RemoveBootOptions(options);
            if (context.Proxy)
            {
                context.Outcome = "UnsupportedArchitecture";
                return HandlerResult.Stop;
            }

            return HandlerResult.Continue;
        }

        context.FileNameLength = length;
        options.Set(OptionCode.BootFileName, file[..length]);
        if (!options.Has(OptionCode.TftpServerName))
        {
            Span<byte> name = stackalloc byte[16];
            Utf8.TryWrite(name, $"{siaddr >> 24}.{(siaddr >> 16) & 0xff}.{(siaddr >> 8) & 0xff}.{siaddr & 0xff}", out var written);
            options.Set(OptionCode.TftpServerName, name[..written]);
        }

        var serverName = options.Get(OptionCode.TftpServerName);
        context.ServerNameLength = Math.Min(serverName.Length, context.ServerName.Length);
        serverName[..context.ServerNameLength].CopyTo(context.ServerName);

        if (http)
        {
            // UEFI HTTP boot: the reply must carry option 60 "HTTPClient" or the firmware ignores it.
            options.Set(OptionCode.VendorClass, "HTTPClient"u8);
        }
        else if (context.Proxy)
        {
            // PXE spec §2.2.3: a proxy offer identifies itself with option 60 "PXEClient".
            options.Set(OptionCode.VendorClass, "PXEClient"u8);
            if (arch <= 0 && context.Request.MessageType == DhcpMessageType.Discover)
            {
                options.Set(OptionCode.VendorSpecific, PxeDiscoveryControl);
            }
        }

        if (context.Proxy && context.Request.TryGetOption(OptionCode.ClientMachineId, out var uuid))
        {
            // PXE spec: the client's UUID (option 97) is echoed in proxy replies.
            options.Set(OptionCode.ClientMachineId, uuid);
        }

        return HandlerResult.Continue;
    }

    private static void RemoveBootOptions(ReplyOptions options)
    {
        options.Remove(OptionCode.TftpServerName);
        options.Remove(OptionCode.BootFileName);
        options.Remove(17);
    }

    /// <summary>iPXE sends option 77 as the bare string; RFC 3004 clients length-prefix it.</summary>
    private static bool IsIpxe(ReadOnlySpan<byte> userClass) =>
        userClass.SequenceEqual("iPXE"u8) || (userClass.Length == 5 && userClass[0] == 4 && userClass[1..].SequenceEqual("iPXE"u8));

    /// <summary>DRP BootEnv Loaders keys: <c>386-pcbios</c>, <c>amd64-uefi</c>, <c>arm64-uefi</c>; then ArchInfo.Loader.</summary>
    private static string? LoaderFor(BootEnv? bootEnv, int arch)
    {
        if (bootEnv is null)
        {
            return null;
        }

        var (key, archName) = arch switch
        {
            <= 0 => ("386-pcbios", "amd64"),
            7 or 9 or 16 => ("amd64-uefi", "amd64"),
            11 or 19 => ("arm64-uefi", "arm64"),
            _ => ("", ""),
        };
        if (key.Length == 0)
        {
            return null;
        }

        if (bootEnv.Loaders.TryGetValue(key, out var loader) && loader.Length > 0)
        {
            return loader;
        }

        return key != "386-pcbios" && bootEnv.OS.SupportedArchitectures.TryGetValue(archName, out var info) && info.Loader.Length > 0 ? info.Loader : null;
    }

    /// <summary>RFC 4578 §2.1 architecture types → the iPXE build the boot server serves.</summary>
    private static string? DefaultLoader(int arch) => arch switch
    {
        -1 or 0 => "ipxe.pxe",
        7 or 9 or 16 => "ipxe.efi",
        11 or 19 => "ipxe-arm64.efi",
        _ => null,
    };

    private int WriteUrl(Span<byte> destination, uint server, string path)
    {
        Utf8.TryWrite(destination, $"http://{server >> 24}.{(server >> 16) & 0xff}.{(server >> 8) & 0xff}.{server & 0xff}:{_httpPort}/{path}", out var written);
        return written;
    }
}
