using System.Net;
using Underlay.Core.Models;
using Underlay.Core.Validation;
using Underlay.Dhcp.Protocol;
using Underlay.Templates;

namespace Underlay.Dhcp.Configuration;

/// <summary>Address pickers (DRP <c>Subnet.Pickers</c>), tried in the subnet's order.</summary>
internal enum PickerKind : byte
{
    /// <summary>The address the client asks for (option 50), when it is free.</summary>
    Hint,

    /// <summary>The next never-leased address after the last one handed out (a cursor that wraps).</summary>
    NextFree,

    /// <summary>The lease that expired longest ago.</summary>
    MostExpired,
}

/// <summary>One configured option: a constant wire value, or a template rendered per request.</summary>
internal sealed class CompiledOption
{
    public CompiledOption(byte code, string text, byte[]? constant, ParsedTemplate? template)
    {
        Code = code;
        Text = text;
        Constant = constant;
        Template = template;
    }

    public byte Code { get; }

    public string Text { get; }

    public byte[]? Constant { get; }

    public ParsedTemplate? Template { get; }

    /// <summary>An explicitly empty value (a reservation's empty option 67 means "do not net-boot").</summary>
    public bool IsEmpty => Template is null && Constant is { Length: 0 };
}

/// <summary>A subnet reduced to what the packet path needs, immutable.</summary>
internal sealed class CompiledSubnet
{
    public required string Name { get; init; }

    public bool Enabled { get; init; }

    public bool Proxy { get; init; }

    public bool Unmanaged { get; init; }

    public bool OnlyReservations { get; init; }

    public uint Network { get; init; }

    public uint Mask { get; init; }

    public uint ActiveStart { get; init; }

    public uint ActiveEnd { get; init; }

    public int ActiveLeaseTime { get; init; }

    public int ReservedLeaseTime { get; init; }

    public uint NextServer { get; init; }

    public required CompiledOption[] Options { get; init; }

    public required PickerKind[] Pickers { get; init; }

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool InRange(uint address) => address >= ActiveStart && address <= ActiveEnd && ActiveEnd != 0;
}

internal sealed class CompiledReservation
{
    public required uint Address { get; init; }

    public required ulong Mac { get; init; }

    public required string Token { get; init; }

    /// <summary>The subnet holding the address, or null for a reservation outside every subnet.</summary>
    public CompiledSubnet? Subnet { get; init; }

    /// <summary>The reservation's options over the subnet's (DRP mergeOptions).</summary>
    public required CompiledOption[] Options { get; init; }

    public int Duration { get; init; }

    public uint NextServer { get; init; }
}

/// <summary>
/// An immutable snapshot of the subnets and reservations, rebuilt whenever an operator changes one and swapped
/// in whole, so packet handlers read it without locks.
/// </summary>
internal sealed class DhcpConfiguration
{
    public static readonly DhcpConfiguration Empty = new([], new Dictionary<ulong, CompiledReservation>(), new Dictionary<uint, CompiledReservation>(), []);

    private DhcpConfiguration(CompiledSubnet[] subnets, Dictionary<ulong, CompiledReservation> byMac, Dictionary<uint, CompiledReservation> byAddress, List<string> problems)
    {
        Subnets = subnets;
        ByMac = byMac;
        ByAddress = byAddress;
        Problems = problems;
    }

    public CompiledSubnet[] Subnets { get; }

    public IReadOnlyDictionary<ulong, CompiledReservation> ByMac { get; }

    public IReadOnlyDictionary<uint, CompiledReservation> ByAddress { get; }

    /// <summary>Objects or options that were left out, for the log.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>DRP: with no subnet and no reservation the server answers nobody.</summary>
    public bool IsEmpty => Subnets.Length == 0 && ByMac.Count == 0;

    /// <summary>The subnet whose network holds <paramref name="address"/>, or null.</summary>
    public CompiledSubnet? SubnetFor(uint address)
    {
        if (address == 0)
        {
            return null;
        }

        foreach (var subnet in Subnets)
        {
            if (subnet.Contains(address))
            {
                return subnet;
            }
        }

        return null;
    }

