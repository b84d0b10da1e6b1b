using Underlay.Boot.Files;
using Underlay.Boot.Tests.Support;
using Underlay.Core.Models;

namespace Underlay.Boot.Tests;

/// <summary>
/// Boot files modelled on DRP's own (default-ipxe/pxelinux/grub.tmpl, a kickstart, the discovery script) rendered
/// through the virtual file system for a sample machine, compared with the exact expected text.
/// </summary>
public sealed class RenderFixtureTests : IAsyncLifetime
{
    private BootHarness _boot = null!;

    public async ValueTask InitializeAsync()
    {
        _boot = await BootHarness.StartAsync();
        foreach (var (id, contents) in new[]
        {
            ("fixture-pxelinux.tmpl", Samples.Pxelinux), ("fixture-ipxe.tmpl", Samples.Ipxe), ("fixture-grub.tmpl", Samples.Grub),
            ("fixture-ks.tmpl", Samples.Kickstart), ("fixture-post.tmpl", Samples.Post),
        })
        {
            await _boot.CreateAsync(new Template { ID = id, Contents = contents });
        }

        _boot.WriteFile("fixture-8/install/images/pxeboot/vmlinuz", "kernel");
        _boot.WriteFile("fixture-8/install/images/pxeboot/initrd.img", "initrd");
        await _boot.CreateAsync(new Profile { Name = "rack1", Params = new() { ["kernel-console"] = Samples.Json("\"console=ttyS0,115200\""), ["sysctl"] = Samples.Json("""{"vm.swappiness":"10"}""") } });
        await _boot.SetParamAsync<Profile>("global", "kernel-options", "\"quiet\"");
        await _boot.SetParamAsync<Profile>("global", "sysctl", """{"net.ipv4.ip_forward":"1","vm.swappiness":"60"}""");
        await _boot.SetParamAsync<Profile>("global", "package-repositories", """
            [{"tag":"fixture-8-base","os":["fixture-8"],"arch":"x86_64","installSource":true,"url":"http://mirror.example.com/fixture/8/BaseOS/x86_64/os"},
             {"tag":"fixture-8-extras","os":["fixture-8"],"arch":"any","url":"http://mirror.example.com/fixture","distribution":"8","components":["extras","updates"]},
             {"tag":"other-os","os":["debian-10"],"arch":"amd64","installSource":true,"url":"http://deb.example.com/debian"}]
            """);
        await _boot.CreateAsync(Samples.InstallEnv());
        await _boot.CreateAsync(Samples.Machine("fixture-8-install"));
    }

    public async ValueTask DisposeAsync() => await _boot.DisposeAsync();

    [Fact]
    public void Pxelinux_config_at_the_hex_address_and_per_mac_paths()
    {
        var expected = """
            DEFAULT fixture-8-install
            PROMPT 0
            TIMEOUT 10
            LABEL fixture-8-install
              KERNEL fixture-8/install/images/pxeboot/vmlinuz
              INITRD fixture-8/install/images/pxeboot/initrd.img
              APPEND ksdevice=bootif ks=http://10.9.0.1:8091/machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab/compute.ks method=http://10.9.0.1:8091/fixture-8/install inst.geoloc=0 quiet -- console=ttyS0,115200
              IPAPPEND 2

            """;
        Assert.Equal(expected, _boot.OpenText("pxelinux.cfg/0A090015"));
        Assert.Equal(expected, _boot.OpenText("pxelinux.cfg/01-52-54-00-12-34-56"));

        // A machine with two NICs gets the per-MAC files for both.
        Assert.Equal(expected, _boot.OpenText("pxelinux.cfg/01-52-54-00-ab-cd-ef"));
    }

    [Fact]
    public void Ipxe_script_puts_the_first_initrd_on_the_kernel_line_as_drp_does_for_uefi()
    {
        var expected = """
            #!ipxe
            kernel http://10.9.0.1:8091/fixture-8/install/images/pxeboot/vmlinuz initrd=initrd.img ksdevice=bootif ks=http://10.9.0.1:8091/machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab/compute.ks method=http://10.9.0.1:8091/fixture-8/install inst.geoloc=0 quiet -- console=ttyS0,115200 BOOTIF=01-${netX/mac:hexhyp}
            initrd http://10.9.0.1:8091/fixture-8/install/images/pxeboot/initrd.img
            boot

            """;
        Assert.Equal(expected, _boot.OpenText("52:54:00:12:34:56.ipxe"));
        Assert.Equal(expected, _boot.OpenText("52:54:00:ab:cd:ef.ipxe"));
        Assert.Equal(expected, _boot.OpenText("10.9.0.21.ipxe"));
    }

    [Fact]
    public void Grub_config_per_mac()
    {
        var expected = """
            set _kernel=linux
            set _module=initrd
            if [ "${grub_platform}" = "efi" -a "${grub_cpu}" != "arm64" ]; then
                set _kernel=linuxefi
                set _module=initrdefi
            fi
            function kernel { $_kernel "$@"; }
            function module { $_module "$@"; }
            kernel (tftp)/fixture-8/install/images/pxeboot/vmlinuz ksdevice=bootif ks=http://10.9.0.1:8091/machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab/compute.ks method=http://10.9.0.1:8091/fixture-8/install inst.geoloc=0 quiet -- console=ttyS0,115200 BOOTIF=01-${net_default_mac}
            module (tftp)/fixture-8/install/images/pxeboot/initrd.img
            boot

            """;
        Assert.Equal(expected, _boot.OpenText("grub/52:54:00:12:34:56.cfg"));
    }

