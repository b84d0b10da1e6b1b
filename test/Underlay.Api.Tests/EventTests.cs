using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;

namespace Underlay.Api.Tests;

public sealed class EventTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public EventTests(ServerFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task A_websocket_subscriber_receives_exactly_the_events_matching_its_registrations()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        var watched = await admin.CreateAsync(new Machine { Name = "watched.example.com" }, ct);
        var ignored = await admin.CreateAsync(new Machine { Name = "ignored.example.com" }, ct);

        await using var events = await EventCollector.StartAsync(admin, ["profiles.create.*", $"machines.update.{watched.Key}", "profiles.delete.ev-b"], ct);
        await events.SynchronizeAsync(async i => (await admin.CreateAsync(new Profile { Name = $"ev-ready{i}" }, ct)).Key, ct);

        await admin.CreateAsync(new Profile { Name = "ev-a" }, ct);                                                       // yes
        await admin.PatchAsync(ModelTypes.Machines, watched.Key, """[{"op":"add","path":"/Description","value":"1"}]""", ct);  // yes
        await admin.PatchAsync(ModelTypes.Machines, ignored.Key, """[{"op":"add","path":"/Description","value":"1"}]""", ct);  // no: other key
        await admin.PatchAsync(ModelTypes.Profiles, "ev-a", """[{"op":"add","path":"/Description","value":"1"}]""", ct);       // no: update
        await admin.CreateAsync(new Profile { Name = "ev-b" }, ct);                                                       // yes
        await admin.DeleteAsync(ModelTypes.Profiles, "ev-a", ct);                                                         // no: other key
        await admin.DeleteAsync(ModelTypes.Profiles, "ev-b", ct);                                                         // yes
        await admin.CreateAsync(new Stage { Name = "ev-stage" }, ct);                                                     // no: type
        await admin.CreateAsync(new Profile { Name = "ev-end" }, ct);                                                     // yes: the marker

        var received = new List<(string, string, string)>();
        while (received.LastOrDefault() != ("profiles", "create", "ev-end"))
        {
            var next = await events.NextAsync(TimeSpan.FromSeconds(30), ct);
            Assert.NotNull(next);
            received.Add((next.Type, next.Action, next.Key));
        }

        Assert.Equal(
        [
            ("profiles", "create", "ev-a"),
            ("machines", "update", watched.Key),
            ("profiles", "create", "ev-b"),
            ("profiles", "delete", "ev-b"),
            ("profiles", "create", "ev-end"),
        ], received);
        Assert.Null(await events.NextAsync(TimeSpan.FromMilliseconds(300), ct));
    }

    [Fact]
    public async Task Events_carry_the_object_the_original_and_the_principal()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        await admin.CreateAsync(new Profile { Name = "ev-original", Description = "old" }, ct);
        await using var events = await EventCollector.StartAsync(admin, ["profiles.update.ev-original", "profiles.create.*"], ct);
        await events.SynchronizeAsync(async i => (await admin.CreateAsync(new Profile { Name = $"ev-original-ready{i}" }, ct)).Key, ct);
        await admin.PatchAsync(ModelTypes.Profiles, "ev-original", """[{"op":"replace","path":"/Description","value":"new"}]""", ct);
        var update = await events.NextAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(("profiles", "update", "ev-original"), (update!.Type, update.Action, update.Key));
        Assert.Equal("new", update.Object!.Value.GetProperty("Description").GetString());
        Assert.Equal("old", update.Original!.Value.GetProperty("Description").GetString());
        Assert.Equal("admin", update.Principal);
        Assert.True(update.Time > DateTime.UtcNow.AddMinutes(-5));
    }

    [Fact]
    public async Task Subscribers_only_see_events_their_claims_allow()
    {
        var ct = TestContext.Current.CancellationToken;
        var admin = _fixture.Admin;
        var mine = await admin.CreateAsync(new Machine { Name = "ev-mine.example.com" }, ct);
        var other = await admin.CreateAsync(new Machine { Name = "ev-other.example.com" }, ct);
        var token = await admin.MachineTokenAsync(mine.Key, cancellationToken: ct);
        using var agent = _fixture.Server.Client(token: token.Token);
        await using var events = await EventCollector.StartAsync(agent, ["machines.*.*"], ct);
        await events.SynchronizeAsync(async i =>
        {
            await admin.PatchAsync(ModelTypes.Machines, mine.Key, $$"""[{"op":"add","path":"/Description","value":"ready{{i}}"}]""", ct);
            return mine.Key;
        }, ct);
        await admin.PatchAsync(ModelTypes.Machines, other.Key, """[{"op":"add","path":"/Description","value":"x"}]""", ct);
        await admin.PatchAsync(ModelTypes.Machines, mine.Key, """[{"op":"add","path":"/Description","value":"done"}]""", ct);
        while (true)
        {
            var next = await events.NextAsync(TimeSpan.FromSeconds(30), ct);
            Assert.NotNull(next);
            Assert.Equal(mine.Key, next.Key);
            if (next.Object!.Value.GetProperty("Description").GetString() == "done")
            {
                break;
            }
        }
    }
}
