using System.Diagnostics;
using System.Globalization;

namespace Underlay.TestUtilities;

/// <summary>What a VM printed on its serial console, and how long the boot took.</summary>
public sealed record QemuBoot(string Serial, TimeSpan Elapsed);

/// <summary>Runs QEMU (software emulation) inside a lab namespace and reads its serial console.</summary>
public static class QemuVm
{
    /// <summary>Debian's OVMF firmware (package ovmf): code, and the variable store each VM gets a copy of.</summary>
    public const string OvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";

    public const string OvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";

    /// <summary>
    /// A UEFI VM whose NIC has no option ROM, so OVMF's own PXE client runs and must TFTP the loader.
    /// <paramref name="variables"/> is a private copy of <see cref="OvmfVars"/> the VM may write to.
    /// </summary>
    public static List<string> UefiPxeCommand(string tap, string mac, string serial, string variables, int memoryMb = 512)
    {
        File.Copy(OvmfVars, variables, overwrite: true);
        return
        [
            "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", memoryMb.ToString(CultureInfo.InvariantCulture), "-smp", "1",
            "-nographic", "-nodefaults", "-no-reboot", "-monitor", "none", "-serial", "file:" + serial,
            "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no",
            "-device", $"virtio-net-pci,netdev=n0,mac={mac},bootindex=1,romfile=",
            "-drive", $"if=pflash,format=raw,unit=0,readonly=on,file={OvmfCode}",
            "-drive", $"if=pflash,format=raw,unit=1,file={variables}",
            // IPv6 PXE would cost a timeout before IPv4 is tried.
            "-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n",
        ];
    }

    /// <summary>
    /// Starts <paramref name="command"/> in <paramref name="ns"/> and waits until the serial console shows
    /// <paramref name="marker"/> or the VM exits, at most <paramref name="timeout"/>; then gives a VM that powers itself
    /// off ten seconds to do so and kills one still running by its PID. The lab owns (and disposes) the process.
    /// </summary>
    public static async Task<QemuBoot> BootAsync(NetnsLab lab, string ns, IEnumerable<string> command, string serial, string marker,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var qemu = lab.StartIn(ns, command);
        var text = "";
        while (clock.Elapsed < timeout && !qemu.HasExited)
        {
            text = await ReadSerialAsync(serial, cancellationToken).ConfigureAwait(false);
            if (text.Contains(marker, StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }

        await WaitForExitAsync(qemu, cancellationToken).ConfigureAwait(false);
        text = await ReadSerialAsync(serial, cancellationToken).ConfigureAwait(false);
        var elapsed = clock.Elapsed;
        var running = !qemu.HasExited;
        if (running)
        {
            await ExternalProcess.RunAsync("kill", ["-KILL", qemu.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false);
            await WaitForExitAsync(qemu, cancellationToken).ConfigureAwait(false);
        }

        return new QemuBoot(text + (running ? "\n[qemu was still running]" : "") + "\n--- qemu output\n" + qemu.Output, elapsed);
    }

    /// <summary>The serial log so far (QEMU still has it open for writing), or "" before QEMU created it.</summary>
    public static async Task<string> ReadSerialAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return "";
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task WaitForExitAsync(BackgroundProcess qemu, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 40 && !qemu.HasExited; i++)
        {
            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }
}
