using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store.Events;
using Underlay.Store.Persistence;
using Underlay.TestUtilities;

namespace Underlay.Store.Tests;

public sealed class StoreTests
{
    private static ObjectStore NewStore(IStorePersistence? persistence = null) =>
        new(persistence ?? new MemoryPersistence(), new ModelValidator(new ParamSchemas()), new EventBus(), TimeProvider.System, NullLogger<ObjectStore>.Instance);

    private static ContentPack Pack(string name, params (string Prefix, string Key, string Json)[] objects)
    {
        var pack = new ContentPack { Meta = new ContentMeta { Name = name, Version = "v1" } };
        foreach (var (prefix, key, json) in objects)
        {
            if (!pack.Sections.TryGetValue(prefix, out var section))
            {
                pack.Sections[prefix] = section = [];
            }

            section[key] = JsonDocument.Parse(json).RootElement.Clone();
        }

        return pack;
    }

    [Fact]
    public async Task An_uploaded_pack_shadows_a_built_in_object_and_deleting_it_brings_the_built_in_back()
    {
        await using var store = NewStore();
        var builtIn = Pack("base", ("stages", "discover", """{"Name":"discover","Description":"built in"}"""));
        await store.OpenAsync([builtIn], TestContext.Current.CancellationToken);
        Assert.Equal("built in", ((Stage)store.Get(ModelTypes.Stages, "discover")!).Description);

        var upload = Pack("community", ("stages", "discover", """{"Name":"discover","Description":"uploaded"}"""));
        var put = await store.PutContentAsync(upload, "test", TestContext.Current.CancellationToken);
        Assert.True(put.IsSuccess, put.ToString());
        Assert.Equal("uploaded", ((Stage)store.Get(ModelTypes.Stages, "discover")!).Description);
        Assert.Single(store.List(ModelTypes.Stages));
        Assert.Equal(1, store.Count(ModelTypes.Stages));

        // Two uploads may still not claim the same key.
        var rival = await store.PutContentAsync(Pack("rival", ("stages", "discover", """{"Name":"discover"}""")), "test", TestContext.Current.CancellationToken);
        Assert.Equal(409, rival.Code);
        Assert.Contains(rival.Messages, m => m.Contains("community", StringComparison.Ordinal));

        var deleted = await store.DeleteContentAsync("community", "test", TestContext.Current.CancellationToken);
        Assert.True(deleted.IsSuccess, deleted.ToString());
        Assert.Equal("built in", ((Stage)store.Get(ModelTypes.Stages, "discover")!).Description);
    }

    [Fact]
    public async Task Writes_with_a_stale_version_are_refused()
    {
        await using var store = NewStore();
        await store.OpenAsync([], TestContext.Current.CancellationToken);
        var created = await store.CreateAsync(new Profile { Name = "prof" }, "test", TestContext.Current.CancellationToken);
        Assert.True(created.IsSuccess, created.ToString());

        var first = await store.SaveAsync(new Profile { Name = "prof", Description = "one" }, created.Version, "test", TestContext.Current.CancellationToken);
        Assert.True(first.IsSuccess, first.ToString());
        var stale = await store.SaveAsync(new Profile { Name = "prof", Description = "two" }, created.Version, "test", TestContext.Current.CancellationToken);
        Assert.Equal(409, stale.Code);
        Assert.Equal("one", ((Profile)store.Get(ModelTypes.Profiles, "prof")!).Description);
    }

    [Fact]
    public async Task Sqlite_keeps_every_acknowledged_write_across_a_reopen()
    {
        var directory = RepoPaths.NewTempDirectory("store");
        try
        {
            var path = Path.Combine(directory, "underlay.db");
            await using (var store = NewStore(new SqlitePersistence(path)))
            {
                await store.OpenAsync([], TestContext.Current.CancellationToken);
                var writes = Enumerable.Range(0, 200).Select(i => store.CreateAsync(new Profile { Name = $"p{i}" }, "test", TestContext.Current.CancellationToken));
                Assert.All(await Task.WhenAll(writes), r => Assert.True(r.IsSuccess, r.ToString()));
                Assert.True((await store.DeleteAsync(ModelTypes.Profiles, "p7", null, "test", TestContext.Current.CancellationToken)).IsSuccess);
            }

            await using var reopened = NewStore(new SqlitePersistence(path));
            await reopened.OpenAsync([], TestContext.Current.CancellationToken);
            Assert.Equal(199, reopened.Count(ModelTypes.Profiles));
            Assert.Null(reopened.Get(ModelTypes.Profiles, "p7"));
            Assert.NotNull(reopened.Get(ModelTypes.Profiles, "p199"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
