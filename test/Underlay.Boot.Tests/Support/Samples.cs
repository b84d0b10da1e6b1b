using System.Text.Json;
using Underlay.Core.Models;

namespace Underlay.Boot.Tests.Support;

/// <summary>The sample machine and boot environment the render fixtures are written for.</summary>
internal static class Samples
{
    public static readonly Guid MachineId = Guid.Parse("3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab");

    public const string Mac1 = "52:54:00:12:34:56";

    public const string Mac2 = "52:54:00:ab:cd:ef";

    public static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    public static Machine Machine(string bootEnv = "local") => new()
    {
        Uuid = MachineId,
        Name = "node1.example.com",
        Address = "10.9.0.21",
        HardwareAddrs = [Mac1, Mac2],
        BootEnv = bootEnv,
        Profiles = ["rack1"],
        Tasks = ["stage:install", "ks-prep", "bootenv:local"],
        CurrentTask = 1,
        Meta = new() { ["color"] = "green" },
        Params = new()
        {
            ["disks"] = Json("""["sda","sdb"]"""),
            ["extra-packages"] = Json("""["vim-enhanced","tmux"]"""),
        },
    };

    /// <summary>An install environment modelled on DRP's centos-8-install: kernel and initrd from the exploded ISO.</summary>
    public static BootEnv InstallEnv(string name = "fixture-8-install") => new()
    {
        Name = name,
        Kernel = "images/pxeboot/vmlinuz",
        Initrds = ["images/pxeboot/initrd.img"],
        BootParams = "ksdevice=bootif ks={{.Machine.Url}}/compute.ks method={{.Env.InstallUrl}} inst.geoloc=0 {{.Param \"kernel-options\"}} -- {{.Param \"kernel-console\"}}",
        OS = new BootEnvOS { Name = "fixture-8", Family = "centos", Version = "8.3", IsoFile = "fixture-8.tar" },
        OptionalParams = ["kernel-options", "kernel-console"],
        Templates =
        [
            new TemplateInfo { Name = "pxelinux", Path = "pxelinux.cfg/{{.Machine.HexAddress}}", ID = "fixture-pxelinux.tmpl" },
            new TemplateInfo { Name = "pxelinux-mac", Path = "pxelinux.cfg/{{.Machine.MacAddr \"pxelinux\"}}", ID = "fixture-pxelinux.tmpl" },
            new TemplateInfo { Name = "ipxe", Path = "{{.Machine.Address}}.ipxe", ID = "fixture-ipxe.tmpl" },
            new TemplateInfo { Name = "ipxe-mac", Path = "{{.Machine.MacAddr \"ipxe\"}}.ipxe", ID = "fixture-ipxe.tmpl" },
            new TemplateInfo { Name = "grub-mac", Path = "grub/{{.Machine.MacAddr \"grub\"}}.cfg", ID = "fixture-grub.tmpl" },
            new TemplateInfo { Name = "compute.ks", Path = "{{.Machine.Path}}/compute.ks", ID = "fixture-ks.tmpl" },
        ],
    };

    /// <summary>DRP's default-pxelinux.tmpl shape.</summary>
    public const string Pxelinux = """
        DEFAULT {{.Env.Name}}
        PROMPT 0
        TIMEOUT 10
        LABEL {{.Env.Name}}
          KERNEL {{.Env.PathFor "tftp" .Env.Kernel}}
          {{if .Env.Initrds}}INITRD {{.Env.JoinInitrds "tftp"}}{{end}}
          APPEND {{.BootParams}}
          IPAPPEND 2

        """;

    /// <summary>DRP's default-ipxe.tmpl shape.</summary>
    public const string Ipxe = """
        #!ipxe
        kernel {{.Env.PathFor "http" .Env.Kernel}} {{.BootParams}} BOOTIF=01-${netX/mac:hexhyp}
        {{range $initrd := .Env.Initrds -}}
        initrd {{$.Env.PathFor "http" $initrd}}
        {{end -}}
        boot

        """;

    /// <summary>DRP's default-grub.tmpl shape.</summary>
    public const string Grub = """
        set _kernel=linux
        set _module=initrd
        if [ "${grub_platform}" = "efi" -a "${grub_cpu}" != "arm64" ]; then
            set _kernel=linuxefi
            set _module=initrdefi
        fi
        function kernel { $_kernel "$@"; }
        function module { $_module "$@"; }
        kernel (tftp)/{{.Env.PathFor "tftp" .Env.Kernel}} {{.Env.BootParams}} BOOTIF=01-${net_default_mac}
        {{range $initrd := .Env.Initrds -}}
        module (tftp)/{{$.Env.PathFor "tftp" $initrd}}
        {{end -}}
        boot

        """;

    /// <summary>A kickstart in the style of DRP's centos-8.ks.tmpl: repos, loops over list and map params, a sub-template.</summary>
    public const string Kickstart = """
        # Kickstart for {{.Machine.Name}} ({{.Machine.UUID}}), {{.Env.OS.Name}} {{.Env.OS.Version}}
        {{range .InstallRepos -}}
        {{ .Install }}
        {{- end}}
        text
        lang en_US
        rootpw --iscrypted {{if .ParamExists "provisioner-default-password-hash"}}{{.Param "provisioner-default-password-hash"}}{{else}}!locked{{end}}
        {{range $i, $disk := .Param "disks" -}}
        part /data{{$i}} --ondisk={{$disk}} --size=1 --grow
        {{end -}}
        %packages
        @core
        {{range .Param "extra-packages" -}}
        {{.}}
        {{end -}}
        %end
        %post
        {{range $key, $value := .ComposeParam "sysctl" -}}
        echo "{{$key}} = {{$value}}" >> /etc/sysctl.d/90-underlay.conf
        {{end -}}
        {{template "fixture-post.tmpl" .}}
        %end

        """;

    public const string Post = """
        curl -fsS -H "Authorization: Bearer {{.GenerateToken}}" {{.ApiURL}}/api/v3/machines/{{.Machine.UUID}} >/dev/null
        """;
}
