using System.Runtime.CompilerServices;
using System.Text;

namespace Underlay.Templates.Parsing;

/// <summary>The text a tree was parsed from, for error positions (Go's Tree.ParseName and text).</summary>
internal sealed class SourceText(string parseName, string text)
{
    public string ParseName { get; } = parseName;

    public string Text { get; } = text;

    /// <summary>Go's ErrorContext location: 1-based line and 0-based byte column of a position.</summary>
    public (int Line, int Column) LineColumn(int pos)
    {
        pos = Math.Clamp(pos, 0, Text.Length);
        var lastNewline = Text.LastIndexOf('\n', Math.Max(pos - 1, 0), pos);
        var line = 1;
        for (var i = 0; i < pos; i++)
        {
            if (Text[i] == '\n')
            {
                line++;
            }
        }

        var lineStart = lastNewline + 1;
        var column = Encoding.UTF8.GetByteCount(Text.AsSpan(lineStart, pos - lineStart));
        return (line, column);
    }
}

internal enum NodeType : byte
{
    Text,
    Action,
    If,
    Range,
    With,
    Template,
    Break,
    Continue,
    List,
    Pipe,
    Command,
    Field,
    Chain,
    Identifier,
    Variable,
    Dot,
    Nil,
    Bool,
    Number,
    String,
    Else,
    End,
}

/// <summary>A parse-tree node. Trees are immutable after parsing and shared by concurrent renders.</summary>
internal abstract class Node(int pos, SourceText source)
{
    public int Pos { get; } = pos;

    public SourceText Source { get; } = source;

    public abstract NodeType Type { get; }

    public abstract void WriteTo(StringBuilder sb);

    /// <summary>Printing recurses through nested pipelines; near the end of the stack it elides the rest, so an error
    /// raised because the stack ran low can still be described.</summary>
    protected static bool StackTooLow(StringBuilder sb)
    {
        if (RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            return false;
        }

        sb.Append("...");
        return true;
    }

    /// <summary>The node printed back as template text, as Go's Node.String() does (used in error context).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }
}

internal sealed class ListNode(int pos, SourceText source, Node[] nodes) : Node(pos, source)
{
    public Node[] Nodes { get; } = nodes;

    public override NodeType Type => NodeType.List;

    public override void WriteTo(StringBuilder sb)
    {
        if (StackTooLow(sb))
        {
            return;
        }

        foreach (var n in Nodes)
        {
            n.WriteTo(sb);
        }
    }
}

internal sealed class TextNode(int pos, SourceText source, string text) : Node(pos, source)
{
    public string Text { get; } = text;

    public override NodeType Type => NodeType.Text;

    public override void WriteTo(StringBuilder sb) => sb.Append(Text);
}

internal sealed class ActionNode(int pos, SourceText source, PipeNode pipe) : Node(pos, source)
{
    public PipeNode Pipe { get; } = pipe;

    public override NodeType Type => NodeType.Action;

    public override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{");
        Pipe.WriteTo(sb);
        sb.Append("}}");
    }
}

/// <summary>if, range and with.</summary>
internal sealed class BranchNode(NodeType type, int pos, SourceText source, PipeNode pipe, ListNode list, ListNode? elseList) : Node(pos, source)
{
    public override NodeType Type { get; } = type;

    public PipeNode Pipe { get; } = pipe;

    public ListNode List { get; } = list;

    public ListNode? ElseList { get; } = elseList;

    public override void WriteTo(StringBuilder sb)
    {
        if (StackTooLow(sb))
        {
            return;
        }

        var name = Type switch
        {
            NodeType.If => "if",
            NodeType.Range => "range",
            _ => "with",
        };
        sb.Append("{{").Append(name).Append(' ');
        Pipe.WriteTo(sb);
        sb.Append("}}");
        List.WriteTo(sb);
        if (ElseList is not null)
        {
            sb.Append("{{else}}");
            ElseList.WriteTo(sb);
        }

        sb.Append("{{end}}");
    }
}

internal sealed class TemplateNode(int pos, SourceText source, string name, PipeNode? pipe) : Node(pos, source)
{
    public string Name { get; } = name;

    public PipeNode? Pipe { get; } = pipe;

    public override NodeType Type => NodeType.Template;

    public override void WriteTo(StringBuilder sb)
    {
        sb.Append("{{template ").Append(Values.GoFormat.Quote(Name));
        if (Pipe is not null)
        {
            sb.Append(' ');
            Pipe.WriteTo(sb);
        }

        sb.Append("}}");
    }
}

internal sealed class LoopControlNode(NodeType type, int pos, SourceText source) : Node(pos, source)
{
    public override NodeType Type { get; } = type;

    public override void WriteTo(StringBuilder sb) => sb.Append(Type == NodeType.Break ? "{{break}}" : "{{continue}}");
}

/// <summary>{{else}} and {{end}}: only seen during parsing.</summary>
internal sealed class DelimiterNode(NodeType type, int pos, SourceText source) : Node(pos, source)
{
    public override NodeType Type { get; } = type;

