using System.Net;
using System.Text;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;

namespace Underlay.Api.Tests;

public sealed class CrudTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public CrudTests(ServerFixture fixture) => _fixture = fixture;

    private UnderlayClient Admin => _fixture.Admin;

    [Fact]
    public async Task Every_object_type_round_trips_create_get_update_patch_delete_and_survives_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        var samples = Samples.All("rt", 31);
        var created = new Dictionary<ModelType, ModelBase>();
        using (var client = server.AdminClient())
        {
            foreach (var (type, model) in samples)
            {
                ModelBase stored;
                if (type == ModelTypes.Jobs)
                {
                    var job = (Job)model;
                    var response = await client.SendAsync(HttpMethod.Post, "jobs", Encoding.UTF8.GetBytes($$"""{"Machine":"{{job.Machine}}"}"""), cancellationToken: ct);
                    Assert.Equal(HttpStatusCode.Created, response.Status);
                    stored = type.Deserialize(response.Body, UnderlayJson.LenientInput);
                    Assert.Equal(job.Task, ((Job)stored).Task);

                    // Starting the job moved the machine on; remember it as it now is.
                    created[ModelTypes.Machines] = await client.GetAsync(ModelTypes.Machines, job.Machine.ToString(), ct);
                }
                else
                {
                    stored = await client.CreateAsync(model, ct);
                }

                Assert.True(stored.Validated, $"{type.Prefix}: {string.Join("; ", stored.Errors)}");
                Assert.False(stored.ReadOnly);
                var fetched = await client.GetAsync(type, stored.Key, ct);
                Assert.Equal(Canonical(type, stored), Canonical(type, fetched));

                // PUT: change a field and replace the whole object.
                var changed = type.Clone(fetched);
                changed.Meta["color"] = "green";
                var saved = await client.PutAsync(changed, cancellationToken: ct);
                Assert.Equal("green", saved.Meta["color"]);

                // PATCH: RFC 6902 on the stored object.
                var patched = await client.PatchAsync(type, stored.Key, """[{"op":"add","path":"/Meta/icon","value":"server"}]""", ct);
                Assert.Equal("server", patched.Meta["icon"]);
                Assert.Equal("green", patched.Meta["color"]);
                created[type] = patched;
            }
        }

        await server.RestartAsync(cancellationToken: ct);
        using (var client = server.AdminClient())
        {
            foreach (var (type, before) in created)
            {
                var after = await client.GetAsync(type, before.Key, ct);
                Assert.Equal(Canonical(type, before), Canonical(type, after));
            }

            // Delete in reverse dependency order; each is gone afterwards.
            foreach (var (type, model) in samples.Reverse())
            {
                var deleted = await client.DeleteAsync(type, created[type].Key, ct);
                Assert.Equal(created[type].Key, deleted.Key);
                var missing = await client.SendAsync(HttpMethod.Get, $"{type.Prefix}/{UnderlayClient.Escape(created[type].Key)}", cancellationToken: ct);
                Assert.Equal(HttpStatusCode.NotFound, missing.Status);
            }
        }

        await server.RestartAsync(cancellationToken: ct);
        using (var client = server.AdminClient())
        {
            foreach (var (type, model) in created)
            {
                var missing = await client.SendAsync(HttpMethod.Get, $"{type.Prefix}/{UnderlayClient.Escape(model.Key)}", cancellationToken: ct);
                Assert.Equal(HttpStatusCode.NotFound, missing.Status);
            }
        }
    }

    [Fact]
    public async Task Objects_are_addressable_by_any_index_as_Index_colon_value()
    {
        var ct = TestContext.Current.CancellationToken;
        var machine = await Admin.CreateAsync(new Machine { Name = "by-index.example.com", HardwareAddrs = ["52:54:00:12:34:56"] }, ct);
        var byName = await Admin.GetAsync(ModelTypes.Machines, "Name:by-index.example.com", ct);
        var byMac = await Admin.GetAsync(ModelTypes.Machines, "HardwareAddrs:52:54:00:12:34:56", ct);
        Assert.Equal(machine.Key, byName.Key);
        Assert.Equal(machine.Key, byMac.Key);
        var head = await Admin.SendAsync(HttpMethod.Head, "machines/Name:nobody", cancellationToken: ct);
        Assert.Equal(HttpStatusCode.NotFound, head.Status);
    }

    [Fact]
    public async Task A_failing_json_patch_test_returns_409_and_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var profile = await Admin.CreateAsync(new Profile { Name = "patch-test", Description = "before" }, ct);
        var response = await Admin.SendAsync(HttpMethod.Patch, "profiles/patch-test", Encoding.UTF8.GetBytes(
            """[{"op":"replace","path":"/Description","value":"after"},{"op":"test","path":"/Name","value":"someone-else"}]"""), cancellationToken: ct);
        Assert.Equal(HttpStatusCode.Conflict, response.Status);
        var error = JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.ApiError)!;
        Assert.Equal(409, error.Code);
        var after = await Admin.GetAsync<Profile>("patch-test", ct);
        Assert.Equal("before", after.Description);
        Assert.Equal(Canonical(ModelTypes.Profiles, profile), Canonical(ModelTypes.Profiles, after));

        // A passing test lets the whole patch through.
        await Admin.PatchAsync(ModelTypes.Profiles, "patch-test", """[{"op":"test","path":"/Description","value":"before"},{"op":"replace","path":"/Description","value":"after"}]""", ct);
        Assert.Equal("after", (await Admin.GetAsync<Profile>("patch-test", ct)).Description);
    }

    [Fact]
    public async Task Two_puts_from_the_same_stale_version_one_succeeds_one_gets_409()
    {
        var ct = TestContext.Current.CancellationToken;
        await Admin.CreateAsync(new Profile { Name = "stale-put" }, ct);
        var read = await Admin.SendAsync(HttpMethod.Get, "profiles/stale-put", cancellationToken: ct);
        var etag = read.Header("ETag")!;
        var first = (Profile)ModelTypes.Profiles.Deserialize(read.Body, UnderlayJson.LenientInput);
        var second = (Profile)ModelTypes.Profiles.Clone(first);
        first.Description = "writer one";
        second.Description = "writer two";
        var headers = new Dictionary<string, string> { ["If-Match"] = etag };
        var results = await Task.WhenAll(
            Admin.SendAsync(HttpMethod.Put, "profiles/stale-put", ModelTypes.Profiles.SerializeForOutput(first), headers: headers, cancellationToken: ct),
            Admin.SendAsync(HttpMethod.Put, "profiles/stale-put", ModelTypes.Profiles.SerializeForOutput(second), headers: headers, cancellationToken: ct));
        Assert.Single(results, r => r.Status == HttpStatusCode.OK);
        Assert.Single(results, r => r.Status == HttpStatusCode.Conflict);
        var winner = results.Single(r => r.Status == HttpStatusCode.OK);
        var stored = await Admin.GetAsync<Profile>("stale-put", ct);
        Assert.Equal(((Profile)ModelTypes.Profiles.Deserialize(winner.Body, UnderlayJson.LenientInput)).Description, stored.Description);
    }

    [Theory]
    [InlineData("profiles", """{"Name":"9starts-with-digit"}""", "Name")]
    [InlineData("profiles", """{"Name":"bad/slash"}""", "Name")]
    [InlineData("machines", """{"Name":"needs-profile","Profiles":["no-such-profile"]}""", "Profiles")]
    [InlineData("machines", """{"Name":"bad-mac","HardwareAddrs":["not-a-mac"]}""", "HardwareAddrs")]
    [InlineData("subnets", """{"Name":"bad-net","Subnet":"10.300.0.0/24","ActiveStart":"10.0.0.1","ActiveEnd":"10.0.0.2"}""", "Subnet")]
    [InlineData("subnets", """{"Name":"short-lease","Subnet":"10.77.0.0/24","ActiveStart":"10.77.0.10","ActiveEnd":"10.77.0.20","ActiveLeaseTime":5}""", "ActiveLeaseTime")]
    [InlineData("stages", """{"Name":"needs-task","Tasks":["no-such-task"]}""", "Tasks")]
    public async Task Invalid_objects_get_422_naming_the_field(string prefix, string body, string field)
    {
        var ct = TestContext.Current.CancellationToken;
        var response = await Admin.SendAsync(HttpMethod.Post, prefix, Encoding.UTF8.GetBytes(body), cancellationToken: ct);
        Assert.Equal((HttpStatusCode)422, response.Status);
        var error = JsonSerializer.Deserialize(response.Body, UnderlayJsonContext.Default.ApiError)!;
        Assert.Equal(422, error.Code);
        Assert.Contains(error.Messages, m => m.StartsWith(field, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_param_value_violating_its_schema_gets_422_naming_the_param()
    {
        var ct = TestContext.Current.CancellationToken;
        await Admin.CreateAsync(new Param { Name = "limits/cores", Schema = Samples.Json("""{"type":"integer","minimum":1,"maximum":256}""") }, ct);
        var response = await Admin.SendAsync(HttpMethod.Post, "profiles", Encoding.UTF8.GetBytes("""{"Name":"too-many-cores","Params":{"limits/cores":1000}}"""), cancellationToken: ct);
        Assert.Equal((HttpStatusCode)422, response.Status);
        Assert.Contains("Params/limits/cores", response.Text, StringComparison.Ordinal);

        // The same rule holds through the params endpoint, and a valid value passes.
        var profile = await Admin.CreateAsync(new Profile { Name = "cores-ok" }, ct);
        var bad = await Admin.SendAsync(HttpMethod.Post, "profiles/cores-ok/params/limits/cores", Encoding.UTF8.GetBytes("\"many\""), cancellationToken: ct);
        Assert.Equal((HttpStatusCode)422, bad.Status);
        var good = await Admin.SetParamAsync(ModelTypes.Profiles, "cores-ok", "limits/cores", Samples.Json("64"), ct);
        Assert.Equal(64, good.GetInt32());
        Assert.Equal(64, (await Admin.GetParamAsync(ModelTypes.Profiles, profile.Key, "limits/cores", cancellationToken: ct)).GetInt32());
    }

    [Fact]
    public async Task Params_resolve_machine_then_profiles_then_global_then_schema_default()
    {
        var ct = TestContext.Current.CancellationToken;
        await Admin.CreateAsync(new Param { Name = "resolve/where", Schema = Samples.Json("""{"type":"string","default":"schema"}""") }, ct);
        await Admin.CreateAsync(new Profile { Name = "resolve-inner", Params = new() { ["resolve/where"] = Samples.Json("\"inner\"") } }, ct);
        await Admin.CreateAsync(new Profile { Name = "resolve-outer", Profiles = ["resolve-inner"] }, ct);
        var machine = await Admin.CreateAsync(new Machine { Name = "resolver.example.com", Profiles = ["resolve-outer"] }, ct);
        var bare = await Admin.CreateAsync(new Machine { Name = "bare.example.com" }, ct);

        Assert.Equal("inner", (await Admin.GetParamAsync(ModelTypes.Machines, machine.Key, "resolve/where", aggregate: true, ct)).GetString());
        Assert.Equal("schema", (await Admin.GetParamAsync(ModelTypes.Machines, bare.Key, "resolve/where", aggregate: true, ct)).GetString());
        await Admin.SetParamAsync(ModelTypes.Profiles, "global", "resolve/where", Samples.Json("\"global\""), ct);
        Assert.Equal("global", (await Admin.GetParamAsync(ModelTypes.Machines, bare.Key, "resolve/where", aggregate: true, ct)).GetString());
        Assert.Equal("inner", (await Admin.GetParamAsync(ModelTypes.Machines, machine.Key, "resolve/where", aggregate: true, ct)).GetString());
        await Admin.SetParamAsync(ModelTypes.Machines, machine.Key, "resolve/where", Samples.Json("\"machine\""), ct);
        Assert.Equal("machine", (await Admin.GetParamAsync(ModelTypes.Machines, machine.Key, "resolve/where", aggregate: true, ct)).GetString());
        await Admin.SetParamAsync(ModelTypes.Profiles, "global", "resolve/where", Samples.Json("\"schema\""), ct);
    }

    [Fact]
    public async Task Secrets_never_leave_the_server()
    {
        var ct = TestContext.Current.CancellationToken;
        var users = await Admin.SendAsync(HttpMethod.Get, "users", cancellationToken: ct);
        Assert.DoesNotContain("PasswordHash", users.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("pbkdf2", users.Text, StringComparison.Ordinal);
        var machine = await Admin.CreateAsync(new Machine { Name = "secret-holder.example.com" }, ct);
        var raw = await Admin.SendAsync(HttpMethod.Get, $"machines/{machine.Key}", cancellationToken: ct);
        Assert.DoesNotContain("\"Secret\"", raw.Text, StringComparison.Ordinal);
    }

    internal static string Canonical(ModelType type, ModelBase model) => Encoding.UTF8.GetString(type.SerializeForOutput(model));
}
