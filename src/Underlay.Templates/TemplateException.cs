namespace Underlay.Templates;

/// <summary>What went wrong in a <see cref="TemplateException"/>.</summary>
public enum TemplateErrorKind
{
    /// <summary>The text is not a valid template (Go's parse errors, including unknown functions).</summary>
    Parse,

    /// <summary>Execution failed as it would in Go (missing template, bad argument, function error...).</summary>
    Execution,

    /// <summary>A safety limit of <see cref="RenderOptions"/> was reached (output size, depth, operations, time).</summary>
    LimitExceeded,

    /// <summary>The render's cancellation token was signalled.</summary>
    Canceled,
}

/// <summary>
/// A parse or execution error, with the message Go's <c>text/template</c> would give
/// (<c>template: NAME:LINE: ...</c> for parse errors, <c>template: NAME:LINE:COL: executing "NAME" at &lt;.Foo&gt;: ...</c>
/// for execution errors).
/// </summary>
public sealed class TemplateException : Exception
{
    /// <summary>Creates an exception (for serializers and tests; the engine uses the detailed constructor).</summary>
    public TemplateException()
        : this(TemplateErrorKind.Execution, "template error", "", 0, 0)
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    public TemplateException(string message)
        : this(TemplateErrorKind.Execution, message, "", 0, 0)
    {
    }

    /// <summary>Creates an exception with a message and cause.</summary>
    public TemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
        TemplateName = "";
    }

    /// <summary>Creates a fully described exception.</summary>
    /// <param name="kind">The error class.</param>
    /// <param name="message">The full Go-style message.</param>
    /// <param name="templateName">The template whose text holds the failing position.</param>
    /// <param name="line">1-based line, or 0 if unknown.</param>
    /// <param name="column">0-based byte column as Go reports it (for parse errors, which Go reports by line only, the
    /// column of the token at fault).</param>
    /// <param name="innerException">The cause, if any.</param>
    public TemplateException(TemplateErrorKind kind, string message, string templateName, int line, int column, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        TemplateName = templateName;
        Line = line;
        Column = column;
    }

    /// <summary>The error class.</summary>
    public TemplateErrorKind Kind { get; }

    /// <summary>The name of the template whose text holds the failing position.</summary>
    public string TemplateName { get; }

    /// <summary>1-based line, or 0 if unknown.</summary>
    public int Line { get; }

    /// <summary>0-based byte column in the line (Go's convention), or 0 when unknown.</summary>
    public int Column { get; }
}