    [Fact]
    public void Kickstart_loops_over_list_and_composed_map_params_and_calls_a_stored_template()
    {
        // The exploded tree is served here, so it is the install source (DRP's local install repo) and the declared
        // mirror is not used. Install lines end in a newline, as DRP's do.
        var expected = """
            # Kickstart for node1.example.com (3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab), fixture-8 8.3
            url --url http://10.9.0.1:8091/fixture-8/install

            text
            lang en_US
            rootpw --iscrypted !locked
            part /data0 --ondisk=sda --size=1 --grow
            part /data1 --ondisk=sdb --size=1 --grow
            %packages
            @core
            vim-enhanced
            tmux
            %end
            %post
            echo "net.ipv4.ip_forward = 1" >> /etc/sysctl.d/90-underlay.conf
            echo "vm.swappiness = 10" >> /etc/sysctl.d/90-underlay.conf
            curl -fsS -H "Authorization: Bearer token-Machine-node1.example.com-3600" https://10.9.0.1:8092/api/v3/machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab >/dev/null
            %end

            """;
        Assert.Equal(expected, _boot.OpenText("machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab/compute.ks"));
    }

    [Fact]
    public void Machine_repos_list_the_local_tree_then_declared_repos_for_the_os()
    {
        var text = _boot.Renderer.RenderText(
            new Boot.Rendering.RenderContext { Machine = _boot.Get<Machine>(Samples.MachineId.ToString()), LocalAddress = BootHarness.ServerAddress },
            Boot.Rendering.RenderTarget.None, "repos", "{{range .MachineRepos}}{{.Lines}}{{end}}");
        Assert.Equal("""
            [fixture-8-install]
            name=fixture-8 - fixture-8-install
            baseurl=http://10.9.0.1:8091/fixture-8/install
            gpgcheck=0
            [fixture-8-extras-extras]
            name=fixture-8-extras - extras
            baseurl=http://mirror.example.com/fixture/8/extras/$basearch
            gpgcheck=0
            [fixture-8-extras-updates]
            name=fixture-8-extras - updates
            baseurl=http://mirror.example.com/fixture/8/updates/$basearch
            gpgcheck=0

            """, text.Text, ignoreLineEndingDifferences: true);
    }

    [Fact]
    public async Task Discovery_script_chains_the_per_mac_and_per_ip_scripts_and_otherwise_boots_the_discovery_image()
    {
        _boot.WriteFile("underlay-discovery/vmlinuz", "kernel");
        _boot.WriteFile("underlay-discovery/initrd.img", "initrd");
        await _boot.Boot.RefreshAvailabilityAsync(TestContext.Current.CancellationToken);
        await _boot.UpdateAsync<Pref>("unknownBootEnv", pref => pref.Val = "underlay-discovery");

        Assert.Equal("""
            #!ipxe
            # A machine this server knows has its own script, by MAC or by address; anything else is discovered.
            chain --autofree http://10.9.0.1:8091/${netX/mac}.ipxe && exit || goto by_ip
            :by_ip
            chain --autofree http://10.9.0.1:8091/${netX/ip}.ipxe && exit || goto discover
            :discover
            echo Unknown machine ${netX/mac}: booting underlay-discovery
            kernel http://10.9.0.1:8091/underlay-discovery/vmlinuz initrd=initrd.img underlay.api=https://10.9.0.1:8092 underlay.token=token-Discovery-unknown-600 underlay.web=http://10.9.0.1:8091 quiet BOOTIF=01-${netX/mac:hexhyp} || goto failed
            initrd http://10.9.0.1:8091/underlay-discovery/initrd.img || goto failed
            boot || goto failed
            :failed
            echo Booting underlay-discovery failed
            sleep 10
            reboot

            """, _boot.OpenText("default.ipxe"));
        Assert.Equal("""
            DEFAULT underlay-discovery
            PROMPT 0
            TIMEOUT 10
            LABEL underlay-discovery
              KERNEL underlay-discovery/vmlinuz
              INITRD underlay-discovery/initrd.img
              APPEND underlay.api=https://10.9.0.1:8092 underlay.token=token-Discovery-unknown-600 underlay.web=http://10.9.0.1:8091 quiet
              IPAPPEND 2

            """, _boot.OpenText("pxelinux.cfg/default"));
        Assert.StartsWith("if test -s (tftp)/grub/${net_default_mac}.cfg; then", _boot.OpenText("grub/grub.cfg"), StringComparison.Ordinal);

        // The discovery token is the unknown-machine kind with unknownTokenTimeout's lifetime.
        Assert.Contains(_boot.Tokens, t => t.Kind == Boot.Rendering.RenderTokenKind.Discovery && t.Machine is null && t.Lifetime == TimeSpan.FromSeconds(600));
    }

    [Fact]
    public void Ignore_fallbacks_send_unknown_machines_to_the_local_disk()
    {
        Assert.Equal("""
            #!ipxe
            echo This machine is not known here: booting from the local disk
            exit

            """, _boot.OpenText("default.ipxe"));
        Assert.Equal("""
            DEFAULT local
            PROMPT 0
            TIMEOUT 10
            LABEL local
              localboot 0

            """, _boot.OpenText("pxelinux.cfg/default"));
        Assert.Equal(BootFileKind.NotFound, _boot.Open("52:54:00:00:00:99.ipxe").Kind);
    }
}
