using Underlay.Templates.Execution;

namespace Underlay.Templates;

/// <summary>The body of a host-supplied template function.</summary>
/// <param name="args">The evaluated arguments (Go nil arrives as <see langword="null"/>).</param>
/// <returns>The result, in the engine's value model (see <see cref="ITemplateObject"/>).</returns>
public delegate object? TemplateFunctionBody(ReadOnlySpan<object?> args);

internal delegate object? BuiltinBody(RenderContext context, ReadOnlySpan<object?> args);

/// <summary>How a built-in's parameter is typed, so Go's argument checks ("expected string; found 5",
/// "wrong type for value; expected int; got float64") can be reproduced.</summary>
internal enum ParamKind : byte
{
    /// <summary>interface{}: anything; invalid values arrive as null.</summary>
    Any,

    /// <summary>reflect.Value (Go's own builtins): anything; invalid values arrive as <see cref="Values.NoValue"/>.</summary>
    Reflect,
    String,
    Int,
    Bool,
    Float64,

    /// <summary>map[string]interface{}: a map; nil is allowed.</summary>
    Map,

    /// <summary>[]string: a list whose elements are strings (Go rejects other slice types).</summary>
    StringList,
}

/// <summary>
/// A function callable from templates by name, like an entry of Go's <c>template.FuncMap</c>. Either a fixed
/// number of arguments (<c>MaxArgs == MinArgs</c>) or variadic (<c>MaxArgs == -1</c>), as Go functions are.
/// </summary>
public sealed class TemplateFunction
{
    private readonly TemplateFunctionBody? _hostBody;
    private readonly BuiltinBody? _builtinBody;

    /// <summary>Creates a host function.</summary>
    /// <param name="name">The identifier templates use.</param>
    /// <param name="minArgs">The number of fixed arguments.</param>
    /// <param name="variadic">Whether further arguments are allowed after the fixed ones.</param>
    /// <param name="body">The implementation; an exception becomes "error calling NAME: message".</param>
    public TemplateFunction(string name, int minArgs, bool variadic, TemplateFunctionBody body)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegative(minArgs);
        Name = name;
        MinArgs = minArgs;
        IsVariadic = variadic;
        _hostBody = body;
        Kinds = [];
    }

    internal TemplateFunction(string name, ParamKind[] kinds, bool variadic, BuiltinBody body)
    {
        Name = name;
        Kinds = kinds;
        MinArgs = variadic ? kinds.Length - 1 : kinds.Length;
        IsVariadic = variadic;
        _builtinBody = body;
    }

    /// <summary>The name templates call the function by.</summary>
    public string Name { get; }

    /// <summary>The number of fixed arguments.</summary>
    public int MinArgs { get; }

    /// <summary>Whether the function takes any number of arguments after the fixed ones.</summary>
    public bool IsVariadic { get; }

    /// <summary>Parameter kinds of a built-in; for variadic functions the last one repeats. Empty for host
    /// functions, whose parameters are all interface{}.</summary>
    internal ParamKind[] Kinds { get; }

    /// <summary>Go's and/or: arguments are evaluated lazily by the executor.</summary>
    internal bool IsShortCircuit { get; init; }

    internal ParamKind KindAt(int index)
    {
        var kinds = Kinds;
        if (kinds.Length == 0)
        {
            return ParamKind.Any;
        }

        return index < kinds.Length ? kinds[index] : kinds[^1];
    }

    internal object? Invoke(RenderContext context, ReadOnlySpan<object?> args) =>
        _builtinBody is not null ? _builtinBody(context, args) : _hostBody!(args);
}

/// <summary>Thrown by a template function to report an error the way a Go function returns one; the executor
/// turns it into "error calling NAME: message".</summary>
public sealed class TemplateFunctionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TemplateFunctionException()
    {
    }

    /// <summary>Creates the exception with the message Go would print after "error calling NAME: ".</summary>
    public TemplateFunctionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public TemplateFunctionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
