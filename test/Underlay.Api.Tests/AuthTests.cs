using System.Net;
using System.Text;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Api.Tests;

public sealed class AuthTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public AuthTests(ServerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task Requests_without_credentials_get_401()
    {
        var ct = TestContext.Current.CancellationToken;
        using var anonymous = _fixture.Server.Client();
        foreach (var path in new[] { "machines", "info", "profiles/global", "contents", "prefs" })
        {
            var response = await anonymous.SendAsync(HttpMethod.Get, path, cancellationToken: ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
            Assert.NotNull(response.Headers.WwwAuthenticate.FirstOrDefault());
        }

        using var wrong = _fixture.Server.Client("admin", "not-the-password");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct)).Status);
        using var forged = _fixture.Server.Client(token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct)).Status);
    }

    [Fact]
    public async Task A_user_with_a_narrow_role_gets_403_outside_its_claims()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        await admin.CreateAsync(new Role { Name = "profile-reader", Claims = [new Claim { Scope = "profiles", Action = "get,list", Specific = "*" }] }, ct);
        await admin.CreateAsync(new User { Name = "narrow", Roles = ["profile-reader"] }, ct);
        UnderlayClient.EnsureSuccess(await admin.SendAsync(HttpMethod.Put, "users/narrow/password", Encoding.UTF8.GetBytes("""{"Password":"narrow-password-1"}"""), cancellationToken: ct));
        await admin.CreateAsync(new Machine { Name = "hidden.example.com" }, ct);

        using var narrow = _fixture.Server.Client("narrow", "narrow-password-1");
        Assert.Equal(HttpStatusCode.OK, (await narrow.SendAsync(HttpMethod.Get, "profiles", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.OK, (await narrow.SendAsync(HttpMethod.Get, "profiles/global", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.SendAsync(HttpMethod.Get, "machines/Name:hidden.example.com", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.SendAsync(HttpMethod.Post, "profiles", Encoding.UTF8.GetBytes("""{"Name":"sneaky"}"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.SendAsync(HttpMethod.Patch, "profiles/global", Encoding.UTF8.GetBytes("""[{"op":"add","path":"/Description","value":"x"}]"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await narrow.SendAsync(HttpMethod.Get, "users/admin/token", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.SendAsync(HttpMethod.Get, "profiles/sneaky", cancellationToken: ct)).Status);
    }

    [Fact]
    public async Task Field_level_update_claims_allow_only_those_fields()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        await admin.CreateAsync(new Role { Name = "describer", Claims = [new Claim { Scope = "profiles", Action = "get,update:/Description", Specific = "*" }] }, ct);
        await admin.CreateAsync(new User { Name = "describer", Roles = ["describer"] }, ct);
        UnderlayClient.EnsureSuccess(await admin.SendAsync(HttpMethod.Put, "users/describer/password", Encoding.UTF8.GetBytes("""{"Password":"describer-pass"}"""), cancellationToken: ct));
        await admin.CreateAsync(new Profile { Name = "described" }, ct);
        using var client = _fixture.Server.Client("describer", "describer-pass");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Patch, "profiles/described", Encoding.UTF8.GetBytes("""[{"op":"add","path":"/Description","value":"ok"}]"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(HttpMethod.Patch, "profiles/described", Encoding.UTF8.GetBytes("""[{"op":"add","path":"/Meta/x","value":"no"}]"""), cancellationToken: ct)).Status);
    }

    [Fact]
    public async Task Basic_credentials_exchange_for_a_bearer_token_and_a_new_password_revokes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        await admin.CreateAsync(new User { Name = "rotator", Roles = ["superuser"] }, ct);
        UnderlayClient.EnsureSuccess(await admin.SendAsync(HttpMethod.Put, "users/rotator/password", Encoding.UTF8.GetBytes("""{"Password":"first-password"}"""), cancellationToken: ct));
        using var basic = _fixture.Server.Client("rotator", "first-password");
        var token = await basic.UserTokenAsync("rotator", "10m", ct);
        Assert.True(token.ExpiresAt > DateTime.UtcNow.AddMinutes(9) && token.ExpiresAt < DateTime.UtcNow.AddMinutes(11));
        using var bearer = _fixture.Server.Client(token: token.Token);
        Assert.Equal(HttpStatusCode.OK, (await bearer.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct)).Status);

        UnderlayClient.EnsureSuccess(await admin.SendAsync(HttpMethod.Put, "users/rotator/password", Encoding.UTF8.GetBytes("""{"Password":"second-password"}"""), cancellationToken: ct));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct)).Status);
        using var oldBasic = _fixture.Server.Client("rotator", "first-password");
        Assert.Equal(HttpStatusCode.Unauthorized, (await oldBasic.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct)).Status);
    }

    [Fact]
    public async Task The_first_start_password_file_is_private_and_there_is_no_default_password()
    {
        var file = Path.Combine(_fixture.Server.DataDirectory, "secrets", "admin-password");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_fixture.Server.DataDirectory, "tls", "server.key")));
        Assert.True(_fixture.Server.AdminPassword.Length >= 20);
        Assert.Contains(_fixture.Server.AdminPassword, _fixture.Server.Output, StringComparison.Ordinal);
        foreach (var guess in new[] { "r0cketsk8ts", "admin", "password", "underlay" })
        {
            using var client = _fixture.Server.Client("admin", guess);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(HttpMethod.Get, "info", cancellationToken: TestContext.Current.CancellationToken)).Status);
        }
    }

    [Fact]
    public async Task Machine_tokens_reach_only_their_own_machine()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        var mine = await admin.CreateAsync(new Machine { Name = "token-owner.example.com" }, ct);
        var other = await admin.CreateAsync(new Machine { Name = "token-other.example.com" }, ct);
        var token = await admin.MachineTokenAsync(mine.Key, cancellationToken: ct);
        using var agent = _fixture.Server.Client(token: token.Token);
        Assert.Equal(HttpStatusCode.OK, (await agent.SendAsync(HttpMethod.Get, $"machines/{mine.Key}", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.OK, (await agent.SendAsync(HttpMethod.Patch, $"machines/{mine.Key}", Encoding.UTF8.GetBytes("""[{"op":"add","path":"/Description","value":"self"}]"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Get, $"machines/{other.Key}", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Patch, $"machines/{other.Key}", Encoding.UTF8.GetBytes("""[{"op":"add","path":"/Description","value":"x"}]"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Get, "users", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Post, "profiles", Encoding.UTF8.GetBytes("""{"Name":"nope"}"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Delete, $"machines/{mine.Key}", cancellationToken: ct)).Status);
        var list = UnderlayClient.EnsureSuccess(await agent.SendAsync(HttpMethod.Get, "machines", cancellationToken: ct));
        Assert.Contains(mine.Key, list.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(other.Key, list.Text, StringComparison.Ordinal);

        // Jobs: its own machine's only.
        await admin.CreateAsync(new Stage { Name = "token-stage", Tasks = ["noop"] }, ct);
        await admin.PatchAsync(ModelTypes.Machines, other.Key, """[{"op":"replace","path":"/Stage","value":"token-stage"},{"op":"replace","path":"/Runnable","value":true}]""", ct);
        var othersJob = UnderlayClient.EnsureSuccess(await admin.SendAsync(HttpMethod.Post, "jobs", Encoding.UTF8.GetBytes($$"""{"Machine":"{{other.Key}}"}"""), cancellationToken: ct));
        var othersJobId = System.Text.Json.JsonDocument.Parse(othersJob.Body).RootElement.GetProperty("Uuid").GetString();
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Post, "jobs", Encoding.UTF8.GetBytes($$"""{"Machine":"{{other.Key}}"}"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Get, $"jobs/{othersJobId}", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Patch, $"jobs/{othersJobId}", Encoding.UTF8.GetBytes("""[{"op":"replace","path":"/State","value":"running"}]"""), cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Put, $"jobs/{othersJobId}/log", Encoding.UTF8.GetBytes("forged"), "application/octet-stream", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.SendAsync(HttpMethod.Get, $"jobs/{othersJobId}/actions", cancellationToken: ct)).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await agent.SendAsync(HttpMethod.Post, "jobs", Encoding.UTF8.GetBytes($$"""{"Machine":"{{mine.Key}}"}"""), cancellationToken: ct)).Status);

        // Rotating the machine's secret revokes the token.
        await admin.PatchAsync(ModelTypes.Machines, mine.Key, """[{"op":"add","path":"/Secret","value":"rotated-secret"}]""", ct);
        Assert.Equal(HttpStatusCode.Unauthorized, (await agent.SendAsync(HttpMethod.Get, $"machines/{mine.Key}", cancellationToken: ct)).Status);
    }
}
