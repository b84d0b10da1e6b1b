using Underlay.Boot.Rendering;
using Underlay.Boot.Tests.Support;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store.Content;
using Underlay.TestUtilities;

namespace Underlay.Boot.Tests;

/// <summary>
/// DRP's community content, loaded as operators load it, rendered through the real render data: every template of
/// every boot environment of drp-community-content (path, then contents or link) for a sample machine.
/// </summary>
public sealed class CommunityContentTests(ITestOutputHelper output) : IAsyncLifetime
{
    private BootHarness _boot = null!;

    public async ValueTask InitializeAsync()
    {
        var file = Path.Combine(RepoPaths.DrpCommunityContent, "drp-community-content.json");
        Assert.True(File.Exists(file), $"DRP community content not found at {file} (the shared folder beside the checkout)");
        var pack = ContentDirectory.LoadFile(file);

        // The built-in pack may define objects under the community pack's names (stages discover/complete); this
        // test is about rendering, so those built-ins step aside.
        _boot = await BootHarness.StartAsync(makeRoomFor: pack);
        var result = await _boot.Store.PutContentAsync(pack, "test");
        Assert.True(result.IsSuccess, result.ToString());
    }

    public async ValueTask DisposeAsync() => await _boot.DisposeAsync();

    private static Machine SampleMachine(string bootEnv) => new()
    {
        Uuid = Samples.MachineId,
        Name = "node1.example.com",
        Address = "10.9.0.21",
        HardwareAddrs = [Samples.Mac1],
        BootEnv = bootEnv,
        Arch = "amd64",
        Profiles = [],
        Secret = "s",
    };

    [Fact]
    public void Every_bootenv_template_of_the_community_pack_renders_for_a_sample_machine()
    {
        var envs = _boot.Store.List(ModelTypes.BootEnvs).Cast<BootEnv>().Where(e => e.Bundle == "drp-community-content").ToList();
        Assert.Equal(26, envs.Count);
        var (rendered, missingParams, other) = RenderAll(envs, unknown: false);
        Assert.True(other.Count == 0, "engine or render-data errors:\n" + string.Join("\n", other));
        Assert.Equal(envs.Sum(e => e.Templates.Count + BootEnvLayout.Arches(e).Count), rendered + missingParams.Count);
        Assert.True(rendered > 250, $"only {rendered} templates rendered");
    }

    /// <summary>The unknownBootEnv candidates (discovery) render their fallbacks without a machine.</summary>
    [Fact]
    public void Only_unknown_bootenvs_render_without_a_machine()
    {
        var envs = _boot.Store.List(ModelTypes.BootEnvs).Cast<BootEnv>().Where(e => e.Bundle == "drp-community-content" && e.OnlyUnknown).ToList();
        Assert.NotEmpty(envs);
        var (rendered, missingParams, other) = RenderAll(envs, unknown: true);
        Assert.True(other.Count == 0, "engine or render-data errors:\n" + string.Join("\n", other));
        Assert.Empty(missingParams);
        Assert.True(rendered >= 10, $"only {rendered} templates rendered");
    }

    /// <summary>
    /// Renders every template (path, then contents or link) and each architecture's BootParams. A failure is allowed
    /// only when it is DRP's missing-param error for a param the content reads unguarded.
    /// </summary>
    private (int Rendered, List<string> MissingParams, List<string> Other) RenderAll(List<BootEnv> envs, bool unknown)
    {
        var rendered = 0;
        var missingParams = new List<string>();
        var other = new List<string>();
        void Count(string what, RenderOutcome outcome)
        {
            if (outcome.IsSuccess)
            {
                rendered++;
                Assert.DoesNotContain("<no value>", outcome.Text, StringComparison.Ordinal);
            }
            else if (outcome.Error!.Contains("error calling Param: No such machine parameter ", StringComparison.Ordinal) ||
                     outcome.Error.Contains("error calling Param: No such parameter ", StringComparison.Ordinal))
            {
                missingParams.Add($"{what}: {outcome.Error}");
            }
            else
            {
                other.Add($"{what}: {outcome.Error}");
            }
        }

        foreach (var env in envs)
        {
            var context = new RenderContext { Machine = unknown ? null : SampleMachine(env.Name), BootEnv = env, LocalAddress = BootHarness.ServerAddress, MacAddress = Samples.Mac1 };
            var target = RenderTarget.For(env);
            foreach (var template in target.Templates)
            {
                var path = _boot.Renderer.RenderPath(context, target, template);
                Count($"{env.Name}/{template.Name}", !path.IsSuccess ? path
                    : template.Link.Length > 0 && template.ID.Length == 0 && template.Contents.Length == 0
                        ? _boot.Renderer.RenderLink(context with { TemplatePath = path.Text! }, target, template)
                        : _boot.Renderer.Render(context with { TemplatePath = path.Text! }, target, template));
            }

            if (!unknown)
            {
                foreach (var arch in BootEnvLayout.Arches(env))
                {
                    Count($"{env.Name} BootParams {arch.Arch}", _boot.Renderer.RenderText(context, target, "bp", $"{{{{.BootParamsFor \"{arch.Arch}\"}}}}"));
                }
            }
        }

        output.WriteLine($"{rendered} rendered, {missingParams.Count} stopped by a param the content requires");
        foreach (var line in missingParams)
        {
            output.WriteLine(line);
        }

        return (rendered, missingParams, other);
    }
}
