using Underlay.Boot.Rendering;
using Underlay.Boot.Tests.Support;
using Underlay.Core.Models;

namespace Underlay.Boot.Tests;

/// <summary>Every member of DRP's render data (DRP-REFERENCE §2.4, DRP-CONTENT-CENSUS.md), one expression at a time.</summary>
public sealed class RenderDataTests : IAsyncLifetime
{
    private BootHarness _boot = null!;
    private Machine _machine = null!;

    public async ValueTask InitializeAsync()
    {
        _boot = await BootHarness.StartAsync();
        await _boot.CreateAsync(new Param { Name = "with-default", Schema = Samples.Json("""{"type":"string","default":"from-schema"}""") });
        await _boot.CreateAsync(new Profile
        {
            Name = "rack1",
            Params = new()
            {
                ["rack"] = Samples.Json("\"r1\""),
                ["layered"] = Samples.Json("\"profile\""),
                ["composed"] = Samples.Json("""{"b":"profile","c":"profile"}"""),
                ["composed-list"] = Samples.Json("""["p1","shared"]"""),
            },
        });
        await _boot.CreateAsync(new Profile { Name = "cluster-a" });
        await _boot.SetParamAsync<Profile>("global", "layered", "\"global\"");
        await _boot.SetParamAsync<Profile>("global", "composed", """{"c":"global","d":"global"}""");
        await _boot.SetParamAsync<Profile>("global", "composed-list", """["shared","g1"]""");
        await _boot.SetParamAsync<Profile>("global", "greeting", "\"hello {{.Machine.ShortName}} in {{.Param \\\"rack\\\"}}\"");
        await _boot.SetParamAsync<Profile>("global", "self-expanding", "\"{{.ParamExpand \\\"self-expanding\\\"}}\"");
        await _boot.SetParamAsync<Profile>("global", "composed-templates", """{"who":"{{.Machine.Name}}","list":["{{.Param \"rack\"}}"]}""");
        await _boot.SetParamAsync<Profile>("global", "big-number", "1000000");
        await _boot.CreateAsync(new Template { ID = "named.tmpl", Contents = "[{{.Machine.Name}}]" });
        await _boot.CreateAsync(new Template { ID = "echo.tmpl", Contents = "<{{.}}>" });
        _boot.WriteFile("fixture-8/install/images/pxeboot/vmlinuz", "k");
        _boot.WriteFile("fixture-8/install/images/pxeboot/initrd.img", "i");
        var env = Samples.InstallEnv();
        env.OS.SupportedArchitectures = new()
        {
            ["x86_64"] = new ArchInfo { Kernel = "images/pxeboot/vmlinuz", Initrds = ["images/pxeboot/initrd.img"] },
            ["aarch64"] = new ArchInfo { Kernel = "images/arm/vmlinuz", Initrds = ["images/arm/initrd.img", "images/arm/extra.img"], BootParams = "arm {{.Machine.Arch}}" },
        };
        env.RequiredParams = ["rack"];
        env.Templates = [];
        await _boot.CreateAsync(env);
        var machine = Samples.Machine("fixture-8-install");
        machine.Profiles = ["rack1", "cluster-a"];
        machine.Params["layered"] = Samples.Json("\"machine\"");
        machine.Params["composed"] = Samples.Json("""{"a":"machine","b":"machine"}""");
        _machine = await _boot.CreateAsync(machine);
    }

    public async ValueTask DisposeAsync() => await _boot.DisposeAsync();

    private RenderOutcome Render(string text, Machine? machine = null, bool unknown = false, string path = "", TaskModel? task = null) =>
        _boot.Renderer.RenderText(
            new RenderContext { Machine = unknown ? null : machine ?? _machine, LocalAddress = BootHarness.ServerAddress, TemplatePath = path, Task = task },
            RenderTarget.None, "test", text);

    private string Text(string text, Machine? machine = null, bool unknown = false, string path = "")
    {
        var outcome = Render(text, machine, unknown, path);
        Assert.True(outcome.IsSuccess, outcome.Error);
        return outcome.Text!;
    }

