using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;
using Underlay.Templates.Execution;
using Underlay.Templates.Functions;
using Underlay.Templates.Parsing;

namespace Underlay.Templates;

/// <summary>
/// A Go <c>text/template</c>-compatible engine with the Sprig function set DRP content uses.
/// Parse once (results are cached by name and text), render many times concurrently: parsed templates are
/// immutable, and all per-render state lives in a per-thread context.
/// </summary>
/// <example>
/// <code>
/// var engine = TemplateEngine.Shared;
/// var t = engine.Parse("hello.tmpl", "Hello {{ .Name }}");
/// var text = engine.RenderToString(t, new Dictionary&lt;string, object?&gt; { ["Name"] = "world" });
/// </code>
/// </example>
public sealed class TemplateEngine
{
    private readonly FrozenDictionary<string, TemplateFunction> _functions;
    private readonly ConcurrentDictionary<(string Name, string Text), ParsedTemplate> _cache = new();

    // Hosts usually parse the same string instance again and again (a stored template's Contents); finding it by
    // reference skips hashing the whole text. Entries go away with the string.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<string, ParsedTemplate> _byInstance = new();
    private readonly int _cacheCapacity;

    /// <summary>Creates an engine with Go's builtins, the Sprig functions and <paramref name="options"/>' extras.</summary>
    public TemplateEngine(TemplateEngineOptions? options = null)
    {
        options ??= new TemplateEngineOptions();
        _cacheCapacity = Math.Max(1, options.CacheCapacity);
        if (options.Functions is { Count: > 0 } extra)
        {
            var merged = new Dictionary<string, TemplateFunction>(FunctionTable.Default, StringComparer.Ordinal);
            foreach (var (name, fn) in extra)
            {
                merged[name] = fn;
            }

            _functions = merged.ToFrozenDictionary(StringComparer.Ordinal);
        }
        else
        {
            _functions = FunctionTable.Default;
        }
    }

    /// <summary>A process-wide engine with the default function set.</summary>
    public static TemplateEngine Shared { get; } = new();

    /// <summary>Whether templates parsed by this engine may call <paramref name="name"/>.</summary>
    public bool HasFunction(string name) => _functions.ContainsKey(name);

    /// <summary>The names of all functions templates may call.</summary>
    public IEnumerable<string> FunctionNames => _functions.Keys;

    /// <summary>
    /// Parses <paramref name="text"/> as the template <paramref name="name"/>, or returns the cached result of an
    /// earlier identical call. Thread-safe.
    /// </summary>
    /// <param name="name">The template's name: errors cite it, and <c>{{template "name"}}</c> finds it by it.</param>
    /// <param name="text">The template source.</param>
    /// <returns>The immutable parsed template, including its {{define}}s and {{block}}s.</returns>
    /// <exception cref="TemplateException">The text is not a valid template (kind <see cref="TemplateErrorKind.Parse"/>),
    /// with Go's message, e.g. <c>template: t:3: function "nope" not defined</c>.</exception>
    public ParsedTemplate Parse(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        if (_byInstance.TryGetValue(text, out var same) && string.Equals(same.Name, name, StringComparison.Ordinal))
        {
            return same;
        }

        var key = (name, text);
        if (!_cache.TryGetValue(key, out var cached))
        {
            var parsed = ParseUncached(name, text);
            if (_cache.Count >= _cacheCapacity)
            {
                // Starting over is simpler than LRU and fine for a cache that, in DRP use, holds every template.
                _cache.Clear();
            }

            cached = _cache.GetOrAdd(key, parsed);
        }

        _byInstance.AddOrUpdate(text, cached);
        return cached;
    }

    /// <summary>Parses without consulting or filling the cache.</summary>
    public ParsedTemplate ParseUncached(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        var trees = Parser.Parse(name, text, n => _functions.TryGetValue(n, out var f) ? f : null);
        return new ParsedTemplate(name, text, trees);
    }

