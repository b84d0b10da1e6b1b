using System.Net;
using System.Text;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;

namespace Underlay.Api.Tests;

public sealed class ContentTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public ContentTests(ServerFixture fixture) => _fixture = fixture;

    private const string YamlPack = """
        meta:
          Name: lab-pack
          Version: v1.2.3
          Description: A pack written in YAML
        sections:
          params:
            lab/owner:
              Name: lab/owner
              Schema:
                type: string
                default: ops
          profiles:
            lab-defaults:
              Name: lab-defaults
              Params:
                lab/owner: infra
          tasks:
            lab-hello:
              Name: lab-hello
              Templates:
                - Name: hello
                  Contents: |
                    #!/bin/sh
                    echo "hello from {{.Machine.Name}}"
        """;

    [Fact]
    public async Task Uploading_a_pack_makes_its_objects_visible_and_read_only_and_removing_it_takes_them_away()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        var summary = await admin.UploadContentAsync(Encoding.UTF8.GetBytes(YamlPack), cancellationToken: ct);
        Assert.Equal("lab-pack", summary.Meta.Name);
        Assert.Equal(1, summary.Counts["profiles"]);

        var profile = await admin.GetAsync<Profile>("lab-defaults", ct);
        Assert.True(profile.ReadOnly);
        Assert.Equal("lab-pack", profile.Bundle);
        var task = await admin.GetAsync<TaskModel>("lab-hello", ct);
        Assert.Contains("hello from", task.Templates[0].Contents, StringComparison.Ordinal);

        // Read-only: no PUT, PATCH, DELETE or params change gets through, and nothing changes.
        var patch = await admin.SendAsync(HttpMethod.Patch, "profiles/lab-defaults", Encoding.UTF8.GetBytes("""[{"op":"add","path":"/Description","value":"x"}]"""), cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Forbidden, patch.Status);
        Assert.Contains("lab-pack", patch.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(HttpMethod.Delete, "profiles/lab-defaults", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(HttpMethod.Put, "profiles/lab-defaults", ModelTypes.Profiles.SerializeForOutput(profile), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.SendAsync(HttpMethod.Post, "profiles/lab-defaults/params/lab/owner", Encoding.UTF8.GetBytes("\"me\""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.SendAsync(HttpMethod.Post, "profiles", Encoding.UTF8.GetBytes("""{"Name":"lab-defaults"}"""), cancellationToken: ct)).Status);

        // A writable machine can use the pack's objects.
        var machine = await admin.CreateAsync(new Machine { Name = "uses-pack.example.com", Profiles = ["lab-defaults"] }, ct);
        Assert.Equal("infra", (await admin.GetParamAsync(ModelTypes.Machines, machine.Key, "lab/owner", aggregate: true, ct)).GetString());

        Assert.Contains(await admin.ListContentsAsync(ct), c => c.Meta.Name == "lab-pack" && c.Meta.Version == "v1.2.3");
        await admin.DeleteContentAsync("lab-pack", ct);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Get, "profiles/lab-defaults", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Get, "tasks/lab-hello", cancellationToken: ct)).Status);
        Assert.DoesNotContain(await admin.ListContentsAsync(ct), c => c.Meta.Name == "lab-pack");
    }

    [Fact]
    public async Task The_built_in_pack_cannot_be_removed_or_replaced()
    {
        var ct = TestContext.Current.CancellationToken;
        var response = await _fixture.Admin.SendAsync(HttpMethod.Delete, "contents/underlay-base", cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Forbidden, response.Status);
        Assert.True((await _fixture.Admin.GetAsync<Role>("superuser", ct)).ReadOnly);
    }

    [Fact]
    public async Task A_pack_colliding_with_existing_objects_is_refused_whole()
    {
        var ct = TestContext.Current.CancellationToken;
        await _fixture.Admin.CreateAsync(new Profile { Name = "taken-name" }, ct);
        var pack = """{"meta":{"Name":"colliding"},"sections":{"profiles":{"taken-name":{"Name":"taken-name"},"fresh-name":{"Name":"fresh-name"}}}}""";
        var response = await _fixture.Admin.SendAsync(HttpMethod.Post, "contents", Encoding.UTF8.GetBytes(pack), cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        Assert.Contains("taken-name", response.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await _fixture.Admin.SendAsync(HttpMethod.Get, "profiles/fresh-name", cancellationToken: ct)).Status);
    }

    [Fact]
    public async Task Uploaded_packs_survive_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        using (var client = server.AdminClient())
        {
            await client.UploadContentAsync(Encoding.UTF8.GetBytes(YamlPack), cancellationToken: ct);
        }

        await server.RestartAsync(kill: true, cancellationToken: ct);
        using var after = server.AdminClient();
        Assert.True((await after.GetAsync<Profile>("lab-defaults", ct)).ReadOnly);
    }

    /// <summary>Underlay must load every DRP community pack operators already run (36 packs, about 1,600 objects).</summary>
    [Fact]
    public async Task Every_drp_community_pack_loads()
    {
        var ct = TestContext.Current.CancellationToken;
        var directory = RepoPaths.DrpCommunityContent;
        Assert.True(Directory.Exists(directory), $"DRP community content not found at {directory}");
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        using var client = server.AdminClient();
        var files = Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal).ToList();

        // The core pack first: nearly every other pack builds on it.
        files.Sort((a, b) => (Path.GetFileName(a) == "drp-community-content.json" ? 0 : 1).CompareTo(Path.GetFileName(b) == "drp-community-content.json" ? 0 : 1));
        var failures = new List<string>();
        var objects = 0;
        foreach (var file in files)
        {
            var response = await client.SendAsync(HttpMethod.Post, "contents", await File.ReadAllBytesAsync(file, ct), cancellationToken: ct);
            if (!response.IsSuccess)
            {
                failures.Add($"{Path.GetFileName(file)}: {(int)response.Status} {response.Text[..Math.Min(600, response.Text.Length)]}");
                continue;
            }

            using var summary = JsonDocument.Parse(response.Body);
            objects += summary.RootElement.GetProperty("Counts").EnumerateObject().Sum(p => p.Value.GetInt32());
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(36, files.Count);
        Assert.True(objects > 1500, $"only {objects} objects loaded");
        var bootenv = await client.GetAsync<BootEnv>("centos-7-install", ct);
        Assert.True(bootenv.ReadOnly);
        Assert.Equal("drp-community-content", bootenv.Bundle);
    }
}
