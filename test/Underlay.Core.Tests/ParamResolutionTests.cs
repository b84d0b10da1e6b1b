using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Core.Validation;

namespace Underlay.Core.Tests;

/// <summary>DRP's param precedence: machine → its profiles in order, recursively → stage → global → schema default.</summary>
public sealed class ParamResolutionTests
{
    private sealed class Objects : IObjectLookup
    {
        private readonly Dictionary<(string, string), ModelBase> _objects = [];

        public Objects Add(ModelBase model)
        {
            _objects[(model.Prefix, model.Key)] = model;
            return this;
        }

        public ModelBase? Get(ModelType type, string key) => _objects.GetValueOrDefault((type.Prefix, key));

        public IEnumerable<ModelBase> List(ModelType type) => _objects.Values.Where(m => m.Prefix == type.Prefix);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static Objects World() => new Objects()
        .Add(new Param { Name = "p", Schema = Json("""{"type":"string","default":"from-default"}""") })
        .Add(new Profile { Name = "global", Params = { ["p"] = Json("\"from-global\"") } })
        .Add(new Profile { Name = "inner", Params = { ["p"] = Json("\"from-inner\"") } })
        .Add(new Profile { Name = "outer", Profiles = ["inner"] })
        .Add(new Profile { Name = "second", Params = { ["p"] = Json("\"from-second\"") } })
        .Add(new Stage { Name = "st", Params = { ["p"] = Json("\"from-stage\"") } });

    private static string? Resolve(IObjectLookup lookup, Machine? machine) =>
        new ParamResolver(lookup).TryGet(machine, "p", out var value) ? value.GetString() : null;

    [Fact]
    public void Each_level_wins_over_the_ones_below_it()
    {
        var world = World();
        var machine = new Machine { Name = "m", Params = { ["p"] = Json("\"from-machine\"") }, Profiles = ["outer", "second"], Stage = "st" };
        Assert.Equal("from-machine", Resolve(world, machine));

        machine.Params.Clear();
        Assert.Equal("from-inner", Resolve(world, machine)); // first profile, through its own profile, before the second

        machine.Profiles = ["second", "outer"];
        Assert.Equal("from-second", Resolve(world, machine));

        machine.Profiles = [];
        Assert.Equal("from-stage", Resolve(world, machine));

        machine.Stage = "";
        Assert.Equal("from-global", Resolve(world, machine));

        var noGlobal = new Objects().Add(new Param { Name = "p", Schema = Json("""{"type":"string","default":"from-default"}""") });
        Assert.Equal("from-default", Resolve(noGlobal, machine));
        Assert.Null(Resolve(new Objects(), machine));
    }

    [Fact]
    public void Unknown_machines_resolve_from_global_and_defaults()
    {
        Assert.Equal("from-global", Resolve(World(), null));
    }

    [Fact]
    public void Profile_cycles_do_not_hang()
    {
        var world = new Objects()
            .Add(new Profile { Name = "a", Profiles = ["b"] })
            .Add(new Profile { Name = "b", Profiles = ["a"], Params = { ["p"] = Json("\"from-b\"") } });
        var machine = new Machine { Name = "m", Profiles = ["a"] };
        Assert.Equal("from-b", Resolve(world, machine));
    }
}