    /// <summary>Renders <paramref name="template"/> with <paramref name="data"/> as dot, appending to <paramref name="output"/>.</summary>
    /// <param name="template">A template from <see cref="Parse"/>.</param>
    /// <param name="data">The data (see <see cref="ITemplateObject"/> for the value model).</param>
    /// <param name="output">Receives the whole output, only if the render succeeds.</param>
    /// <param name="options">Limits, missingkey mode, template lookup; <see cref="RenderOptions.Default"/> if null.</param>
    /// <exception cref="TemplateException">Execution failed, a limit was reached, or the render was canceled.</exception>
    public void Render(ParsedTemplate template, object? data, StringBuilder output, RenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var ctx = Execute(template, data, options);
        try
        {
            output.Append(ctx.Output);
        }
        finally
        {
            RenderContext.Return(ctx);
        }
    }

    /// <inheritdoc cref="Render(ParsedTemplate, object?, StringBuilder, RenderOptions?)"/>
    public void Render(ParsedTemplate template, object? data, TextWriter output, RenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var ctx = Execute(template, data, options);
        try
        {
            output.Write(ctx.Output);
        }
        finally
        {
            RenderContext.Return(ctx);
        }
    }

    /// <inheritdoc cref="Render(ParsedTemplate, object?, StringBuilder, RenderOptions?)"/>
    public void Render(ParsedTemplate template, object? data, IBufferWriter<char> output, RenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var ctx = Execute(template, data, options);
        try
        {
            var src = ctx.Output;
            var span = output.GetSpan(src.Length);
            src.CopyTo(span);
            output.Advance(src.Length);
        }
        finally
        {
            RenderContext.Return(ctx);
        }
    }

    /// <summary>Renders to UTF-8 bytes (what the boot file server sends).</summary>
    public void Render(ParsedTemplate template, object? data, IBufferWriter<byte> output, RenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var ctx = Execute(template, data, options);
        try
        {
            var src = ctx.Output;
            var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(src.Length));
            var written = Encoding.UTF8.GetBytes(src, span);
            output.Advance(written);
        }
        finally
        {
            RenderContext.Return(ctx);
        }
    }

    /// <summary>Renders and returns the output as a string.</summary>
    /// <inheritdoc cref="Render(ParsedTemplate, object?, StringBuilder, RenderOptions?)"/>
    public string RenderToString(ParsedTemplate template, object? data, RenderOptions? options = null)
    {
        var ctx = Execute(template, data, options);
        try
        {
            return new string(ctx.Output);
        }
        finally
        {
            RenderContext.Return(ctx);
        }
    }

    /// <summary>Renders the template named <paramref name="name"/> in <paramref name="set"/>.</summary>
    /// <exception cref="TemplateException">No such template, or the render failed.</exception>
    public string RenderToString(TemplateSet set, string name, object? data, RenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (!set.TryGet(name, out var tree))
        {
            throw new TemplateException(TemplateErrorKind.Execution, $"template: no template {Values.GoFormat.Quote(name)} associated with template {Values.GoFormat.Quote(name)}", name, 0, 0);
        }

        options = (options ?? RenderOptions.Default) with { Templates = options?.Templates ?? set };
        var root = new ParsedTemplate(tree.Name, tree.Source.Text, new Dictionary<string, Tree> { [tree.Name] = tree });
        return RenderToString(root, data, options);
    }

    private RenderContext Execute(ParsedTemplate template, object? data, RenderOptions? options)
    {
        ArgumentNullException.ThrowIfNull(template);
        var ctx = RenderContext.Rent(this, template, options ?? RenderOptions.Default);
        try
        {
            ctx.Execute(template.Main, data);
            return ctx;
        }
        catch (InsufficientExecutionStackException ex)
        {
            RenderContext.Return(ctx);
            throw new TemplateException(TemplateErrorKind.LimitExceeded, $"template: {template.Name}: exceeded maximum template depth (stack exhausted)", template.Name, 0, 0, ex);
        }
        catch
        {
            RenderContext.Return(ctx);
            throw;
        }
    }
}
