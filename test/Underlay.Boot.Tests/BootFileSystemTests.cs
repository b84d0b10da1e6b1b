using System.Text;
using Underlay.Boot.Files;
using Underlay.Boot.Tests.Support;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Boot.Tests;

/// <summary>The virtual file system: which path resolves to what, and how renders follow the objects behind them.</summary>
public sealed class BootFileSystemTests : IAsyncLifetime
{
    private BootHarness _boot = null!;

    public async ValueTask InitializeAsync()
    {
        _boot = await BootHarness.StartAsync();
        await _boot.CreateAsync(new Template { ID = "marker.tmpl", Contents = "{{.Env.Name}} for {{.Machine.Name}} via {{.Machine.MacAddr}}: {{.Param \"marker\"}}\n" });
        await _boot.CreateAsync(Env("env-a", "{{.Machine.MacAddr \"ipxe\"}}.ipxe", "a-only/{{.Machine.HexAddress}}"));
        await _boot.CreateAsync(Env("env-b", "{{.Machine.MacAddr \"ipxe\"}}.ipxe", "b-only/{{.Machine.Path}}"));
        await _boot.SetParamAsync<Profile>("global", "marker", "\"global\"");
        await _boot.CreateAsync(new Profile { Name = "rack1" });
        await _boot.CreateAsync(Samples.Machine("env-a"));
    }

    public async ValueTask DisposeAsync() => await _boot.DisposeAsync();

    private static BootEnv Env(string name, params string[] paths) => new()
    {
        Name = name,
        Templates = [.. paths.Select((path, i) => new TemplateInfo { Name = $"t{i}", Path = path, ID = "marker.tmpl" })],
    };

    private string Text(string path) => _boot.OpenText(path);

    [Fact]
    public void Per_mac_paths_exist_for_every_nic_and_render_with_that_mac()
    {
        Assert.Equal("env-a for node1.example.com via 52:54:00:12:34:56: global\n", Text("52:54:00:12:34:56.ipxe"));
        Assert.Equal("env-a for node1.example.com via 52:54:00:ab:cd:ef: global\n", Text("52:54:00:ab:cd:ef.ipxe"));
        Assert.Equal("env-a for node1.example.com via 52:54:00:12:34:56: global\n", Text("a-only/0A090015"));
        Assert.Contains("52:54:00:ab:cd:ef.ipxe", _boot.Files.RenderedPaths);
    }

    [Fact]
    public async Task Changing_the_bootenv_swaps_the_renders_and_makes_the_machine_not_runnable()
    {
        Assert.True(_boot.Get<Machine>(Samples.MachineId.ToString()).Runnable);
        var machine = await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.BootEnv = "env-b");

        Assert.False(machine.Runnable);
        Assert.Equal("env-b for node1.example.com via 52:54:00:12:34:56: global\n", Text("52:54:00:12:34:56.ipxe"));
        Assert.Equal(BootFileKind.NotFound, _boot.Open("a-only/0A090015").Kind);
        Assert.StartsWith("env-b", Text($"b-only/machines/{Samples.MachineId}"), StringComparison.Ordinal);

