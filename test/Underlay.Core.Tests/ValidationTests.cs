using System.Text.Json;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Core.Validation;

namespace Underlay.Core.Tests;

public sealed class ValidationTests
{
    private sealed class Objects(params ModelBase[] models) : IObjectLookup
    {
        public ModelBase? Get(ModelType type, string key) => models.FirstOrDefault(m => m.Prefix == type.Prefix && m.Key == key);

        public IEnumerable<ModelBase> List(ModelType type) => models.Where(m => m.Prefix == type.Prefix);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static readonly ModelValidator Validator = new(new ParamSchemas());

    [Fact]
    public void A_param_value_against_its_schema_is_checked_and_the_error_names_the_field()
    {
        var lookup = new Objects(new Param { Name = "count", Schema = Json("""{"type":"integer","minimum":1}""") });
        var good = new Profile { Name = "ok", Params = { ["count"] = Json("3") } };
        Assert.True(Validator.Validate(good, lookup, ValidationMode.Write).IsValid);

        var bad = new Profile { Name = "bad", Params = { ["count"] = Json("\"three\"") } };
        var result = Validator.Validate(bad, lookup, ValidationMode.Write);
        Assert.False(result.IsValid);
        Assert.Contains(result.InvalidReasons, r => r.Contains("count", StringComparison.Ordinal));
    }

    [Fact]
    public void A_bad_name_is_invalid_and_a_missing_reference_is_refused_on_write_but_tolerated_in_content()
    {
        var badName = Validator.Validate(new Profile { Name = "" }, new Objects(), ValidationMode.Write);
        Assert.False(badName.IsValid);
        Assert.Contains(badName.InvalidReasons, r => r.Contains("Name", StringComparison.Ordinal));

        var written = Validator.Validate(new Profile { Name = "p1", Profiles = ["nowhere"] }, new Objects(), ValidationMode.Write);
        Assert.False(written.IsValid);
        Assert.Contains(written.InvalidReasons, r => r.Contains("nowhere", StringComparison.Ordinal));

        var packed = new Profile { Name = "p2", Profiles = ["nowhere"] };
        var content = Validator.Validate(packed, new Objects(), ValidationMode.Content);
        Assert.True(content.IsValid, string.Join("; ", content.InvalidReasons));
        Assert.False(packed.Available);
        Assert.Contains(packed.Errors, e => e.Contains("nowhere", StringComparison.Ordinal));
    }
}
