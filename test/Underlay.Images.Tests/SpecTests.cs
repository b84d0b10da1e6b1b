using System.Text.Json.Nodes;
using Underlay.Images.Assembly;
using Underlay.Images.Oci;
using Underlay.Images.Spec;

namespace Underlay.Images.Tests;

public sealed class SpecTests
{
    [Fact]
    public void Every_section_of_a_linuxkit_file_is_parsed()
    {
        var spec = SpecParser.Parse("""
            kernel:
              image: linuxkit/kernel:6.6.13
              cmdline: "console=tty0 console=ttyS0"
              tar: none
              ucode: intel-ucode.cpio
            init:
              - linuxkit/init:v1.0
              - linuxkit/runc:v1.0
            onboot:
              - name: dhcpcd
                image: linuxkit/dhcpcd:v1
                command: ["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"]
            onshutdown:
              - name: bye
                image: alpine:3.19
            services:
              - name: sshd
                image: linuxkit/sshd:v1
                binds.add: ["/root/.ssh:/root/.ssh"]
                uid: 100
                gid: sshd
                readonly: true
                resources:
                  memory: {limit: 1000000}
                  blockio: {weight: 10}
            files:
              - path: etc/linuxkit-config
                metadata: yaml
              - path: root/.ssh/authorized_keys
                source: ~/.ssh/id_rsa.pub
                mode: "0600"
                optional: true
            volumes:
              - name: data
                image: alpine:3.19
                readonly: true
            """, "x.yml");
        Assert.Equal("linuxkit/kernel:6.6.13", spec.Kernel.Image);
        Assert.Equal("none", spec.Kernel.Tar);
        Assert.Equal(2, spec.Init.Count);
        Assert.Equal(["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"], spec.Onboot[0].Config.Command!);
        Assert.Equal(IdValue.FromNumber(100), spec.Services[0].Config.Uid);
        Assert.Equal("sshd", spec.Services[0].Config.Gid!.Value.Name);
        Assert.Equal(1000000, spec.Services[0].Config.Resources!["memory"]!["limit"]!.GetValue<long>());
        Assert.NotNull(spec.Services[0].Config.Resources!["blockIO"]);
        Assert.True(spec.Files[1].Optional);
        Assert.Single(spec.Volumes);
        Assert.Empty(spec.Warnings);
    }

    [Theory]
    [InlineData("kernal:\n  image: x\n", "x.yml:1:1", "unknown key 'kernal'")]
    [InlineData("kernel:\n  image: x\n  cmdlin: y\n", "x.yml:3:3", "unknown key 'cmdlin' in kernel")]
    [InlineData("services:\n  - name: a\n    image: b\n    runtime:\n      mkdirs: [/x]\n", "x.yml:5:7", "unknown key 'mkdirs'")]
    [InlineData("files:\n  - path: a\n    contents: b\n    owner: 1\n", "x.yml:4:5", "unknown key 'owner' in files[0]")]
    [InlineData("services:\n  - name: a\n    image: b\n    resources:\n      memory: {limitt: 1}\n", "x.yml:5:16", "unknown key 'limitt'")]
    [InlineData("onboot:\n  - image: b\n", "x.yml:2:5", "'name' is required")]
    [InlineData("services:\n  - name: a\n    image: b\n    readonly: maybe\n", "x.yml:4:15", "expected true or false")]
    [InlineData("init: [a\n", "x.yml:", "invalid YAML")]
    public void Invalid_specs_are_rejected_with_file_line_and_column(string yaml, string where, string what)
    {
        var error = Assert.Throws<ImageBuildException>(() => SpecParser.Parse(yaml, "x.yml"));
        Assert.Contains(where, error.Message);
        Assert.Contains(what, error.Message);
    }

    [Fact]
    public void Trust_is_accepted_with_a_warning()
    {
        var spec = SpecParser.Parse("trust:\n  org: [linuxkit, library]\n", "kube.yml");
        var warning = Assert.Single(spec.Warnings);
        Assert.Contains("kube.yml:1:1", warning);
        Assert.Contains("trust", warning);
    }

    [Fact]
    public void Several_files_merge_as_linuxkit_appends_them()
    {
        var a = SpecParser.Parse("kernel:\n  image: k:1\n  cmdline: a\ninit: [i1]\nservices:\n  - name: s1\n    image: x\n", "a.yml");
        var b = SpecParser.Parse("kernel:\n  image: k:2\n  ucode: u.cpio\ninit: [i2]\nservices:\n  - name: s2\n    image: y\nfiles:\n  - path: f\n    contents: c\n", "b.yml");
        var merged = SpecMerger.Merge([a, b]);
        Assert.Equal("k:2", merged.Kernel.Image);
        Assert.Equal("a", merged.Kernel.Cmdline);
        Assert.Equal("u.cpio", merged.Kernel.UCode);
        Assert.Equal(["i1", "i2"], merged.Init);
        Assert.Equal(["s1", "s2"], merged.Services.Select(s => s.Name));
        Assert.Single(merged.Files);

        var c = SpecParser.Parse("services:\n  - name: s1\n    image: z\n", "c.yml");
        var error = Assert.Throws<ImageBuildException>(() => SpecMerger.Merge([a, c]));
        Assert.Contains("duplicate service name 's1'", error.Message);
        Assert.Contains("c.yml:2:5", error.Message);
    }

