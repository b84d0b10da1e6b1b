namespace Underlay.Templates;

/// <summary>What a missing map key yields, as Go's <c>Option("missingkey=...")</c>.</summary>
public enum MissingKeyMode
{
    /// <summary>Go's default (DRP uses it): an invalid value, printed as <c>&lt;no value&gt;</c>.</summary>
    Default,

    /// <summary>The zero value of the map's element type; for interface maps Go still prints <c>&lt;no value&gt;</c>.</summary>
    Zero,

    /// <summary>Execution stops with "map has no entry for key".</summary>
    Error,
}

/// <summary>
/// Per-render settings. Immutable: share one instance between renders and derive variants with <c>with</c>.
/// The limits bound hostile templates; every default is far above what DRP content needs.
/// </summary>
public sealed record RenderOptions
{
    /// <summary>The defaults: Go's missingkey=default and the limits documented on each property.</summary>
    public static RenderOptions Default { get; } = new();

    /// <summary>Missing map key behaviour.</summary>
    public MissingKeyMode MissingKey { get; init; } = MissingKeyMode.Default;

    /// <summary>Maximum output length in chars. Default 16 Mi: a kickstart or iPXE script is a few KiB.</summary>
    public long MaxOutputChars { get; init; } = 16L * 1024 * 1024;

    /// <summary>Maximum nesting of <c>{{template}}</c> calls. Go allows 100000 on its growable stacks; 100 is
    /// deep enough for DRP (setup.tmpl chains are a handful deep) and safe on a 1 MiB thread stack.</summary>
    public int MaxTemplateDepth { get; init; } = 100;

    /// <summary>Maximum execution steps (nodes walked, commands run, elements produced by functions such as
    /// <c>until</c> or <c>repeat</c>). Default 10 million: a typical DRP render takes a few thousand.</summary>
    public long MaxOperations { get; init; } = 10_000_000;

    /// <summary>Wall-clock limit for one render, checked with the operation budget; null for none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Cancels the render (checked every 1024 steps).</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Functions that replace, for this render, functions of the same name known to the engine at parse
    /// time (as Go's <c>Funcs</c> after <c>Parse</c> does). Names unknown at parse time are parse errors, so hosts
    /// add new functions through <see cref="TemplateEngineOptions.Functions"/>.</summary>
    public IReadOnlyDictionary<string, TemplateFunction>? Functions { get; init; }

    /// <summary>Named templates for <c>{{template "name"}}</c> that the rendered template does not define itself.</summary>
    public TemplateSet? Templates { get; init; }

    /// <summary>Consulted at execution time for <c>{{template "name"}}</c> names found neither in the rendered
    /// template nor in <see cref="Templates"/> (DRP resolves template IDs against its store this way). Return null
    /// for "not defined"; only a branch that executes such a call fails. Results are cached for the render.</summary>
    public Func<string, ParsedTemplate?>? ResolveTemplate { get; init; }
}

/// <summary>Settings fixed for the life of a <see cref="TemplateEngine"/>.</summary>
public sealed record TemplateEngineOptions
{
    /// <summary>Extra functions, added to Go's builtins and the Sprig set (and replacing any of the same name).
    /// They are known at parse time, so templates may call them.</summary>
    public IReadOnlyDictionary<string, TemplateFunction>? Functions { get; init; }

    /// <summary>How many parsed templates the cache keeps before it starts over. Default 4096.</summary>
    public int CacheCapacity { get; init; } = 4096;
}