        // Other changes leave Runnable alone.
        await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.Runnable = true);
        Assert.True((await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.Description = "x")).Runnable);
    }

    [Fact]
    public async Task Renders_follow_param_template_and_address_changes_immediately()
    {
        await _boot.SetParamAsync<Machine>(Samples.MachineId.ToString(), "marker", "\"machine\"");
        Assert.EndsWith(": machine\n", Text("52:54:00:12:34:56.ipxe"), StringComparison.Ordinal);

        await _boot.UpdateAsync<Template>("marker.tmpl", t => t.Contents = "changed {{.Machine.ShortName}}");
        Assert.Equal("changed node1", Text("52:54:00:12:34:56.ipxe"));

        await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.Address = "10.9.0.22");
        Assert.Equal(BootFileKind.NotFound, _boot.Open("a-only/0A090015").Kind);
        Assert.Equal("changed node1", Text("a-only/0A090016"));
    }

    [Fact]
    public async Task A_path_both_bootenvs_render_is_never_missing_while_the_bootenv_flips()
    {
        using var stop = new CancellationTokenSource();
        var problems = new List<string>();
        var reads = 0;
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var file = _boot.Open("52:54:00:12:34:56.ipxe");
                var text = file.Content is null ? "" : Encoding.UTF8.GetString(file.Content);
                if (file.Kind != BootFileKind.Rendered || !(text.StartsWith("env-a ", StringComparison.Ordinal) || text.StartsWith("env-b ", StringComparison.Ordinal)))
                {
                    lock (problems)
                    {
                        problems.Add($"{file.Kind}: {text}{file.Message}");
                    }
                }

                Interlocked.Increment(ref reads);
            }
        })).ToList();

        for (var i = 0; i < 100; i++)
        {
            var env = i % 2 == 0 ? "env-b" : "env-a";
            await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.BootEnv = env);

            // A write that has returned is visible to the next lookup.
            Assert.StartsWith(env + " ", Text("52:54:00:12:34:56.ipxe"), StringComparison.Ordinal);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(reads > 100, $"only {reads} reads");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Unknown_machines_get_the_unknown_bootenv_fallbacks_and_a_deleted_machine_loses_its_files()
    {
        Assert.Equal(BootFileKind.NotFound, _boot.Open("52:54:00:99:99:99.ipxe").Kind);
        Assert.StartsWith("#!ipxe", Text("default.ipxe"), StringComparison.Ordinal);

        Assert.True((await _boot.Store.DeleteAsync(ModelTypes.Machines, Samples.MachineId.ToString(), null, "test")).IsSuccess);
        Assert.Equal(BootFileKind.NotFound, _boot.Open("52:54:00:12:34:56.ipxe").Kind);
    }

    [Fact]
    public async Task Files_in_the_file_root_and_loader_binaries_are_served_after_renders()
    {
        _boot.WriteFile("images/vmlinuz", "a kernel");
        Assert.Equal("a kernel", Text("images/vmlinuz"));
        Assert.Equal("a kernel", Text("/images//./vmlinuz"));

        // A render wins over a file of the same path.
        _boot.WriteFile("52:54:00:12:34:56.ipxe", "from disk");
        Assert.StartsWith("env-a", Text("52:54:00:12:34:56.ipxe"), StringComparison.Ordinal);

        var loader = _boot.Open("ipxe.efi");
        Assert.Equal(BootFileKind.Physical, loader.Kind);
        Assert.Equal("/usr/lib/ipxe/ipxe.efi", loader.FullPath);
        Assert.Equal("/usr/lib/ipxe/undionly.kpxe", _boot.Open("ipxe.pxe").FullPath);

        // The file root overrides a loader of the same name (DRP's replace-root).
        _boot.WriteFile("ipxe.efi", "custom");
        Assert.Equal("custom", Text("ipxe.efi"));
        await Task.CompletedTask;
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("images/../../etc/passwd")]
    [InlineData("..\\..\\etc\\passwd")]
    public void Dot_dot_is_refused(string path) => Assert.Equal(BootFileKind.Forbidden, _boot.Open(path).Kind);

    [Fact]
    public void Symbolic_links_out_of_the_root_are_refused_and_links_inside_are_followed()
    {
        _boot.WriteFile("real/file", "inside");
        File.CreateSymbolicLink(Path.Combine(_boot.FileRoot, "inside-link"), "real");
        File.CreateSymbolicLink(Path.Combine(_boot.FileRoot, "escape"), "/etc");
        File.CreateSymbolicLink(Path.Combine(_boot.FileRoot, "climb"), "../..");
        Assert.Equal("inside", Text("inside-link/file"));
        Assert.Equal(BootFileKind.Forbidden, _boot.Open("escape/hostname").Kind);
        Assert.Equal(BootFileKind.Forbidden, _boot.Open("climb/etc/hostname").Kind);
    }

    [Fact]
    public async Task Link_templates_serve_the_linked_file()
    {
        _boot.WriteFile("firmware/start4.elf", "firmware");
        await _boot.CreateAsync(new BootEnv
        {
            Name = "env-link",
            Templates = [new TemplateInfo { Name = "start4", Path = "{{.Machine.MacAddr \"rpi4\"}}/start4.elf", Link = "firmware/start4.elf" }],
        });
        await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.BootEnv = "env-link");
        Assert.Equal("firmware", Text("52-54-00-12-34-56/start4.elf"));
    }

    [Fact]
    public async Task Missing_required_params_fail_the_render_and_are_recorded_on_the_machine()
    {
        await _boot.CreateAsync(new BootEnv { Name = "env-strict", RequiredParams = ["install-disk"], Templates = [new TemplateInfo { Name = "t", Path = "{{.Machine.Address}}.ipxe", ID = "marker.tmpl" }] });
        var machine = await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.BootEnv = "env-strict");

        Assert.False(machine.Available);
        Assert.Contains("BootEnv: Missing required parameter install-disk for bootenvs env-strict", machine.Errors);
        var file = _boot.Open("10.9.0.21.ipxe");
        Assert.Equal(BootFileKind.Failed, file.Kind);
        Assert.Equal("Missing required parameter install-disk for bootenvs env-strict", file.Message);

        machine = await _boot.UpdateAsync<Machine>(Samples.MachineId.ToString(), m => m.Params["install-disk"] = Samples.Json("\"sda\""));
        Assert.True(machine.Available, string.Join("; ", machine.Errors));
        Assert.Equal(BootFileKind.Rendered, _boot.Open("10.9.0.21.ipxe").Kind);
    }

    [Fact]
    public async Task Templates_that_do_not_parse_are_rejected_at_write_time()
    {
        var result = await _boot.Store.CreateAsync(new Template { ID = "broken.tmpl", Contents = "{{if .Machine}}no end" }, "test");
        Assert.Equal(422, result.Code);
        Assert.Contains(result.Messages, m => m.StartsWith("Contents: template: broken.tmpl:1:", StringComparison.Ordinal));

        result = await _boot.Store.CreateAsync(new BootEnv { Name = "broken-env", Templates = [new TemplateInfo { Name = "x", Path = "{{.Machine.Name", Contents = "y" }] }, "test");
        Assert.Equal(422, result.Code);
        Assert.Contains(result.Messages, m => m.StartsWith("Templates/0/Path: template: x.Path:1:", StringComparison.Ordinal));

        result = await _boot.Store.CreateAsync(new BootEnv { Name = "broken-params", BootParams = "{{.Param \"x\" | nosuchfunction}}" }, "test");
        Assert.Equal(422, result.Code);
        Assert.Contains(result.Messages, m => m.Contains("function \"nosuchfunction\" not defined", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_boot_env_pref_must_name_an_only_unknown_bootenv_and_machines_cannot_use_one()
    {
        var bad = await _boot.Store.SaveAsync(new Pref { Name = "unknownBootEnv", Val = "local" }, null, "test");
        Assert.Equal(422, bad.Code);
        Assert.Contains(bad.Messages, m => m.Contains("is not OnlyUnknown", StringComparison.Ordinal));
        Assert.True((await _boot.Store.SaveAsync(new Pref { Name = "unknownBootEnv", Val = "underlay-discovery" }, null, "test")).IsSuccess);

        var machine = await _boot.Store.UpdateAsync(ModelTypes.Machines, Samples.MachineId.ToString(), (copy, _) =>
        {
            ((Machine)copy).BootEnv = "ignore";
            return null;
        }, null, "test");
        Assert.Equal(422, machine.Code);
        Assert.Contains(machine.Messages, m => m.Contains("only for unknown machines", StringComparison.Ordinal));
    }
}
