using System.Text;
using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Images.Cpio;

namespace Underlay.Boot.Files;

/// <summary>
/// The per-machine overlay initrd of LinuxKit-style images (issue 9, LINUXKIT.md §3.3/§3.5 option a):
/// <c>machines/&lt;uuid&gt;/metadata.cpio</c>, an uncompressed newc archive that a bootenv loads after the image's
/// own initrd, so the image stays immutable while each machine boots with its own name and configuration. It holds
/// <list type="bullet">
/// <item><c>/etc/hostname</c>: the machine's name;</item>
/// <item><see cref="UserdataPath"/>: the machine's <c>linuxkit/userdata</c> param (a string as is, any other JSON
/// value as JSON), only when the param resolves. LinuxKit's <c>metadata</c> package reads it with
/// <c>file=/etc/underlay/userdata</c> (and a bind of <c>/etc/underlay</c>) and publishes it as
/// <c>/run/config/userdata</c>. It is under <c>/etc</c> because LinuxKit mounts tmpfs over <c>/run</c>,
/// <c>/var</c> and <c>/tmp</c>, which would hide anything the initrd put there.</item>
/// </list>
/// The archive is built per request from the live store (a few hundred bytes), never written to disk, so a param
/// change shows in the next fetch.
/// </summary>
public static class MachineMetadata
{
    public const string FileName = "metadata.cpio";

    public const string UserdataParam = "linuxkit/userdata";

    public const string UserdataPath = "/etc/underlay/userdata";

    /// <summary>The machine a path names, if it is <c>machines/&lt;uuid&gt;/metadata.cpio</c> (normalized, root-relative).</summary>
    public static bool TryParsePath(string path, out Guid uuid)
    {
        uuid = default;
        var parts = path.Split('/');
        return parts is ["machines", var id, FileName] && Guid.TryParse(id, out uuid);
    }

    /// <summary>The overlay's bytes for <paramref name="machine"/>; the same machine and params give the same bytes.</summary>
    public static byte[] Build(Machine machine, ParamResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(resolver);
        var files = new List<OverlayFile>
        {
            new("/etc/hostname", Encoding.UTF8.GetBytes(machine.Name + "\n")),
        };
        if (resolver.TryGet(machine, UserdataParam, out var userdata))
        {
            var bytes = userdata.ValueKind == JsonValueKind.String
                ? Encoding.UTF8.GetBytes(userdata.GetString()!)
                : Encoding.UTF8.GetBytes(userdata.GetRawText());

            // 0600: userdata often carries join tokens and keys; only root (the metadata container) reads it.
            files.Add(new OverlayFile(UserdataPath, bytes, 0x180));
        }

        return OverlayInitrd.Build(files);
    }
}
