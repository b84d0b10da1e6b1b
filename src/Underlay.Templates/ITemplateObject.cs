namespace Underlay.Templates;

/// <summary>
/// A host object in render data, the engine's stand-in for a Go struct with fields and methods. The engine never
/// uses reflection: <c>.Machine.Name</c> asks <see cref="TryGetField"/> for "Machine" on the root object and then
/// for "Name" on the result; <c>.Param "x"</c> and <c>.Env.PathFor "http" "/x"</c> ask <see cref="TryCallMethod"/>
/// with the evaluated arguments.
/// </summary>
/// <remarks>
/// Return values use the engine's value model: <c>null</c>, bool, string, integer and floating-point primitives,
/// <c>IReadOnlyDictionary&lt;string, object?&gt;</c>/<c>IDictionary&lt;string, object?&gt;</c> (Go maps),
/// <c>IList</c> (Go slices), other <see cref="ITemplateObject"/>s and <see cref="TemplateFunction"/>s.
/// An exception thrown from a method becomes a template error "error calling NAME: message", as a Go method
/// returning a non-nil error does. Implementations must be safe to call from concurrent renders if the same
/// object is shared between them.
/// </remarks>
public interface ITemplateObject
{
    /// <summary>Looks up a field (Go: exported struct field or niladic method). Called for every element of a
    /// field chain that is given no arguments.</summary>
    /// <param name="name">The identifier after the dot, case-sensitive as in Go.</param>
    /// <param name="value">The field's value.</param>
    /// <returns><see langword="false"/> if the object has no such field; the engine then tries
    /// <see cref="TryCallMethod"/> with no arguments.</returns>
    bool TryGetField(string name, out object? value);

    /// <summary>Calls a method (Go: a method with arguments, e.g. <c>.Param "name"</c>).</summary>
    /// <param name="name">The method name.</param>
    /// <param name="args">The evaluated arguments, including a piped value as the last argument.</param>
    /// <param name="result">The method's result.</param>
    /// <returns><see langword="false"/> if the object has no such method.</returns>
    bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result);
}
