using System.Text.Json.Serialization;

namespace Underlay.Core.Models;

/// <summary>
/// Fields every DRP v4 object carries (<c>models/validate.go</c>, <c>access.go</c>, <c>owner.go</c>, <c>bundle.go</c>).
/// Stored instances are treated as immutable: writers clone, change the clone and hand it back to the store.
/// </summary>
public abstract class ModelBase
{
    /// <summary>The object passed validation; invalid objects are never saved.</summary>
    [JsonPropertyOrder(-20)]
    public bool Validated { get; set; }

    /// <summary>The object is usable (a valid BootEnv whose kernel is missing is unavailable).</summary>
    [JsonPropertyOrder(-19)]
    public bool Available { get; set; }

    /// <summary>Human-readable reasons for <see cref="Validated"/> or <see cref="Available"/> being false.</summary>
    [JsonPropertyOrder(-18)]
    public List<string> Errors { get; set; } = [];

    /// <summary>The object comes from a content layer and cannot be changed through the API.</summary>
    [JsonPropertyOrder(-17)]
    public bool ReadOnly { get; set; }

    /// <summary>UX hints (icon, color, feature-flags); the server does not interpret them.</summary>
    [JsonPropertyOrder(-16)]
    public Dictionary<string, string> Meta { get; set; } = [];

    /// <summary>Owning endpoint in multi-site setups; empty for the local one.</summary>
    [JsonPropertyOrder(-15)]
    public string Endpoint { get; set; } = "";

    /// <summary>The content pack this object came from, or empty for writable objects.</summary>
    [JsonPropertyOrder(-14)]
    public string Bundle { get; set; } = "";

    /// <summary>The plural API prefix (<c>machines</c>, <c>bootenvs</c>, ...).</summary>
    [JsonIgnore]
    public abstract string Prefix { get; }

    /// <summary>The primary key as a string.</summary>
    [JsonIgnore]
    public abstract string Key { get; }

    /// <summary>Sets the primary key (used when the key comes from the URL or is generated).</summary>
    public abstract void SetKey(string key);

    /// <summary>Clears the derived fields before validation recomputes them.</summary>
    public void ResetValidation()
    {
        Validated = false;
        Available = false;
        Errors = [];
    }
}

/// <summary>Objects keyed by <c>Name</c> with the usual description fields.</summary>
public abstract class NamedModel : ModelBase
{
    [JsonPropertyOrder(-10)]
    public string Name { get; set; } = "";

    [JsonPropertyOrder(-9)]
    public string Description { get; set; } = "";

    [JsonPropertyOrder(-8)]
    public string Documentation { get; set; } = "";

    [JsonIgnore]
    public override string Key => Name;

    public override void SetKey(string key) => Name = key;
}

/// <summary>Objects whose params can be read and written through <c>/&lt;prefix&gt;/&lt;id&gt;/params</c>.</summary>
public interface IParamHolder
{
    Dictionary<string, System.Text.Json.JsonElement> Params { get; set; }
}

/// <summary>Objects that list profiles whose params apply to them, in order.</summary>
public interface IProfileHolder
{
    List<string> Profiles { get; set; }
}