    public override void WriteTo(StringBuilder sb) => sb.Append(Type == NodeType.Else ? "{{else}}" : "{{end}}");
}

internal sealed class PipeNode(int pos, SourceText source, VariableNode[] decl, bool isAssign, CommandNode[] cmds) : Node(pos, source)
{
    public VariableNode[] Decl { get; } = decl;

    public bool IsAssign { get; } = isAssign;

    public CommandNode[] Cmds { get; } = cmds;

    public override NodeType Type => NodeType.Pipe;

    public override void WriteTo(StringBuilder sb)
    {
        if (StackTooLow(sb))
        {
            return;
        }

        if (Decl.Length > 0)
        {
            for (var i = 0; i < Decl.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(", ");
                }

                Decl[i].WriteTo(sb);
            }

            sb.Append(" := ");
        }

        for (var i = 0; i < Cmds.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(" | ");
            }

            Cmds[i].WriteTo(sb);
        }
    }
}

internal sealed class CommandNode(int pos, SourceText source, Node[] args) : Node(pos, source)
{
    public Node[] Args { get; } = args;

    public override NodeType Type => NodeType.Command;

    public override void WriteTo(StringBuilder sb)
    {
        if (StackTooLow(sb))
        {
            return;
        }

        for (var i = 0; i < Args.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            if (Args[i] is PipeNode p)
            {
                sb.Append('(');
                p.WriteTo(sb);
                sb.Append(')');
                continue;
            }

            Args[i].WriteTo(sb);
        }
    }
}

internal sealed class FieldNode(int pos, SourceText source, string[] ident) : Node(pos, source)
{
    public string[] Ident { get; } = ident;

    public override NodeType Type => NodeType.Field;

    public override void WriteTo(StringBuilder sb)
    {
        foreach (var id in Ident)
        {
            sb.Append('.').Append(id);
        }
    }
}

internal sealed class ChainNode(int pos, SourceText source, Node node, string[] field) : Node(pos, source)
{
    public Node Node { get; } = node;

    public string[] Field { get; } = field;

    public override NodeType Type => NodeType.Chain;

    public override void WriteTo(StringBuilder sb)
    {
        if (StackTooLow(sb))
        {
            return;
        }

        if (Node is PipeNode)
        {
            sb.Append('(');
            Node.WriteTo(sb);
            sb.Append(')');
        }
        else
        {
            Node.WriteTo(sb);
        }

        foreach (var f in Field)
        {
            sb.Append('.').Append(f);
        }
    }
}

internal sealed class IdentifierNode(int pos, SourceText source, string ident, TemplateFunction function) : Node(pos, source)
{
    public string Ident { get; } = ident;

    /// <summary>The function the name had when the template was parsed; a render may override it.</summary>
    public TemplateFunction Function { get; } = function;

    public override NodeType Type => NodeType.Identifier;

    public override void WriteTo(StringBuilder sb) => sb.Append(Ident);
}

internal sealed class VariableNode(int pos, SourceText source, string[] ident) : Node(pos, source)
{
    public string[] Ident { get; } = ident;

    public override NodeType Type => NodeType.Variable;

    public override void WriteTo(StringBuilder sb) => sb.AppendJoin('.', Ident);
}

internal sealed class DotNode(int pos, SourceText source) : Node(pos, source)
{
    public override NodeType Type => NodeType.Dot;

    public override void WriteTo(StringBuilder sb) => sb.Append('.');
}

internal sealed class NilNode(int pos, SourceText source) : Node(pos, source)
{
    public override NodeType Type => NodeType.Nil;

    public override void WriteTo(StringBuilder sb) => sb.Append("nil");
}

internal sealed class BoolNode(int pos, SourceText source, bool value) : Node(pos, source)
{
    public bool Value { get; } = value;

    public object Boxed { get; } = value;

    public override NodeType Type => NodeType.Bool;

    public override void WriteTo(StringBuilder sb) => sb.Append(Value ? "true" : "false");
}

internal sealed class StringNode(int pos, SourceText source, string quoted, string text) : Node(pos, source)
{
    public string Quoted { get; } = quoted;

    public string Text { get; } = text;

    public override NodeType Type => NodeType.String;

    public override void WriteTo(StringBuilder sb) => sb.Append(Quoted);
}

/// <summary>A numeric constant with Go's untyped-constant facets (a constant can be int, uint and float at once).</summary>
internal sealed class NumberNode(int pos, SourceText source, string text) : Node(pos, source)
{
    public string Text { get; } = text;

    public bool IsInt { get; init; }

    public bool IsUint { get; init; }

    public bool IsFloat { get; init; }

    public bool IsComplex { get; init; }

    public long Int64 { get; init; }

    public ulong Uint64 { get; init; }

    public double Float64 { get; init; }

    /// <summary>The value an interface{} argument receives (Go's idealConstant), boxed once at parse time;
    /// null when that evaluation is an error (see <see cref="ConstantError"/>).</summary>
    public object? Constant { get; init; }

    public string? ConstantError { get; init; }

    public override NodeType Type => NodeType.Number;

    public override void WriteTo(StringBuilder sb) => sb.Append(Text);
}
