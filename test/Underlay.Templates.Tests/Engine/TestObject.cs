namespace Underlay.Templates.Tests.Engine;

/// <summary>A host object for tests: fields and methods from dictionaries.</summary>
internal sealed class TestObject : ITemplateObject
{
    public Dictionary<string, object?> Fields { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Func<object?[], object?>> Methods { get; } = new(StringComparer.Ordinal);

    public bool TryGetField(string name, out object? value) => Fields.TryGetValue(name, out value);

    public bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
    {
        if (Methods.TryGetValue(name, out var m))
        {
            result = m(args.ToArray());
            return true;
        }

        result = null;
        return false;
    }

    public override string ToString() => "{TestObject}";
}
