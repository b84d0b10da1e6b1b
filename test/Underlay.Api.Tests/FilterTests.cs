using System.Globalization;
using System.Net;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Api.Tests;

/// <summary>DRP's filter grammar on 1,200 machines, each result checked against a set computed independently here.</summary>
public sealed class FilterTests : IClassFixture<FilterTests.PopulatedServer>
{
    private const int Count = 1200;
    private readonly PopulatedServer _server;

    public FilterTests(PopulatedServer server) => _server = server;

    public sealed class PopulatedServer : IAsyncLifetime
    {
        private readonly ServerFixture _inner = new();

        public UnderlayClient Admin => _inner.Admin;

        /// <summary>What the test created, as plain values to compute expectations from.</summary>
        public List<(string Uuid, string Name, uint Address, bool Runnable, string Arch, int Rank)> Machines { get; } = [];

        public async ValueTask InitializeAsync()
        {
            await _inner.InitializeAsync();
            var ct = TestContext.Current.CancellationToken;
            await Admin.CreateAsync(new Param { Name = "rank", Schema = Samples.Json("""{"type":"integer"}""") }, ct);
            var random = new Random(20261125);
            var specs = Enumerable.Range(0, Count).Select(i =>
            {
                var address = (10u << 24) | (uint)(random.Next(0, 1 << 16) << 8) | (uint)random.Next(1, 255);
                return (Name: $"m{i:D4}.lab", Address: address, Runnable: i % 3 != 0, Arch: i % 4 == 0 ? "arm64" : "amd64", Rank: random.Next(0, 100));
            }).DistinctBy(s => s.Address).ToList();

            // Eight writers at once: realistic, and it exercises group commit.
            using var gate = new SemaphoreSlim(8);
            var tasks = specs.Select(async spec =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    var machine = await Admin.CreateAsync(new Machine
                    {
                        Name = spec.Name,
                        Address = Ip(spec.Address),
                        Runnable = spec.Runnable,
                        Arch = spec.Arch,
                        Params = new() { ["rank"] = Samples.Json(spec.Rank.ToString(CultureInfo.InvariantCulture)) },
                    }, ct);
                    lock (Machines)
                    {
                        Machines.Add((machine.Key, spec.Name, spec.Address, spec.Runnable, spec.Arch, spec.Rank));
                    }
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(tasks);
        }

        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }

    private static string Ip(uint value) => $"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}";

    private static uint Ip(string text) => text.Split('.').Select(uint.Parse).Aggregate(0u, (a, b) => (a << 8) | b);

    private async Task<(List<Machine> Items, string Count, string Total)> QueryAsync(string query)
    {
        var response = UnderlayClient.EnsureSuccess(await _server.Admin.SendAsync(HttpMethod.Get, "machines?" + query, cancellationToken: TestContext.Current.CancellationToken));
        using var document = JsonDocument.Parse(response.Body);
        var items = document.RootElement.EnumerateArray().Select(e => (Machine)ModelTypes.Machines.Deserialize(e, Core.Json.UnderlayJson.LenientInput)).ToList();
        return (items, response.Header("X-DRP-LIST-COUNT")!, response.Header("X-DRP-LIST-TOTAL-COUNT")!);
    }

    private async Task AssertSetAsync(string query, Func<(string Uuid, string Name, uint Address, bool Runnable, string Arch, int Rank), bool> expected)
    {
        var (items, count, _) = await QueryAsync(query);
        var want = _server.Machines.Where(expected).Select(m => m.Uuid).Order(StringComparer.Ordinal).ToList();
        var got = items.Select(m => m.Key).Order(StringComparer.Ordinal).ToList();
        Assert.True(want.Count > 0 && want.Count < _server.Machines.Count, $"{query}: the expected set must be a proper subset (was {want.Count})");
        Assert.Equal(want, got);
        Assert.Equal(want.Count.ToString(CultureInfo.InvariantCulture), count);
    }

    [Fact]
    public Task Eq_on_a_string_index() => AssertSetAsync("Name=Eq(m0042.lab)", m => m.Name == "m0042.lab");

    [Fact]
    public Task A_bare_value_means_Eq() => AssertSetAsync("Arch=arm64", m => m.Arch == "arm64");

    [Fact]
    public Task Ne_on_a_string_index() => AssertSetAsync("Arch=Ne(arm64)", m => m.Arch != "arm64");

    [Fact]
    public Task Lt_compares_addresses_numerically() => AssertSetAsync("Address=Lt(10.100.0.0)", m => m.Address < Ip("10.100.0.0"));

