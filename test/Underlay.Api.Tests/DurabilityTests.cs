using System.Collections.Concurrent;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.TestUtilities;

namespace Underlay.Api.Tests;

public sealed class DurabilityTests
{
    [Fact]
    public async Task Every_acknowledged_write_survives_a_kill_9_in_the_middle_of_a_stream_of_writes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await UnderlayServerProcess.StartNewAsync(cancellationToken: ct);
        var acknowledged = new ConcurrentBag<string>();
        var updated = new ConcurrentDictionary<string, string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using (var client = server.AdminClient())
        {
            // Eight writers create profiles and rewrite a description as fast as the server acknowledges them.
            var writers = Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
            {
                for (var i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        var name = $"w{writer}-{i}";
                        await client.CreateAsync(new Profile { Name = name, Description = "v1" }, stop.Token);
                        acknowledged.Add(name);
                        await client.PatchAsync(ModelTypes.Profiles, name, """[{"op":"replace","path":"/Description","value":"v2"}]""", stop.Token);
                        updated[name] = "v2";
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException or UnderlayApiException or TaskCanceledException)
                    {
                        return;
                    }
                }
            }, CancellationToken.None)).ToArray();

            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (acknowledged.Count < 300 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, ct);
            }

            await server.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.True(acknowledged.Count >= 300, $"only {acknowledged.Count} writes were acknowledged before the kill");
        await server.StartAsync(ct);
        using var after = server.AdminClient();
        var stored = (await after.ListAsync(ModelTypes.Profiles, cancellationToken: ct)).Cast<Profile>().ToDictionary(p => p.Name);
        var missing = acknowledged.Where(name => !stored.ContainsKey(name)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged creates lost, e.g. {string.Join(", ", missing.Take(5))}");
        var stale = updated.Keys.Where(name => stored[name].Description != "v2").ToList();
        Assert.True(stale.Count == 0, $"{stale.Count} acknowledged updates lost, e.g. {string.Join(", ", stale.Take(5))}");
    }
}
