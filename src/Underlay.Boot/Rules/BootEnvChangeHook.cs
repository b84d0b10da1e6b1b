using Underlay.Core.Models;
using Underlay.Store;

namespace Underlay.Boot.Rules;

/// <summary>
/// A machine whose boot environment changes must reboot into it before it runs anything else: DRP sets
/// <c>Runnable=false</c> with the change (<c>backend/machines.go</c>; DRP-REFERENCE §2.3), and the agent reboots a
/// non-runnable machine. The renders swap in the same transaction's event, so the next PXE boot gets the new ones.
/// </summary>
public sealed class BootEnvChangeHook : IWriteHook
{
    public void BeforeWrite(WriteTransaction transaction, WriteOperation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (operation is { Action: WriteAction.Save or WriteAction.Update, Proposed: Machine proposed, Original: Machine original } &&
            !string.Equals(proposed.BootEnv, original.BootEnv, StringComparison.Ordinal))
        {
            proposed.Runnable = false;
        }
    }
}
