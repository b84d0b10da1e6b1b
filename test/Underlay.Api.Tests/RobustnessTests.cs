using System.Net;
using System.Text;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Api.Tests;

/// <summary>Malformed input never crashes the server and never changes stored data.</summary>
public sealed class RobustnessTests : IClassFixture<ServerFixture>
{
    private readonly ServerFixture _fixture;

    public RobustnessTests(ServerFixture fixture) => _fixture = fixture;

    public static TheoryData<string, string, string, int> Hostile()
    {
        var deep = new string('[', 5000) + new string(']', 5000);
        var deepObject = "{\"Name\":\"deep\",\"Params\":{\"x\":" + string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200) + "}}";
        return new TheoryData<string, string, string, int>
        {
            { "POST", "profiles", "{\"Name\":\"broken\"", 400 },
            { "POST", "profiles", "not json at all", 400 },
            { "POST", "profiles", "{\"Name\":42}", 400 },
            { "POST", "profiles", "{\"Name\":\"types\",\"Profiles\":\"not-a-list\"}", 400 },
            { "POST", "machines", "{\"Name\":\"m\",\"CurrentTask\":\"one\"}", 400 },
            { "POST", "machines", "{\"Name\":\"m\",\"Uuid\":\"not-a-uuid\"}", 400 },
            { "POST", "profiles", "{\"Name\":\"unknown-field\",\"Colour\":\"red\"}", 400 },
            { "POST", "profiles", deep, 400 },
            { "POST", "profiles", deepObject, 400 },
            { "POST", "profiles", "", 400 },
            { "POST", "profiles", "null", 400 },
            { "POST", "profiles", "[]", 400 },
            { "PUT", "profiles/global", "{\"Name\":\"global\",\"Params\":[]}", 400 },
            { "PATCH", "profiles/global", "{\"op\":\"replace\"}", 400 },
            { "PATCH", "profiles/global", "[{\"op\":\"explode\",\"path\":\"/Name\"}]", 400 },
            { "PATCH", "profiles/global", "[{\"op\":\"replace\",\"path\":\"/Nope/deeper\",\"value\":1}]", 422 },
            { "PATCH", "profiles/global", "[{\"op\":\"add\",\"path\":\"/Unknown\",\"value\":1}]", 422 },
            { "PATCH", "profiles/global", "[{\"op\":\"replace\",\"path\":\"/Name\",\"value\":\"renamed\"}]", 422 },
            { "POST", "contents", "{\"meta\":{\"Name\":\"x\"},\"sections\":{\"machines\":{\"a\":{}}}}", 422 },
            { "POST", "contents", "meta: [unterminated", 400 },
            { "POST", "prefs", "{\"defaultBootEnv\":[1,2]}", 400 },
        };
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Malformed_requests_get_a_clear_error_and_change_nothing(string method, string path, string body, int expected)
    {
        var ct = TestContext.Current.CancellationToken;
        var before = await SnapshotAsync(ct);
        var response = await _fixture.Admin.SendAsync(new HttpMethod(method), path, Encoding.UTF8.GetBytes(body), cancellationToken: ct);
        Assert.Equal(expected, (int)response.Status);

        Assert.Contains("\"Messages\"", response.Text, StringComparison.Ordinal);
        Assert.Equal(before, await SnapshotAsync(ct));
    }

    [Fact]
    public async Task Ten_megabyte_bodies_are_refused_without_harm()
    {
        var ct = TestContext.Current.CancellationToken;
        var before = await SnapshotAsync(ct);
        var huge = Encoding.UTF8.GetBytes("{\"Name\":\"huge\",\"Description\":\"" + new string('x', 10 * 1024 * 1024) + "\"}");
        foreach (var (method, path) in new[] { ("POST", "profiles"), ("PUT", "profiles/global"), ("PATCH", "profiles/global"), ("POST", "profiles/global/params"), ("POST", "prefs") })
        {
            var response = await _fixture.Admin.SendAsync(new HttpMethod(method), path, huge, cancellationToken: ct);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        }

        Assert.Equal(before, await SnapshotAsync(ct));
        await _fixture.Admin.InfoAsync(ct);
    }

    [Fact]
    public async Task Random_garbage_from_many_clients_at_once_leaves_the_server_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        var before = await SnapshotAsync(ct);
        var random = new Random(7);
        var paths = new[] { "profiles", "machines", "profiles/global", "profiles/global/params", "contents", "prefs", "machines/Name:x", "subnets" };
        var methods = new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Patch };
        var requests = Enumerable.Range(0, 400).Select(async i =>
        {
            var bytes = new byte[random.Next(0, 4096)];
            random.NextBytes(bytes);
            try
            {
                return (int)(await _fixture.Admin.SendAsync(methods[i % methods.Length], paths[i % paths.Length], bytes, cancellationToken: ct)).Status;
            }
            catch (HttpRequestException)
            {
                // The server may answer (404) before reading a body and close the connection under the sender.
                return 0;
            }
        });
        var statuses = await Task.WhenAll(requests);
        Assert.All(statuses, s => Assert.True(s == 0 || s is >= 400 and < 500, $"status {s}"));
        Assert.True(statuses.Count(s => s != 0) > 300, $"only {statuses.Count(s => s != 0)} of 400 answered");
        Assert.Equal(before, await SnapshotAsync(ct));
    }

    /// <summary>Every writable object of every type, serialized; equal snapshots mean nothing changed.</summary>
    private async Task<string> SnapshotAsync(CancellationToken ct)
    {
        var text = new StringBuilder();
        foreach (var type in ModelTypes.All.Where(t => t != ModelTypes.Prefs))
        {
            var response = UnderlayClient.EnsureSuccess(await _fixture.Admin.SendAsync(HttpMethod.Get, type.Prefix, cancellationToken: ct));
            text.Append(type.Prefix).Append(':').Append(response.Text).Append('\n');
        }

        text.Append(UnderlayClient.EnsureSuccess(await _fixture.Admin.SendAsync(HttpMethod.Get, "prefs", cancellationToken: ct)).Text);
        return text.ToString();
    }
}
