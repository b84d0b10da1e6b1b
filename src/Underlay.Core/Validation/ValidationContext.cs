using Underlay.Core.Models;

namespace Underlay.Core.Validation;

/// <summary>Whether a dangling reference rejects the write (API) or only makes the object unavailable (content).</summary>
public enum ValidationMode
{
    /// <summary>A write through the API or a service: dangling references are errors (422).</summary>
    Write,

    /// <summary>An object loaded from a content pack: references to objects of other packs may dangle.</summary>
    Content,
}

/// <summary>Collects what validation finds about one object.</summary>
public sealed class ValidationContext
{
    private readonly List<string> _invalid = [];
    private readonly List<string> _unavailable = [];

    public ValidationContext(IObjectLookup lookup, ValidationMode mode, ModelBase? original = null)
    {
        Lookup = lookup;
        Mode = mode;
        Original = original;
    }

    public IObjectLookup Lookup { get; }

    public ValidationMode Mode { get; }

    /// <summary>The stored version being replaced, or null for a create.</summary>
    public ModelBase? Original { get; }

    public IReadOnlyList<string> InvalidReasons => _invalid;

    public IReadOnlyList<string> UnavailableReasons => _unavailable;

    public bool IsValid => _invalid.Count == 0;

    /// <summary>Records a structural error; the message names the field.</summary>
    public void Invalid(string field, string message) => _invalid.Add($"{field}: {message}");

    /// <summary>Records a reason the object cannot be used yet (missing kernel, dangling content reference).</summary>
    public void Unavailable(string field, string message) => _unavailable.Add($"{field}: {message}");

    /// <summary>A reference to an object that does not exist: invalid for writes, unavailable for content.</summary>
    public void MissingReference(string field, string singular, string key)
    {
        var message = $"{singular} '{key}' does not exist";
        if (Mode == ValidationMode.Write)
        {
            Invalid(field, message);
        }
        else
        {
            Unavailable(field, message);
        }
    }

    /// <summary>Copies the outcome onto the object's Validated/Available/Errors fields.</summary>
    public void ApplyTo(ModelBase model)
    {
        model.Validated = _invalid.Count == 0;
        model.Available = model.Validated && _unavailable.Count == 0;
        model.Errors = [.. _invalid, .. _unavailable];
    }
}

/// <summary>A validation step contributed by a project that knows more than Core (template parsing, file presence).</summary>
public interface IModelRule
{
    void Validate(ModelBase model, ValidationContext context);
}