    [Fact]
    public Task Lte_compares_addresses_numerically() => AssertSetAsync($"Address=Lte({Ip(_server.Machines[7].Address)})", m => m.Address <= _server.Machines[7].Address);

    [Fact]
    public Task Gt_on_strings_is_lexical() => AssertSetAsync("Name=Gt(m0900.lab)", m => string.CompareOrdinal(m.Name, "m0900.lab") > 0);

    [Fact]
    public Task Gte_on_strings_is_lexical() => AssertSetAsync("Name=Gte(m0900.lab)", m => string.CompareOrdinal(m.Name, "m0900.lab") >= 0);

    [Fact]
    public Task Re_matches_a_regular_expression() => AssertSetAsync("Name=Re(^m0[0-4].7)", m => System.Text.RegularExpressions.Regex.IsMatch(m.Name, "^m0[0-4].7"));

    [Fact]
    public Task Between_is_inclusive() => AssertSetAsync("Address=Between(10.20.0.0,10.80.255.255)", m => m.Address >= Ip("10.20.0.0") && m.Address <= Ip("10.80.255.255"));

    [Fact]
    public Task Except_is_outside_the_range() => AssertSetAsync("Address=Except(10.20.0.0,10.80.255.255)", m => m.Address < Ip("10.20.0.0") || m.Address > Ip("10.80.255.255"));

    [Fact]
    public Task In_matches_any_listed_value() => AssertSetAsync("Name=In(m0001.lab,m0500.lab,m1199.lab,nobody)", m => m.Name is "m0001.lab" or "m0500.lab" or "m1199.lab");

    [Fact]
    public Task Nin_excludes_the_listed_values() => AssertSetAsync("Arch=Nin(amd64,ppc64le)", m => m.Arch is not ("amd64" or "ppc64le"));

    [Fact]
    public Task Booleans_filter() => AssertSetAsync("Runnable=false", m => !m.Runnable);

    [Fact]
    public Task Different_keys_and_together() => AssertSetAsync("Runnable=true&Arch=arm64", m => m.Runnable && m.Arch == "arm64");

    [Fact]
    public Task A_repeated_key_ors_its_values() => AssertSetAsync("Name=m0003.lab&Name=m0004.lab", m => m.Name is "m0003.lab" or "m0004.lab");

    [Fact]
    public Task A_non_index_key_filters_on_a_param_numerically() => AssertSetAsync("rank=Lt(10)", m => m.Rank < 10);

    [Fact]
    public async Task Sort_offset_limit_and_the_count_headers_are_right()
    {
        var (items, count, total) = await QueryAsync("Arch=amd64&sort=Address&reverse=true&offset=5&limit=20");
        var expected = _server.Machines.Where(m => m.Arch == "amd64").OrderByDescending(m => m.Address).Skip(5).Take(20).Select(m => m.Uuid).ToList();
        Assert.Equal(expected, items.Select(m => m.Key).ToList());
        Assert.Equal(_server.Machines.Count(m => m.Arch == "amd64").ToString(CultureInfo.InvariantCulture), count);
        Assert.Equal(_server.Machines.Count.ToString(CultureInfo.InvariantCulture), total);

        var byName = await QueryAsync("sort=Name&limit=3");
        Assert.Equal(_server.Machines.Select(m => m.Name).Order(StringComparer.Ordinal).Take(3), byName.Items.Select(m => m.Name));
    }

    [Fact]
    public async Task Head_returns_only_the_count_headers()
    {
        var response = await _server.Admin.SendAsync(HttpMethod.Head, "machines?Arch=arm64", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Empty(response.Body);
        Assert.Equal(_server.Machines.Count(m => m.Arch == "arm64").ToString(CultureInfo.InvariantCulture), response.Header("X-DRP-LIST-COUNT"));
    }

    [Fact]
    public async Task Slim_and_params_shape_the_output()
    {
        var slim = await _server.Admin.SendAsync(HttpMethod.Get, "machines?Name=m0001.lab&slim=Params,Meta", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("\"Params\":{}", slim.Text, StringComparison.Ordinal);
        var only = await _server.Admin.SendAsync(HttpMethod.Get, "machines?Name=m0001.lab&params=rank", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains("\"rank\"", only.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Address=Lt(not-an-ip)")]
    [InlineData("Name=Re([unclosed)")]
    [InlineData("sort=NoSuchIndex")]
    [InlineData("limit=abc")]
    [InlineData("Address=Between(10.0.0.1)")]
    public async Task Bad_filters_get_400_naming_the_filter(string query)
    {
        var response = await _server.Admin.SendAsync(HttpMethod.Get, "machines?" + query, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains(query.Split('=')[0], response.Text, StringComparison.Ordinal);
    }
}
