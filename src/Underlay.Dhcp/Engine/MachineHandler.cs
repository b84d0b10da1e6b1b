using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Dhcp.Leases;
using Underlay.Dhcp.Protocol;
using Underlay.Store;

namespace Underlay.Dhcp.Engine;

/// <summary>Machines and boot environments as the DHCP path sees them (lock-free store reads).</summary>
internal interface IBootDirectory
{
    Machine? FindMachine(string mac);

    BootEnv? FindBootEnv(string name);

    /// <summary>The <c>unknownBootEnv</c> pref: what machines nobody knows boot into.</summary>
    string UnknownBootEnv { get; }

    /// <summary>Queues the machine's Address update; never waits for it.</summary>
    void UpdateMachineAddress(string mac, uint address);
}

internal sealed class StoreBootDirectory : IBootDirectory
{
    private readonly ObjectStore _store;
    private readonly LeasePersister _persister;

    public StoreBootDirectory(ObjectStore store, LeasePersister persister)
    {
        _store = store;
        _persister = persister;
    }

    public string UnknownBootEnv => (_store.Get(ModelTypes.Prefs, "unknownBootEnv") as Pref)?.Val ?? "";

    public Machine? FindMachine(string mac) => _store.FindMachineByMac(mac);

    public BootEnv? FindBootEnv(string name) => name.Length == 0 ? null : _store.Get(ModelTypes.BootEnvs, name) as BootEnv;

    public void UpdateMachineAddress(string mac, uint address) => _persister.UpdateMachineAddress(mac, address);
}

/// <summary>
/// Whether the client may net-boot (DRP checkMachine): not from an Unmanaged subnet; a known machine only when
/// its BootEnv has a kernel (so <c>local</c> gets no boot file); unknown machines always, with the
/// <c>unknownBootEnv</c>'s loaders. A lease for a machine's MAC makes the lease address the machine's Address.
/// </summary>
internal sealed class MachineHandler : IDhcpHandler
{
    private readonly IBootDirectory _directory;

    public MachineHandler(IBootDirectory directory) => _directory = directory;

    public HandlerResult Handle(DhcpContext context)
    {
        if (context.ReplyType is not (DhcpMessageType.Offer or DhcpMessageType.Ack))
        {
            return HandlerResult.Continue;
        }

        var machine = _directory.FindMachine(context.Token);
        context.Machine = machine;
        if (context.Subnet is { Unmanaged: true } && !context.Proxy)
        {
            context.NetBootAllowed = false;
        }
        else if (machine is not null)
        {
            var bootEnv = _directory.FindBootEnv(machine.BootEnv);
            context.BootEnv = bootEnv;

            // DRP: a machine whose BootEnv is missing may still boot; one whose BootEnv has no kernel may not.
            context.NetBootAllowed = bootEnv is null || HasKernel(bootEnv, machine.Arch);
        }
        else
        {
            context.BootEnv = _directory.FindBootEnv(_directory.UnknownBootEnv);
            context.NetBootAllowed = true;
        }

        if (context.Proxy && !context.NetBootAllowed)
        {
            // DRP: in proxy mode a machine that must not net-boot gets no answer at all.
            context.Outcome = "NoNetBoot";
            return HandlerResult.Stop;
        }

        if (machine is not null && context.ReplyType == DhcpMessageType.Ack && !context.Proxy && context.YiAddr != 0 &&
            !AddressEquals(machine.Address, context.YiAddr))
        {
            _directory.UpdateMachineAddress(context.Token, context.YiAddr);
        }

        return HandlerResult.Continue;
    }

    private static bool HasKernel(BootEnv bootEnv, string arch)
    {
        if (bootEnv.Kernel.Length > 0)
        {
            return true;
        }

        return bootEnv.OS.SupportedArchitectures.TryGetValue(arch, out var info) && info.Kernel.Length > 0;
    }

    private static bool AddressEquals(string text, uint address) =>
        OptionValues.TryParseAddress(text, out var parsed) && parsed == address;
}