    public static DhcpConfiguration Build(IEnumerable<Subnet> subnets, IEnumerable<Reservation> reservations, TemplateEngine templates)
    {
        var problems = new List<string>();
        var compiled = new List<CompiledSubnet>();
        foreach (var subnet in subnets)
        {
            if (!subnet.Validated || !IPNetwork.TryParse(subnet.Cidr, out var network) || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                problems.Add($"subnet {subnet.Name}: not valid, ignored");
                continue;
            }

            var mask = network.PrefixLength == 0 ? 0u : uint.MaxValue << (32 - network.PrefixLength);
            var networkAddress = OptionValues.FromIPAddress(network.BaseAddress) & mask;
            var start = OptionValues.TryParseAddress(subnet.ActiveStart, out var parsedStart) ? parsedStart : 0;
            var end = OptionValues.TryParseAddress(subnet.ActiveEnd, out var parsedEnd) ? parsedEnd : 0;
            var nextServer = OptionValues.TryParseAddress(subnet.NextServer, out var parsedNext) ? parsedNext : 0;

            // DRP (backend/subnet.go): the subnet mask and broadcast address options always match the network.
            var options = new List<DhcpOption>(subnet.Options.Count + 2);
            foreach (var option in subnet.Options)
            {
                if (option.Code is not (OptionCode.SubnetMask or OptionCode.BroadcastAddress))
                {
                    options.Add(option);
                }
            }

            options.Add(new DhcpOption { Code = OptionCode.SubnetMask, Value = OptionValues.FormatAddress(mask) });
            options.Add(new DhcpOption { Code = OptionCode.BroadcastAddress, Value = OptionValues.FormatAddress(networkAddress | ~mask) });
            compiled.Add(new CompiledSubnet
            {
                Name = subnet.Name,
                Enabled = subnet.Enabled,
                Proxy = subnet.Proxy,
                Unmanaged = subnet.Unmanaged,
                OnlyReservations = subnet.OnlyReservations,
                Network = networkAddress,
                Mask = mask,
                ActiveStart = start,
                ActiveEnd = end,
                ActiveLeaseTime = Math.Max(subnet.ActiveLeaseTime, ModelValidator.MinimumActiveLeaseTime),
                ReservedLeaseTime = Math.Max(subnet.ReservedLeaseTime, ModelValidator.MinimumReservedLeaseTime),
                NextServer = nextServer,
                Options = Compile($"subnet {subnet.Name}", options, skipEmpty: true, templates, problems),
                Pickers = CompilePickers(subnet),
            });
        }

        // Most specific network first, so a /26 inside a /24 (should validation ever allow it) wins.
        compiled.Sort((a, b) => b.Mask.CompareTo(a.Mask));
        var byMac = new Dictionary<ulong, CompiledReservation>();
        var byAddress = new Dictionary<uint, CompiledReservation>();
        var result = new DhcpConfiguration([.. compiled], byMac, byAddress, problems);
        foreach (var reservation in reservations)
        {
            if (!reservation.Validated || !OptionValues.TryParseAddress(reservation.Addr, out var address) ||
                !OptionValues.TryParseMac(reservation.Token, out var mac))
            {
                problems.Add($"reservation {reservation.Addr}: not valid, ignored");
                continue;
            }

            var subnet = result.SubnetFor(address);
            var nextServer = OptionValues.TryParseAddress(reservation.NextServer, out var parsedNext) ? parsedNext : 0;

            // DRP mergeOptions: reservation options win; an empty reservation value is dropped except option 67.
            var own = new List<DhcpOption>();
            foreach (var option in reservation.Options)
            {
                if (option.Value.Length > 0 || option.Code == OptionCode.BootFileName)
                {
                    own.Add(option);
                }
            }

            var ownCompiled = Compile($"reservation {reservation.Addr}", own, skipEmpty: false, templates, problems);
            var merged = new List<CompiledOption>(ownCompiled);
            if (subnet is not null)
            {
                foreach (var option in subnet.Options)
                {
                    if (!merged.Exists(o => o.Code == option.Code))
                    {
                        merged.Add(option);
                    }
                }
            }

            merged.Sort((a, b) => a.Code.CompareTo(b.Code));
            var compiledReservation = new CompiledReservation
            {
                Address = address,
                Mac = mac,
                Token = OptionValues.FormatMac(mac),
                Subnet = subnet,
                Options = [.. merged],
                Duration = reservation.Duration,
                NextServer = nextServer,
            };
            byMac.TryAdd(mac, compiledReservation);
            byAddress.TryAdd(address, compiledReservation);
        }

        return result;
    }

    private static PickerKind[] CompilePickers(Subnet subnet)
    {
        if (subnet.OnlyReservations)
        {
            return [];
        }

        var pickers = new List<PickerKind>();
        var names = subnet.Pickers.Count > 0 ? subnet.Pickers : (IReadOnlyList<string>)ModelValidator.DefaultPickers;
        foreach (var name in names)
        {
            switch (name)
            {
                case "hint":
                    pickers.Add(PickerKind.Hint);
                    break;
                case "nextFree":
                    pickers.Add(PickerKind.NextFree);
                    break;
                case "mostExpired":
                    pickers.Add(PickerKind.MostExpired);
                    break;
                case "none":
                    return [];
            }
        }

        return [.. pickers];
    }

    private static CompiledOption[] Compile(string owner, List<DhcpOption> options, bool skipEmpty, TemplateEngine templates, List<string> problems)
    {
        var compiled = new List<CompiledOption>(options.Count);
        foreach (var option in options)
        {
            if (option.Code is < 1 or > 254 || compiled.Exists(o => o.Code == option.Code))
            {
                continue;
            }

            var code = (byte)option.Code;
            if (option.Value.Length == 0 && skipEmpty)
            {
                continue;
            }

            if (option.Value.Contains("{{", StringComparison.Ordinal))
            {
                try
                {
                    compiled.Add(new CompiledOption(code, option.Value, null, templates.Parse($"{owner} option {code}", option.Value)));
                }
                catch (TemplateException e)
                {
                    problems.Add($"{owner}: option {code} is not a valid template ({e.Message}), ignored");
                }

                continue;
            }

            if (OptionValues.ToBytes(code, option.Value) is { } bytes)
            {
                compiled.Add(new CompiledOption(code, option.Value, bytes, null));
            }
            else
            {
                problems.Add($"{owner}: option {code} value '{option.Value}' does not fit the option's type, ignored");
            }
        }

        compiled.Sort((a, b) => a.Code.CompareTo(b.Code));
        return [.. compiled];
    }
}