    [Theory]
    [InlineData("{{.Machine.Name}}", "node1.example.com")]
    [InlineData("{{.Machine.ShortName}}", "node1")]
    [InlineData("{{.Machine.UUID}}", "3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab")]
    [InlineData("{{.Machine.Uuid}}", "3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab")]
    [InlineData("{{.Machine.Address}}", "10.9.0.21")]
    [InlineData("{{.Machine.HexAddress}}", "0A090015")]
    [InlineData("{{.Machine.Path}}", "machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab")]
    [InlineData("{{.Machine.Url}}", "http://10.9.0.1:8091/machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab")]
    [InlineData("{{.Machine.MacAddr}}", "52:54:00:12:34:56")]
    [InlineData("{{.Machine.MacAddr \"pxelinux\"}}", "01-52-54-00-12-34-56")]
    [InlineData("{{.Machine.MacAddr \"ipxe\"}}", "52:54:00:12:34:56")]
    [InlineData("{{.Machine.MacAddr \"grub\"}}", "52:54:00:12:34:56")]
    [InlineData("{{.Machine.MacAddr \"rpi4\"}}", "52-54-00-12-34-56")]
    [InlineData("{{.Machine.Arch}}", "amd64")]
    [InlineData("{{range .Machine.Profiles}}{{.}},{{end}}", "rack1,cluster-a,")]
    [InlineData("{{index .Machine.Tasks .Machine.CurrentTask}} of {{len .Machine.Tasks}}", "ks-prep of 3")]
    [InlineData("{{index .Machine.Tasks (add .Machine.CurrentTask 1)}}", "bootenv:local")]
    [InlineData("{{.Machine.Stage}}|{{.Machine.Context}}|{{.Machine.CurrentJob}}|{{.Machine.BootEnv}}", "|||fixture-8-install")]
    [InlineData("{{.Machine.Meta.color}}", "green")]
    [InlineData("{{.Machine.HasProfile \"cluster-a\"}} {{.Machine.HasProfile \"nope\"}}", "true false")]
    [InlineData("{{(.Machine | toJson) | fromJson | dig \"Name\" \"\"}}", "node1.example.com")]
    public void Machine_members(string template, string expected) => Assert.Equal(expected, Text(template));

    [Theory]
    [InlineData("{{.Env.Name}}", "fixture-8-install")]
    [InlineData("{{.Env.Kernel}}", "images/pxeboot/vmlinuz")]
    [InlineData("{{.Env.Initrds}}", "[images/pxeboot/initrd.img]")]
    [InlineData("{{.Env.PathFor \"tftp\" .Env.Kernel}}", "fixture-8/install/images/pxeboot/vmlinuz")]
    [InlineData("{{.Env.PathFor \"http\" \"\"}}", "http://10.9.0.1:8091/fixture-8/install")]
    [InlineData("{{.Env.PathFor \"tftp\" \"../../../etc/passwd\"}}", "etc/passwd")]
    [InlineData("{{.Env.PathForArch \"tftp\" (.Env.KernelFor \"arm64\") \"aarch64\"}}", "fixture-8/arm64/install/images/arm/vmlinuz")]
    [InlineData("{{.Env.KernelFor \"aarch64\"}}", "images/arm/vmlinuz")]
    [InlineData("{{.Env.InitrdsFor \"arm64\"}}", "[images/arm/initrd.img images/arm/extra.img]")]
    [InlineData("{{.Env.JoinInitrds \"tftp\"}}", "fixture-8/install/images/pxeboot/initrd.img")]
    [InlineData("{{.Env.JoinInitrdsFor \"http\" \"arm64\"}}", "http://10.9.0.1:8091/fixture-8/arm64/install/images/arm/initrd.img http://10.9.0.1:8091/fixture-8/arm64/install/images/arm/extra.img")]
    [InlineData("{{.Env.InstallUrl}}", "http://10.9.0.1:8091/fixture-8/install")]
    [InlineData("{{.Env.OS.Name}} {{.Env.OS.Family}} {{.Env.OS.Version}}", "fixture-8 centos 8.3")]
    [InlineData("{{.Env.OS.FamilyName}} {{.Env.OS.FamilyType}} {{.Env.OS.FamilyVersion}}", "centos rhel 8.3")]
    [InlineData("{{.Env.OS.VersionEq \"8\"}} {{.Env.OS.VersionEq \"8.3\"}} {{.Env.OS.VersionEq \"8.3.1\"}} {{.Env.OS.VersionEq \"7\"}}", "true true false false")]
    [InlineData("{{.Env.OS.SupportedArchitectures.aarch64.Kernel}}", "images/arm/vmlinuz")]
    [InlineData("{{.Env.BootParamsFor \"arm64\"}}", "arm amd64")]
    [InlineData("{{.BootParamsFor \"arm64\"}}", "arm amd64")]
    [InlineData("{{.Env.OnlyUnknown}} {{.Env.RequiredParams}}", "false [rack]")]
    public void Env_members(string template, string expected) => Assert.Equal(expected, Text(template));

