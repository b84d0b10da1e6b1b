using System.Diagnostics;
using System.Text;

namespace Underlay.Images.Output;

/// <summary>
/// Makes bootable ISOs holding <c>/kernel</c> and <c>/initrd.img</c> (the layout DRP's LinuxKit BootEnvs expected,
/// LINUXKIT.md §3.2) with Debian's tools: xorriso, ISOLINUX for BIOS, GRUB (grub-mkimage) on a FAT image
/// made with mtools for EFI. Timestamps come from SOURCE_DATE_EPOCH and fixed file times so rebuilds match.
/// </summary>
internal static class IsoBuilder
{
    private const string IsolinuxBin = "/usr/lib/ISOLINUX/isolinux.bin";
    private const string IsohybridMbr = "/usr/lib/ISOLINUX/isohdpfx.bin";
    private const string LdLinux = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
    private const string GrubEfiModules = "/usr/lib/grub/x86_64-efi";

    public static void BuildBios(string kernel, string initrd, string cmdline, string output, string scratch, CancellationToken cancellationToken)
    {
        RequireTool("xorriso", "xorriso");
        RequireFile(IsolinuxBin, "isolinux");
        RequireFile(IsohybridMbr, "isolinux");
        RequireFile(LdLinux, "syslinux-common");
        var root = Stage(kernel, initrd, scratch);
        Directory.CreateDirectory(Path.Combine(root, "isolinux"));
        File.Copy(IsolinuxBin, Path.Combine(root, "isolinux", "isolinux.bin"));
        File.Copy(LdLinux, Path.Combine(root, "isolinux", "ldlinux.c32"));
        File.WriteAllText(Path.Combine(root, "isolinux", "isolinux.cfg"),
            $"DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /kernel\n  APPEND initrd=/initrd.img {cmdline}\n");
        FixTimes(root);
        Run("xorriso", ["-as", "mkisofs", "-quiet", "-o", output, "-V", "LINUXKIT", "-R", "-J",
            "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
            "-isohybrid-mbr", IsohybridMbr, root], cancellationToken);
    }

    public static void BuildEfi(string kernel, string initrd, string cmdline, string output, string scratch, CancellationToken cancellationToken)
    {
        RequireTool("xorriso", "xorriso");
        RequireTool("grub-mkimage", "grub-common");
        RequireTool("mformat", "mtools");
        RequireFile(Path.Combine(GrubEfiModules, "linux.mod"), "grub-efi-amd64-bin");
        var root = Stage(kernel, initrd, scratch);
        // grub-mkimage with an embedded script (unlike grub-mkstandalone, whose memdisk carries the current time)
        // gives the same loader every time; the script finds the ISO by its /kernel and boots it directly.
        var grubConfig = Path.Combine(scratch, "grub.cfg");
        File.WriteAllText(grubConfig,
            $"search --no-floppy --set=root --file /kernel\nlinux /kernel {cmdline}\ninitrd /initrd.img\nboot\n");
        var bootEfi = Path.Combine(scratch, "BOOTX64.EFI");
        Run("grub-mkimage", ["-O", "x86_64-efi", "-d", GrubEfiModules, "-p", "/boot/grub", "-c", grubConfig, "-o", bootEfi,
            "part_gpt", "part_msdos", "iso9660", "fat", "search", "search_fs_file", "linux", "normal", "echo", "all_video", "efi_gop"], cancellationToken);

        // A FAT image just large enough for the loader, with a fixed volume serial and file times.
        var efiImage = Path.Combine(root, "efiboot.img");
        var sectors = (int)((new FileInfo(bootEfi).Length / 512) + 2048) / 32 * 32 + 32;
        using (var image = File.Create(efiImage))
        {
            image.SetLength(sectors * 512L);
        }

        FixTimes(scratch);
        Run("mformat", ["-i", efiImage, "-N", "4c4b4954", "-T", sectors.ToString(System.Globalization.CultureInfo.InvariantCulture), "-h", "2", "-s", "32", "::"], cancellationToken);
        Run("mmd", ["-i", efiImage, "::/EFI", "::/EFI/BOOT"], cancellationToken);
        Run("mcopy", ["-m", "-i", efiImage, bootEfi, "::/EFI/BOOT/BOOTX64.EFI"], cancellationToken);
        FixTimes(root);
        Run("xorriso", ["-as", "mkisofs", "-quiet", "-o", output, "-V", "LINUXKIT", "-R", "-J",
            "-e", "efiboot.img", "-no-emul-boot", "-isohybrid-gpt-basdat", root], cancellationToken);
    }

    private static string Stage(string kernel, string initrd, string scratch)
    {
        var root = Path.Combine(scratch, "iso");
        Directory.CreateDirectory(root);
        File.Copy(kernel, Path.Combine(root, "kernel"));
        File.Copy(initrd, Path.Combine(root, "initrd.img"));
        return root;
    }

    private static void FixTimes(string directory)
    {
        var time = DateTimeOffset.FromUnixTimeSeconds(Cpio.CpioWriter.DefaultModificationTime).UtcDateTime;
        foreach (var path in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Append(directory))
        {
            File.SetLastWriteTimeUtc(path, time);
        }
    }

    public static string? FindTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Append("/usr/sbin").Append("/sbin")
        .Select(dir => Path.Combine(dir, name))
        .FirstOrDefault(File.Exists);

    private static void RequireTool(string name, string package)
    {
        if (FindTool(name) is null)
        {
            throw new ImageBuildException($"{name} was not found on PATH; install the Debian package '{package}' to build ISO images");
        }
    }

    private static void RequireFile(string path, string package)
    {
        if (!File.Exists(path))
        {
            throw new ImageBuildException($"{path} is missing; install the Debian package '{package}' to build ISO images");
        }
    }

    private static void Run(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(FindTool(tool)!)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Reproducible timestamps inside the ISO and the FAT image (reproducible-builds.org SOURCE_DATE_EPOCH).
        info.Environment["SOURCE_DATE_EPOCH"] = Cpio.CpioWriter.DefaultModificationTime.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["MTOOLS_SKIP_CHECK"] = "1";
        using var process = Process.Start(info) ?? throw new ImageBuildException($"could not start {tool}");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(10));
        try
        {
            process.WaitForExitAsync(timeout.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new ImageBuildException($"{tool} did not finish in time");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            string text;
            lock (stderr)
            {
                text = stderr.ToString().Trim();
            }

            throw new ImageBuildException($"{tool} failed with exit code {process.ExitCode}: {text}");
        }
    }
}
