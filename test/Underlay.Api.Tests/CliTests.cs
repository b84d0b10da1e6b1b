using System.Text.Json;
using Underlay.TestUtilities;

namespace Underlay.Api.Tests;

/// <summary>The README's five-minute tour, run with the real CLI against a real server.</summary>
public sealed class CliTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public CliTests(ServerFixture fixture) => _fixture = fixture;

    private Task<ProcessResult> CliAsync(params string[] arguments) =>
        ExternalProcess.RunAsync("dotnet", [RepoPaths.CliDll, .. arguments], TimeSpan.FromSeconds(60), environment: _fixture.Server.CliEnvironment(),
            cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public async Task The_tour_creates_a_profile_a_subnet_and_a_machine_and_lists_them()
    {
        var profile = await CliAsync("profiles", "create", "{Name: tour, Params: {pxelinux-local-boot: localboot 1}}");
        Assert.True(profile.ExitCode == 0, profile.Combined);
        var subnet = await CliAsync("subnets", "create", """{"Name":"tour-net","Subnet":"192.168.124.0/24","ActiveStart":"192.168.124.100","ActiveEnd":"192.168.124.200"}""");
        Assert.True(subnet.ExitCode == 0, subnet.Combined);
        var machine = await CliAsync("machines", "create", """{"Name":"tour-1.lab","HardwareAddrs":["52:54:00:aa:bb:01"],"Profiles":["tour"]}""");
        Assert.True(machine.ExitCode == 0, machine.Combined);
        using (var created = JsonDocument.Parse(machine.StandardOutput))
        {
            Assert.Equal("tour-1.lab", created.RootElement.GetProperty("Name").GetString());
        }

        var table = await CliAsync("machines", "list", "Name=tour-1.lab", "--format", "table");
        Assert.True(table.ExitCode == 0, table.Combined);
        Assert.Contains("tour-1.lab", table.StandardOutput, StringComparison.Ordinal);

        var yaml = await CliAsync("subnets", "show", "tour-net", "-F", "yaml");
        Assert.Contains("ActiveStart: 192.168.124.100", yaml.StandardOutput, StringComparison.Ordinal);

        var value = await CliAsync("machines", "params", "get", "Name:tour-1.lab", "pxelinux-local-boot", "--aggregate");
        Assert.Equal("\"localboot 1\"", value.StandardOutput.Trim());

        var set = await CliAsync("machines", "params", "set", "Name:tour-1.lab", "pxelinux-local-boot", "localboot 2");
        Assert.True(set.ExitCode == 0, set.Combined);
        var update = await CliAsync("machines", "update", "Name:tour-1.lab", "{Description: racked}");
        Assert.Contains("\"racked\"", update.StandardOutput, StringComparison.Ordinal);
        var patch = await CliAsync("machines", "patch", "Name:tour-1.lab", """[{"op":"test","path":"/Description","value":"wrong"}]""");
        Assert.Equal(1, patch.ExitCode);
        Assert.Contains("409", patch.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Errors_are_one_line_on_stderr_with_exit_code_1()
    {
        var bad = await CliAsync("profiles", "create", "{Name: 9bad}");
        Assert.Equal(1, bad.ExitCode);
        Assert.StartsWith("Error: 422", bad.StandardError.Trim(), StringComparison.Ordinal);
        Assert.Contains("Name", bad.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bad.StandardError, StringComparison.Ordinal);

        var missing = await CliAsync("machines", "show", "Name:nobody");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("404", missing.StandardError, StringComparison.Ordinal);

        var unreachable = await ExternalProcess.RunAsync("dotnet", [RepoPaths.CliDll, "info", "-E", $"https://127.0.0.1:{FreePorts.Tcp()}", "-U", "a", "-P", "b"], TimeSpan.FromSeconds(60),
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach", unreachable.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drp_environment_variables_are_accepted()
    {
        var environment = new Dictionary<string, string>
        {
            ["RS_ENDPOINT"] = _fixture.Server.Endpoint.ToString().TrimEnd('/'),
            ["RS_KEY"] = $"admin:{_fixture.Server.AdminPassword}",
            ["UNDERLAY_CA_CERT"] = _fixture.Server.CertificateFile,
        };
        var info = await ExternalProcess.RunAsync("dotnet", [RepoPaths.CliDll, "info"], TimeSpan.FromSeconds(60), environment: environment,
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(info.ExitCode == 0, info.Combined);
        Assert.Contains("\"ApiPort\"", info.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_watch_prints_matching_events()
    {
        var ct = TestContext.Current.CancellationToken;
        using var watcher = ExternalProcess.StartBackground("dotnet", [RepoPaths.CliDll, "events", "watch", "profiles.create.*", "--count", "1"], environment: _fixture.Server.CliEnvironment());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        for (var i = 0; DateTime.UtcNow < deadline && !watcher.HasExited; i++)
        {
            await CliAsync("profiles", "create", $"{{Name: watched-{i}}}");
            await watcher.WaitForOutputAsync("\"profiles\"", TimeSpan.FromSeconds(1), ct);
        }

        Assert.True(await watcher.WaitForOutputAsync("\"Action\":\"create\"", TimeSpan.FromSeconds(10), ct), watcher.Output);
        Assert.Contains("watched-", watcher.Output, StringComparison.Ordinal);
    }
}
