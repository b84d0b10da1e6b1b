using System.Collections.Frozen;

namespace Underlay.Templates.Functions;

/// <summary>The default function set: Go's builtins overlaid with Sprig, as DRP builds it (Sprig's
/// <c>slice</c> replaces Go's).</summary>
internal static class FunctionTable
{
    public static FrozenDictionary<string, TemplateFunction> Default { get; } = Build();

    private static FrozenDictionary<string, TemplateFunction> Build()
    {
        var f = new Dictionary<string, TemplateFunction>(StringComparer.Ordinal);
        GoBuiltins.Register(f);
        Sprig.Register(f);
        return f.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