    [Fact]
    public void Container_ids_are_allocated_from_100_in_onboot_onshutdown_services_order()
    {
        var spec = SpecParser.Parse("onboot:\n  - {name: a, image: x}\nonshutdown:\n  - {name: b, image: x}\nservices:\n  - {name: c, image: x}\n  - {name: d, image: x}\n", "x.yml");
        var ids = RuntimeConfig.AllocateIds(spec);
        Assert.Equal(100, ids["a"]);
        Assert.Equal(101, ids["b"]);
        Assert.Equal(102, ids["c"]);
        Assert.Equal(103, ids["d"]);
    }

    private static JsonNode Config(string yaml, ImageConfigFile? image = null, Dictionary<string, long>? ids = null)
    {
        var spec = SpecParser.Parse(yaml, "x.yml");
        var container = spec.Services.Concat(spec.Onboot).Single();
        var built = RuntimeConfig.Build(container, image, ids ?? RuntimeConfig.AllocateIds(spec));
        return JsonNode.Parse(built.ConfigJson)!;
    }

    private static string[] Strings(JsonNode? node) => node?.AsArray().Select(n => n!.GetValue<string>()).ToArray() ?? [];

    [Fact]
    public void Runtime_config_defaults_follow_linuxkit()
    {
        var config = Config("services:\n  - name: a\n    image: x\n", new ImageConfigFile
        {
            Config = new ContainerDefaults { Entrypoint = ["/bin/a"], Cmd = ["-v"], Env = ["PATH=/bin"], WorkingDir = "/work" },
        });
        Assert.Equal(["/bin/a", "-v"], Strings(config["process"]!["args"]));
        Assert.Equal(["PATH=/bin"], Strings(config["process"]!["env"]));
        Assert.Equal("/work", config["process"]!["cwd"]!.GetValue<string>());
        Assert.Equal("rootfs", config["root"]!["path"]!.GetValue<string>());
        Assert.Null(config["root"]!["readonly"]);

        // Host net, ipc and uts; new pid, mount and cgroup namespaces.
        Assert.Equal(["pid", "mount", "cgroup"], config["linux"]!["namespaces"]!.AsArray().Select(n => n!["type"]!.GetValue<string>()));

        // Default mounts, sorted by destination so /dev precedes /dev/pts.
        Assert.Equal(["/dev", "/dev/pts", "/proc", "/sys", "/sys/fs/cgroup"], config["mounts"]!.AsArray().Select(m => m!["destination"]!.GetValue<string>()));
        Assert.Empty(Strings(config["process"]!["capabilities"]?["bounding"]));
    }

    [Fact]
    public void Label_defaults_merge_with_the_yaml_and_the_add_forms_extend_them()
    {
        var image = new ImageConfigFile
        {
            Config = new ContainerDefaults
            {
                Entrypoint = ["/bin/image"],
                Labels = new() { ["org.mobyproject.config"] = """{"capabilities":["CAP_NET_ADMIN"],"binds":["/var/run:/var/run"],"command":["/bin/label"],"net":"new","readonly":true}""" },
            },
        };
        var config = Config("services:\n  - name: a\n    image: x\n    capabilities.add: [CAP_SYS_TIME]\n    binds.add: [\"/etc/x:/etc/x:ro\"]\n    ambient: [CAP_NET_RAW]\n", image);
        Assert.Equal(["/bin/label"], Strings(config["process"]!["args"]));
        Assert.Equal(["CAP_NET_ADMIN", "CAP_SYS_TIME"], Strings(config["process"]!["capabilities"]!["effective"]));
        Assert.Equal(["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_TIME"], Strings(config["process"]!["capabilities"]!["bounding"]));
        Assert.Equal(["CAP_NET_RAW"], Strings(config["process"]!["capabilities"]!["ambient"]));
        Assert.True(config["root"]!["readonly"]!.GetValue<bool>());
        var mounts = config["mounts"]!.AsArray().ToDictionary(m => m!["destination"]!.GetValue<string>(), m => m!);
        Assert.Equal(["rw", "rbind", "rshared"], Strings(mounts["/var/run"]["options"]));
        Assert.Equal(["ro", "rbind"], Strings(mounts["/etc/x"]["options"]));
        Assert.Contains("ro", Strings(mounts["/dev"]["options"]));
        Assert.Equal("network", config["linux"]!["namespaces"]![0]!["type"]!.GetValue<string>());

        // A YAML list replaces the label's instead of extending it.
        var replaced = Config("services:\n  - name: a\n    image: x\n    capabilities: [CAP_CHOWN]\n    binds: []\n    command: [/bin/yaml]\n", image);
        Assert.Equal(["CAP_CHOWN"], Strings(replaced["process"]!["capabilities"]!["effective"]));
        Assert.DoesNotContain(replaced["mounts"]!.AsArray(), m => m!["destination"]!.GetValue<string>() == "/var/run");
        Assert.Equal(["/bin/yaml"], Strings(replaced["process"]!["args"]));
    }