    [Fact]
    public async Task BootParams_renders_the_environment_template_and_adds_the_initrd_in_ipxe_files()
    {
        await _boot.SetParamAsync<Profile>("global", "kernel-options", "\"quiet\"");
        await _boot.SetParamAsync<Profile>("rack1", "kernel-console", "\"console=ttyS0\"");
        const string Expected = "ksdevice=bootif ks=http://10.9.0.1:8091/machines/3c8a9e6c-5d1f-4d1f-9f7a-1234567890ab/compute.ks method=http://10.9.0.1:8091/fixture-8/install inst.geoloc=0 quiet -- console=ttyS0";
        Assert.Equal(Expected, Text("{{.BootParams}}", path: "/pxelinux.cfg/x"));
        Assert.Equal("initrd=initrd.img " + Expected, Text("{{.BootParams}}", path: "/10.9.0.21.ipxe"));
        Assert.Equal(Expected, Text("{{.Env.BootParams}}"));
    }

    [Fact]
    public void Missing_params_in_boot_params_fail_with_drps_message()
    {
        // kernel-options and kernel-console are set nowhere: DRP's BootParams are rendered with missingkey=error.
        var outcome = Render("{{.BootParams}}");
        Assert.False(outcome.IsSuccess);
        Assert.Contains("error calling BootParams: bootenv fixture-8-install: BootParams:", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("No such machine parameter kernel-options", outcome.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{.ProvisionerAddress}}", "10.9.0.1")]
    [InlineData("{{.ProvisionerURL}}", "http://10.9.0.1:8091")]
    [InlineData("{{.SecureProvisionerURL}}", "https://10.9.0.1:8090")]
    [InlineData("{{.ApiURL}}", "https://10.9.0.1:8092")]
    [InlineData("{{.NetmaskToCIDR \"255.255.255.0\"}} {{.NetmaskToCIDR \"255.255.240.0\"}} {{.NetmaskToCIDR \"0.0.0.0\"}}", "24 20 0")]
    [InlineData("{{.ParseUrl \"host\" \"http://mirror.example.com:8080/x/y\"}} {{.ParseUrl \"path\" \"http://m/x/y\"}}", "mirror.example.com:8080 /x/y")]
    public void Server_members(string template, string expected) => Assert.Equal(expected, Text(template));

    [Theory]
    [InlineData("{{.Param \"layered\"}}", "machine")]
    [InlineData("{{.Param \"rack\"}}", "r1")]
    [InlineData("{{.Param \"with-default\"}}", "from-schema")]
    [InlineData("{{.Param \"big-number\"}}", "1e+06")]
    [InlineData("{{.ParamExists \"rack\"}} {{.ParamExists \"nope\"}}", "true false")]
    [InlineData("{{.ParamAsJSON \"composed-list\"}}", "[\"p1\",\"shared\"]\n")]
    [InlineData("{{.ParamAsYAML \"composed-list\"}}", "- p1\n- shared\n")]
    [InlineData("{{.ParamExpand \"greeting\"}}", "hello node1 in r1")]
    [InlineData("{{.ParamExpand \"rack\"}}", "r1")]
    [InlineData("{{.ComposeParam \"composed\" | toJson}}", "{\"a\":\"machine\",\"b\":\"machine\",\"c\":\"profile\",\"d\":\"global\"}")]
    [InlineData("{{.ParamCompose \"composed-list\" | toJson}}", "[\"p1\",\"shared\",\"g1\"]")]
    [InlineData("{{.ParamComposeExpand \"composed-templates\" | toJson}}", "{\"list\":[\"r1\"],\"who\":\"node1.example.com\"}")]
    [InlineData("{{.ComposeParam \"nope\"}}", "<no value>")]
    public void Param_members(string template, string expected) => Assert.Equal(expected, Text(template));

    [Fact]
    public void A_param_set_nowhere_fails_the_render_with_a_clear_error()
    {
        var outcome = Render("{{.Param \"no-such-param\"}}");
        Assert.False(outcome.IsSuccess);
        Assert.Contains("error calling Param: No such machine parameter no-such-param", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("node1.example.com", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_param_that_expands_itself_fails_instead_of_recursing_forever()
    {
        var outcome = Render("{{.ParamExpand \"self-expanding\"}}");
        Assert.False(outcome.IsSuccess);
        Assert.Contains("nest more than 16 deep", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_machines_see_the_global_profile_and_no_machine()
    {
        Assert.Equal("global|false|true", Text("{{.Param \"layered\"}}|{{.ParamExists \"rack\"}}|{{if .Machine}}x{{else}}true{{end}}", unknown: true));
        var outcome = Render("{{.Machine.Name}}", unknown: true);
        Assert.False(outcome.IsSuccess);
        Assert.Contains("nil pointer", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Template_calls_resolve_against_stored_templates_at_execution_time()
    {
        Assert.Equal("a[node1.example.com]b", Text("a{{template \"named.tmpl\" .}}b"));
        Assert.Equal("<x>", Text("{{.CallTemplate \"echo.tmpl\" \"x\"}}"));

        // A name nobody defines fails only if that branch runs, as in Go.
        Assert.Equal("skipped", Text("{{if false}}{{template \"later.tmpl\" .}}{{end}}skipped"));
        Assert.False(Render("{{template \"later.tmpl\" .}}").IsSuccess);
        Assert.Contains("Missing template: later.tmpl", Render("{{.CallTemplate \"later.tmpl\" .}}").Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_template_stored_after_a_render_is_used_by_the_next_render()
    {
        Assert.False(Render("{{template \"later.tmpl\" .}}").IsSuccess);
        await _boot.CreateAsync(new Template { ID = "later.tmpl", Contents = "now {{.Machine.ShortName}}" });
        Assert.Equal("now node1", Text("{{template \"later.tmpl\" .}}"));
        await _boot.UpdateAsync<Template>("later.tmpl", t => t.Contents = "changed");
        Assert.Equal("changed", Text("{{template \"later.tmpl\" .}}"));
    }

    [Fact]
    public void Tokens_come_from_the_hosts_issuer_with_drps_kinds_and_lifetimes()
    {
        Assert.Equal("token-Machine-node1.example.com-3600", Text("{{.GenerateToken}}"));
        Assert.Equal("token-Discovery-unknown-600", Text("{{.GenerateToken}}", unknown: true));
        Assert.Equal($"token-Machine-node1.example.com-{3 * 365 * 86400}", Text("{{.GenerateInfiniteToken}}"));
        Assert.Equal("", Text("{{.GenerateInfiniteToken}}", unknown: true));
        Assert.Equal("token-Profile-node1.example.com-7200-cluster-a", Text("{{.GenerateProfileToken \"cluster-a\" 7200}}"));
        Assert.Equal("InvalidTokenNotAllowedNotOnMachine", Text("{{.GenerateProfileToken \"global\" 7200}}"));
        Assert.Equal("UnknownMachineTokenNotAllowed", Text("{{.GenerateProfileToken \"cluster-a\" 7200}}", unknown: true));
        Assert.Contains(_boot.Tokens, t => t is { Kind: RenderTokenKind.Profile, Profile: "cluster-a" } && t.Machine!.Uuid == Samples.MachineId);
    }

    [Fact]
    public async Task Token_lifetimes_follow_the_token_timeout_prefs()
    {
        await _boot.UpdateAsync<Pref>("knownTokenTimeout", pref => pref.Val = "120");
        Assert.Equal("token-Machine-node1.example.com-120", Text("{{.GenerateToken}}"));
    }

    [Fact]
    public void Task_stage_and_job_are_available_for_job_rendering()
    {
        var task = new TaskModel { Name = "ks-prep", Description = "prepare", RequiredParams = ["rack"], Templates = [new TemplateInfo { Name = "inline", Contents = "in {{.Task.Name}}" }] };
        var job = new Job { Uuid = Guid.NewGuid(), Machine = Samples.MachineId, Task = "ks-prep", CurrentIndex = 2 };
        var context = new RenderContext { Machine = _machine, Task = task, Job = job, Stage = new Stage { Name = "install" }, LocalAddress = BootHarness.ServerAddress };
        var outcome = _boot.Renderer.RenderText(context, RenderTarget.For(task), "t", "{{.Task.Name}}/{{.Task.Description}}/{{.Stage.Name}}/{{.Job.Task}}/{{.Job.CurrentIndex}}/{{template \"inline\" .}}");
        Assert.Equal("ks-prep/prepare/install/ks-prep/2/in ks-prep", outcome.Text);
    }

    [Fact]
    public void Render_all_renders_a_tasks_templates_and_requires_its_params()
    {
        var task = new TaskModel
        {
            Name = "write-files",
            RequiredParams = ["rack"],
            Templates =
            [
                new TemplateInfo { Name = "script", Contents = "#!/bin/sh\necho {{.Param \"rack\"}}\n" },
                new TemplateInfo { Name = "file", Path = "/etc/{{.Machine.ShortName}}/../rack", ID = "named.tmpl", Meta = new() { ["OS"] = "linux" } },
                new TemplateInfo { Name = "relative", Path = "tmp/./x", Contents = "y" },
            ],
        };
        var rendered = _boot.Renderer.RenderAll(new RenderContext { Machine = _machine, Task = task }, RenderTarget.For(task));
        Assert.True(rendered.IsSuccess, string.Join("; ", rendered.Errors));
        Assert.Collection(
            rendered.Templates,
            t => Assert.Equal(("script", "", "#!/bin/sh\necho r1\n"), (t.Name, t.Path, t.Contents)),
            t => Assert.Equal(("file", "/etc/rack", "[node1.example.com]", "linux"), (t.Name, t.Path, t.Contents, t.Meta["OS"])),
            t => Assert.Equal(("relative", "tmp/x", "y"), (t.Name, t.Path, t.Contents)));

        task.RequiredParams = ["rack", "not-set-anywhere"];
        var missing = _boot.Renderer.RenderAll(new RenderContext { Machine = _machine, Task = task }, RenderTarget.For(task));
        Assert.Empty(missing.Templates);
        Assert.Equal(["Missing required parameter not-set-anywhere for tasks write-files"], missing.Errors);
    }

    [Fact]
    public void Install_repos_fall_back_to_declared_mirrors_when_nothing_is_exploded_here()
    {
        var machine = Samples.Machine("local");
        machine.OS = "debian-10";
        machine.Params["package-repositories"] = Samples.Json("""
            [{"tag":"debian-10","os":["debian-10"],"arch":"amd64","installSource":true,"url":"http://deb.example.com/debian","distribution":"buster","components":["main"]},
             {"tag":"debian-10-security","os":["debian-10"],"arch":"any","securitySource":true,"url":"http://security.example.com/debian-security","distribution":"buster/updates","components":["main","contrib"]},
             {"tag":"centos","os":["centos-8"],"arch":"amd64","installSource":true,"url":"http://c.example.com"}]
            """);
        Assert.Equal("""
            d-i mirror/protocol string http
            d-i mirror/http/hostname string deb.example.com
            d-i mirror/http/directory string /debian
            d-i apt-setup/security_host string security.example.com
            d-i apt-setup/security_path string /debian-security

            """, Text("{{range .InstallRepos}}{{.Install}}{{end}}", machine), ignoreLineEndingDifferences: true);
        Assert.Equal("deb http://deb.example.com/debian buster main\ndeb http://security.example.com/debian-security buster/updates main contrib\n", Text("{{range .MachineRepos}}{{.Lines}}{{end}}", machine));
        Assert.Equal("debian-10-security", Text("{{range .Repos \"debian-10-security\"}}{{.Tag}}{{end}}", machine));
    }
}