    [Fact]
    public void Named_uids_devices_rlimits_and_all_capabilities_are_resolved()
    {
        var config = Config("""
            onboot:
              - name: first
                image: x
            services:
              - name: a
                image: x
                uid: first
                gid: a
                additionalGids: [7, a]
                capabilities: [all]
                rlimits: ["nofile,1024,unlimited"]
                devices:
                  - {path: /dev/tty0, type: c, major: 4, minor: 0, mode: "0620"}
                  - {path: all, type: b}
                pid: host
                runtime:
                  mkdir: [/var/lib/a]
            """.Replace("onboot:\n  - name: first\n    image: x\n", "", StringComparison.Ordinal), null, new Dictionary<string, long> { ["first"] = 100, ["a"] = 101 });
        Assert.Equal(100, config["process"]!["user"]!["uid"]!.GetValue<long>());
        Assert.Equal(101, config["process"]!["user"]!["gid"]!.GetValue<long>());
        Assert.Equal([7L, 101L], config["process"]!["user"]!["additionalGids"]!.AsArray().Select(n => n!.GetValue<long>()));
        Assert.Equal(RuntimeConfig.AllCapabilities.Length, config["process"]!["capabilities"]!["bounding"]!.AsArray().Count);
        Assert.Equal(ulong.MaxValue, config["process"]!["rlimits"]![0]!["hard"]!.GetValue<ulong>());
        Assert.Equal("RLIMIT_NOFILE", config["process"]!["rlimits"]![0]!["type"]!.GetValue<string>());
        Assert.Equal(0x190, config["linux"]!["devices"]![0]!["fileMode"]!.GetValue<int>());
        Assert.Equal(2, config["linux"]!["resources"]!["devices"]!.AsArray().Count);
        Assert.DoesNotContain(config["linux"]!["namespaces"]!.AsArray(), n => n!["type"]!.GetValue<string>() == "pid");
        Assert.Throws<ImageBuildException>(() => Config("services:\n  - name: a\n    image: x\n    uid: nobody\n"));
        Assert.Throws<ImageBuildException>(() => Config("services:\n  - name: a\n    image: x\n    capabilities: [CAP_FLY]\n"));
    }

    [Fact]
    public void Runtime_json_puts_the_rootfs_mounts_first()
    {
        var runtime = new ResolvedRuntime { Mkdir = ["/var/lib/x"], Mounts = [new MountSpec { Destination = "/x", Type = "bind", Source = "/y" }] };
        var json = JsonNode.Parse(RuntimeConfig.RuntimeJson(runtime, [new MountSpec { Source = "/containers/a/lower", Destination = "/containers/a/rootfs", Options = ["bind"] }]))!;
        Assert.Equal(["/containers/a/rootfs", "/x"], json["mounts"]!.AsArray().Select(m => m!["destination"]!.GetValue<string>()));
        Assert.Equal(["/var/lib/x"], Strings(json["mkdir"]));
        Assert.Equal("", json["bindNS"]!["net"]!.GetValue<string>());
    }

    [Fact]
    public void Metadata_files_hold_the_resolved_spec()
    {
        var spec = SpecParser.Parse("kernel:\n  image: k\ninit: [i]\nservices:\n  - name: s\n    image: x\n    env: [A=1]\n", "x.yml");
        var json = JsonNode.Parse(SpecSerializer.Serialize(spec, "json", "t"))!;
        Assert.Equal("k", json["kernel"]!["image"]!.GetValue<string>());
        Assert.Equal("A=1", json["services"]![0]!["env"]![0]!.GetValue<string>());
        var yaml = System.Text.Encoding.UTF8.GetString(SpecSerializer.Serialize(spec, "yaml", "t"));
        var reparsed = SpecParser.Parse(yaml, "roundtrip.yml");
        Assert.Equal("x", reparsed.Services[0].Image);
        Assert.Equal(["A=1"], reparsed.Services[0].Config.Env!);
    }
}
