using System.Globalization;
using System.Runtime.CompilerServices;

namespace Underlay.Templates.Parsing;

/// <summary>One named template body: the main text or a {{define}}/{{block}}.</summary>
internal sealed class Tree(string name, ListNode root, SourceText source)
{
    public string Name { get; } = name;

    public ListNode Root { get; } = root;

    public SourceText Source { get; } = source;

    /// <summary>Go's IsEmptyTree: only whitespace text. An empty definition does not replace a real one.</summary>
    public bool IsEmpty
    {
        get
        {
            foreach (var n in Root.Nodes)
            {
                if (n is not TextNode t || !string.IsNullOrWhiteSpace(t.Text))
                {
                    return false;
                }
            }

            return true;
        }
    }
}

/// <summary>
/// A recursive-descent parser with the grammar and error messages of Go's text/template/parse. Unknown
/// functions and undefined variables are parse errors, as in Go; template names are resolved at execution.
/// </summary>
internal sealed class Parser
{
    /// <summary>Nesting beyond this is refused so hostile input cannot exhaust the stack.</summary>
    private const int MaxNesting = 1000;

    private readonly List<Token> _tokens;
    private readonly SourceText _source;
    private readonly Func<string, TemplateFunction?> _functions;
    private readonly Dictionary<string, Tree> _trees;
    private int _index;
    private int _nesting;
    private List<string> _vars = ["$"];
    private int _rangeDepth;
    private int _actionLine;

    private Parser(string name, string text, Func<string, TemplateFunction?> functions, Dictionary<string, Tree> trees)
    {
        _tokens = Lexer.Lex(text);
        _source = new SourceText(name, text);
        _functions = functions;
        _trees = trees;
    }

    /// <summary>Parses <paramref name="text"/>; returns the main tree under <paramref name="name"/> plus every
    /// {{define}} and {{block}} in it.</summary>
    public static Dictionary<string, Tree> Parse(string name, string text, Func<string, TemplateFunction?> functions)
    {
        var trees = new Dictionary<string, Tree>(StringComparer.Ordinal);
        var parser = new Parser(name, text, functions, trees);
        var root = parser.ParseTop();
        parser.AddTree(new Tree(name, root, parser._source));
        return trees;
    }

    private Token Next() => _tokens[Math.Min(_index++, _tokens.Count - 1)];

    private Token Peek() => _tokens[Math.Min(_index, _tokens.Count - 1)];

    private void Backup(int n = 1) => _index -= n;

    private Token NextNonSpace()
    {
        Token t;
        do
        {
            t = Next();
        }
        while (t.Type == TokenType.Space);
        return t;
    }

    private Token PeekNonSpace()
    {
        var t = NextNonSpace();
        Backup();
        return t;
    }

    private TemplateException Error(string message, int line = -1)
    {
        var token = _tokens[Math.Clamp(_index - 1, 0, _tokens.Count - 1)];
        if (line < 0)
        {
            line = token.Line;
        }

        // Go's message names only the line; the exception also carries the column of the token at fault.
        var column = token.Line == line ? _source.LineColumn(token.Pos).Column : 0;
        return new TemplateException(TemplateErrorKind.Parse, $"template: {_source.ParseName}:{line}: {message}", _source.ParseName, line, column);
    }

    private TemplateException Unexpected(Token token, string context)
    {
        if (token.Type == TokenType.Error)
        {
            var extra = "";
            if (_actionLine != 0 && _actionLine != token.Line)
            {
                extra = $" in action started at {_source.ParseName}:{_actionLine}";
                if (token.Value.EndsWith(" action", StringComparison.Ordinal))
                {
                    extra = extra[" in action".Length..];
                }
            }

            return Error(token.Value + extra, token.Line);
        }

        return Error($"unexpected {token} in {context}", token.Line);
    }

    private Token Expect(TokenType type, string context)
    {
        var t = NextNonSpace();
        if (t.Type != type)
        {
            throw Unexpected(t, context);
        }

        return t;
    }

    private void Enter()
    {
        if (++_nesting > MaxNesting || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Error("template nesting too deep");
        }
    }

    private void AddTree(Tree tree)
    {
        if (!_trees.TryGetValue(tree.Name, out var existing) || existing.IsEmpty)
        {
            _trees[tree.Name] = tree;
            return;
        }

        if (!tree.IsEmpty)
        {
            throw Error($"template: multiple definition of template {Values.GoFormat.Quote(tree.Name)}");
        }
    }

    private ListNode ParseTop()
    {
        var nodes = new List<Node>();
        var start = Peek().Pos;
        while (Peek().Type != TokenType.Eof)
        {
            if (Peek().Type == TokenType.LeftDelim)
            {
                var delimIndex = _index;
                Next();
                if (NextNonSpace().Type == TokenType.Define)
                {
                    ParseDefinition();
                    continue;
                }

                _index = delimIndex;
            }

            var n = TextOrAction();
            if (n is null)
            {
                continue;
            }

            if (n.Type is NodeType.End or NodeType.Else)
            {
                throw Error($"unexpected {n}");
            }

            nodes.Add(n);
        }

        return new ListNode(start, _source, [.. nodes]);
    }

    private void ParseDefinition()
    {
        const string context = "define clause";
        var nameToken = NextNonSpace();
        if (nameToken.Type is not (TokenType.String or TokenType.RawString))
        {
            throw Unexpected(nameToken, context);
        }

        if (!Lexer.TryUnquote(nameToken.Value, out var name))
        {
            throw Error("invalid syntax");
        }

        Expect(TokenType.RightDelim, context);
        var savedVars = _vars;
        _vars = ["$"];
        var (list, end) = ItemList();
        _vars = savedVars;
        if (end.Type != NodeType.End)
        {
            throw Error($"unexpected {end} in {context}");
        }

        AddTree(new Tree(name, list, _source));
    }

    /// <summary>textOrAction* up to {{end}} or {{else}}, which is returned separately.</summary>
    private (ListNode List, Node End) ItemList()
    {
        Enter();
        var nodes = new List<Node>();
        var start = PeekNonSpace().Pos;
        while (PeekNonSpace().Type != TokenType.Eof)
        {
            var n = TextOrAction();
            if (n is null)
            {
                continue;
            }

            if (n.Type is NodeType.End or NodeType.Else)
            {
                _nesting--;
                return (new ListNode(start, _source, [.. nodes]), n);
            }

            nodes.Add(n);
        }

        throw Error("unexpected EOF");
    }

    private Node? TextOrAction()
    {
        var token = NextNonSpace();
        switch (token.Type)
        {
            case TokenType.Text:
                return new TextNode(token.Pos, _source, token.Value);
            case TokenType.LeftDelim:
                _actionLine = token.Line;
                try
                {
                    return Action();
                }
                finally
                {
                    _actionLine = 0;
                }

            case TokenType.Comment:
                return null;
            default:
                throw Unexpected(token, "input");
        }
    }

    private Node Action()
    {
        var token = NextNonSpace();
        switch (token.Type)
        {
            case TokenType.Block:
                return BlockControl();
            case TokenType.Break:
                return LoopControl(token, NodeType.Break, "{{break}}");
            case TokenType.Continue:
                return LoopControl(token, NodeType.Continue, "{{continue}}");
            case TokenType.Else:
                return ElseControl();
            case TokenType.End:
                return new DelimiterNode(NodeType.End, Expect(TokenType.RightDelim, "end").Pos, _source);
            case TokenType.If:
                return Control(NodeType.If, "if");
            case TokenType.Range:
                return Control(NodeType.Range, "range");
            case TokenType.Template:
                return TemplateControl();
            case TokenType.With:
                return Control(NodeType.With, "with");
        }

        Backup();
        var pos = Peek().Pos;

        // Variables declared by a plain action persist until the enclosing {{end}}.
        return new ActionNode(pos, _source, Pipeline("command", TokenType.RightDelim));
    }

    private LoopControlNode LoopControl(Token keyword, NodeType type, string context)
    {
        var t = NextNonSpace();
        if (t.Type != TokenType.RightDelim)
        {
            throw Unexpected(t, context);
        }

        if (_rangeDepth == 0)
        {
            throw Error($"{context} outside {{{{range}}}}");
        }

        return new LoopControlNode(type, keyword.Pos, _source);
    }

    private DelimiterNode ElseControl()
    {
        // "else if" and "else with" leave the keyword pending for the enclosing control to chain.
        var peek = PeekNonSpace();
        if (peek.Type is TokenType.If or TokenType.With)
        {
            return new DelimiterNode(NodeType.Else, peek.Pos, _source);
        }

        var t = Expect(TokenType.RightDelim, "else");
        return new DelimiterNode(NodeType.Else, t.Pos, _source);
    }

    private BranchNode Control(NodeType type, string context)
    {
        var varMark = _vars.Count;
        try
        {
            var pipe = Pipeline(context, TokenType.RightDelim);
            if (type == NodeType.Range)
            {
                _rangeDepth++;
            }

            var (list, next) = ItemList();
            if (type == NodeType.Range)
            {
                _rangeDepth--;
            }

            ListNode? elseList = null;
            if (next.Type == NodeType.Else)
            {
                // {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}; "else with" likewise
                // (Go 1.23).
                var pending = Peek().Type;
                if ((type == NodeType.If && pending == TokenType.If) || (type == NodeType.With && pending == TokenType.With))
                {
                    Next();
                    Enter();
                    var chained = Control(type, context);
                    _nesting--;
                    elseList = new ListNode(next.Pos, _source, [chained]);
                }
                else
                {
                    Node end;
                    (elseList, end) = ItemList();
                    if (end.Type != NodeType.End)
                    {
                        throw Error($"expected end; found {end}");
                    }
                }
            }

            return new BranchNode(type, pipe.Pos, _source, pipe, list, elseList);
        }
        finally
        {
            _vars.RemoveRange(varMark, _vars.Count - varMark);
        }
    }

    private string TemplateName(Token token, string context)
    {
        if (token.Type is TokenType.String or TokenType.RawString)
        {
            if (!Lexer.TryUnquote(token.Value, out var s))
            {
                throw Error("invalid syntax");
            }

            return s;
        }

        throw Unexpected(token, context);
    }

    private TemplateNode BlockControl()
    {
        const string context = "block clause";
        var token = NextNonSpace();
        var name = TemplateName(token, context);
        var pipe = Pipeline(context, TokenType.RightDelim);
        var savedVars = _vars;
        var savedRange = _rangeDepth;
        _vars = ["$"];
        _rangeDepth = 0;
        var (list, end) = ItemList();
        _vars = savedVars;
        _rangeDepth = savedRange;
        if (end.Type != NodeType.End)
        {
            throw Error($"unexpected {end} in {context}");
        }

        AddTree(new Tree(name, list, _source));
        return new TemplateNode(token.Pos, _source, name, pipe);
    }

    private TemplateNode TemplateControl()
    {
        const string context = "template clause";
        var token = NextNonSpace();
        var name = TemplateName(token, context);
        PipeNode? pipe = null;
        if (NextNonSpace().Type != TokenType.RightDelim)
        {
            Backup();
            pipe = Pipeline(context, TokenType.RightDelim);
        }

        return new TemplateNode(token.Pos, _source, name, pipe);
    }

    private PipeNode Pipeline(string context, TokenType end)
    {
        Enter();
        var first = PeekNonSpace();
        var decl = new List<VariableNode>();
        var isAssign = false;
    decls:
        var v = PeekNonSpace();
        if (v.Type == TokenType.Variable)
        {
            var vIndex = _index;
            NextNonSpace();
            var afterVariable = Peek();
            var next = PeekNonSpace();
            if (next.Type is TokenType.Assign or TokenType.Declare)
            {
                isAssign = next.Type == TokenType.Assign;
                NextNonSpace();
                decl.Add(new VariableNode(v.Pos, _source, [v.Value]));
                _vars.Add(v.Value);
            }
            else if (next.Type == TokenType.Char && next.Value == ",")
            {
                NextNonSpace();
                decl.Add(new VariableNode(v.Pos, _source, [v.Value]));
                _vars.Add(v.Value);
                if (context == "range" && decl.Count < 2)
                {
                    if (PeekNonSpace().Type is TokenType.Variable or TokenType.RightDelim or TokenType.RightParen)
                    {
                        goto decls;
                    }

                    throw Error("range can only initialize variables");
                }

                throw Error($"too many declarations in {context}");
            }
            else
            {
                _ = afterVariable;
                _index = vIndex;
            }
        }

        var cmds = new List<CommandNode>();
        while (true)
        {
            var token = NextNonSpace();
            if (token.Type == end)
            {
                if (cmds.Count == 0)
                {
                    throw Error($"missing value for {context}");
                }

                for (var i = 1; i < cmds.Count; i++)
                {
                    if (cmds[i].Args[0].Type is NodeType.Bool or NodeType.Dot or NodeType.Nil or NodeType.Number or NodeType.String)
                    {
                        throw Error($"non executable command in pipeline stage {i + 1}");
                    }
                }

                _nesting--;
                return new PipeNode(first.Pos, _source, [.. decl], isAssign, [.. cmds]);
            }

            switch (token.Type)
            {
                case TokenType.Bool or TokenType.CharConstant or TokenType.Complex or TokenType.Dot or TokenType.Field
                    or TokenType.Identifier or TokenType.Number or TokenType.Nil or TokenType.RawString or TokenType.String
                    or TokenType.Variable or TokenType.LeftParen:
                    Backup();
                    cmds.Add(Command());
                    break;
                default:
                    throw Unexpected(token, context);
            }
        }
    }

    private CommandNode Command()
    {
        var pos = PeekNonSpace().Pos;
        var args = new List<Node>();
        while (true)
        {
            PeekNonSpace();
            var operand = Operand();
            if (operand is not null)
            {
                args.Add(operand);
            }

            var token = Next();
            if (token.Type == TokenType.Space)
            {
                continue;
            }

            if (token.Type is TokenType.RightDelim or TokenType.RightParen)
            {
                Backup();
            }
            else if (token.Type != TokenType.Pipe)
            {
                throw Unexpected(token, "operand");
            }

            break;
        }

        if (args.Count == 0)
        {
            throw Error("empty command");
        }

        return new CommandNode(pos, _source, [.. args]);
    }

    private Node? Operand()
    {
        var node = Term();
        if (node is null)
        {
            return null;
        }

        if (Peek().Type == TokenType.Field)
        {
            var chainPos = Peek().Pos;
            var fields = new List<string>();
            while (Peek().Type == TokenType.Field)
            {
                fields.Add(Next().Value[1..]);
            }

            switch (node)
            {
                case FieldNode f:
                    return new FieldNode(chainPos, _source, [.. f.Ident, .. fields]);
                case VariableNode v:
                    return new VariableNode(chainPos, _source, [.. v.Ident, .. fields]);
                case BoolNode or StringNode or NumberNode or NilNode or DotNode:
                    throw Error($"unexpected . after term {Values.GoFormat.Quote(node.ToString())}");
                default:
                    return new ChainNode(chainPos, _source, node, [.. fields]);
            }
        }

        return node;
    }

    private Node? Term()
    {
        var token = NextNonSpace();
        switch (token.Type)
        {
            case TokenType.Identifier:
                var fn = _functions(token.Value) ?? throw Error($"function {Values.GoFormat.Quote(token.Value)} not defined");
                return new IdentifierNode(token.Pos, _source, token.Value, fn);
            case TokenType.Dot:
                return new DotNode(token.Pos, _source);
            case TokenType.Nil:
                return new NilNode(token.Pos, _source);
            case TokenType.Variable:
                return UseVar(token);
            case TokenType.Field:
                return new FieldNode(token.Pos, _source, [token.Value[1..]]);
            case TokenType.Bool:
                return new BoolNode(token.Pos, _source, token.Value == "true");
            case TokenType.CharConstant or TokenType.Complex or TokenType.Number:
                return NewNumber(token);
            case TokenType.LeftParen:
                return Pipeline("parenthesized pipeline", TokenType.RightParen);
            case TokenType.String or TokenType.RawString:
                if (!Lexer.TryUnquote(token.Value, out var s))
                {
                    throw Error("invalid syntax");
                }

                return new StringNode(token.Pos, _source, token.Value, s);
        }

        Backup();
        return null;
    }

    private VariableNode UseVar(Token token)
    {
        var ident = token.Value.Split('.');
        foreach (var name in _vars)
        {
            if (name == ident[0])
            {
                return new VariableNode(token.Pos, _source, ident);
            }
        }

        throw Error($"undefined variable {Values.GoFormat.Quote(ident[0])}");
    }

    private NumberNode NewNumber(Token token)
    {
        var text = token.Value;
        if (token.Type == TokenType.CharConstant)
        {
            if (!Lexer.TryUnquote(text, out var ch) || ch.Length == 0)
            {
                throw Error("invalid syntax");
            }

            var rune = char.ConvertToUtf32(ch, 0);
            return new NumberNode(token.Pos, _source, text)
            {
                IsInt = true,
                IsUint = true,
                IsFloat = true,
                Int64 = rune,
                Uint64 = (ulong)rune,
                Float64 = rune,
                Constant = rune,
            };
        }

        if (token.Type == TokenType.Complex || text.EndsWith('i'))
        {
            return new NumberNode(token.Pos, _source, text) { IsComplex = true, ConstantError = "complex constants are not supported" };
        }

        var isUint = NumberParsing.TryParseUint(text, out var u);
        var isInt = NumberParsing.TryParseInt(text, out var i);
        var isFloat = false;
        double f = 0;
        if (isInt)
        {
            isFloat = true;
            f = i;
        }
        else if (isUint)
        {
            isFloat = true;
            f = u;
        }

        if (!isFloat && NumberParsing.TryParseFloat(text, out var pf))
        {
            if (text.AsSpan().IndexOfAny(".eEpP") < 0 || NumberParsing.IsHex(text))
            {
                throw Error($"integer overflow: {Values.GoFormat.Quote(text)}");
            }

            isFloat = true;
            f = pf;
            if (!isInt && Math.Floor(f) == f && f >= long.MinValue && f < 9.2233720368547758E+18)
            {
                isInt = true;
                i = (long)f;
            }

            if (!isUint && Math.Floor(f) == f && f >= 0 && f < 1.8446744073709552E+19)
            {
                isUint = true;
                u = (ulong)f;
            }
        }

        if (!isInt && !isUint && !isFloat)
        {
            throw Error($"illegal number syntax: {Values.GoFormat.Quote(text)}");
        }

        object? constant = null;
        string? constantError = null;
        if (isFloat && !NumberParsing.IsHex(text) && text.AsSpan().IndexOfAny(".eEpP") >= 0)
        {
            constant = f;
        }
        else if (isInt)
        {
            constant = Values.GoValue.BoxInt(i);
        }
        else
        {
            constantError = $"{text} overflows int";
        }

        return new NumberNode(token.Pos, _source, text)
        {
            IsInt = isInt,
            IsUint = isUint,
            IsFloat = isFloat,
            Int64 = i,
            Uint64 = u,
            Float64 = f,
            Constant = constant,
            ConstantError = constantError,
        };
    }
}

/// <summary>Go's strconv number syntax (base prefixes, underscores, leading-zero octal).</summary>
internal static class NumberParsing
{
    private static readonly System.Buffers.SearchValues<char> s_floatChars = System.Buffers.SearchValues.Create("0123456789.eE+-");

    public static bool IsHex(string s) => s.Length > 2 && s[0] == '0' && s[1] is 'x' or 'X' && s.AsSpan().IndexOfAny('p', 'P') < 0;

    private static bool Digits(ReadOnlySpan<char> s, out int radix, out string digits)
    {
        radix = 10;
        var prefixed = false;
        if (s.Length > 1 && s[0] == '0')
        {
            switch (s[1])
            {
                case 'x' or 'X':
                    radix = 16;
                    s = s[2..];
                    prefixed = true;
                    break;
                case 'o' or 'O':
                    radix = 8;
                    s = s[2..];
                    prefixed = true;
                    break;
                case 'b' or 'B':
                    radix = 2;
                    s = s[2..];
                    prefixed = true;
                    break;
                default:
                    radix = 8;
                    s = s[1..];
                    prefixed = true;
                    break;
            }
        }

        digits = "";
        if (s.Length == 0)
        {
            return false;
        }

        if (s.Contains('_'))
        {
            // Underscores only between digits and only with a base prefix (Go's underscoreOK).
            if ((!prefixed && s[0] == '_') || s[^1] == '_' || s.IndexOf("__") >= 0)
            {
                return false;
            }

            digits = s.ToString().Replace("_", "", StringComparison.Ordinal);
        }
        else
        {
            digits = s.ToString();
        }

        return digits.Length > 0;
    }

    public static bool TryParseUint(string text, out ulong value)
    {
        value = 0;
        var s = text.AsSpan();
        if (s.Length > 0 && s[0] == '+')
        {
            s = s[1..];
        }

        if (s.Length == 0 || s[0] == '-')
        {
            return false;
        }

        if (s.Length == 1 && s[0] == '0')
        {
            return true;
        }

        if (!Digits(s, out var radix, out var digits))
        {
            return false;
        }

        foreach (var c in digits)
        {
            var d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= radix)
            {
                return false;
            }

            var next = unchecked((value * (ulong)radix) + (ulong)d);
            if (value > ulong.MaxValue / (ulong)radix || next < value * (ulong)radix)
            {
                return false;
            }

            value = next;
        }

        return true;
    }

    public static bool TryParseInt(string text, out long value)
    {
        value = 0;
        var neg = text.StartsWith('-');
        var body = neg || text.StartsWith('+') ? text[1..] : text;
        if (body.StartsWith('-') || body.StartsWith('+') || !TryParseUint(body, out var u))
        {
            return false;
        }

        if (neg)
        {
            if (u > 9223372036854775808UL)
            {
                return false;
            }

            value = unchecked(-(long)u);
            return true;
        }

        if (u > long.MaxValue)
        {
            return false;
        }

        value = (long)u;
        return true;
    }

    public static bool TryParseFloat(string text, out double value)
    {
        value = 0;
        var s = text;
        if (s.Contains('_', StringComparison.Ordinal))
        {
            return false;
        }

        if (s.Contains("0x", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseHexFloat(s, out value);
        }

        if (s.Length == 0 || s.AsSpan().IndexOfAnyExcept(s_floatChars) >= 0)
        {
            return false;
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Go's hexadecimal floating-point literal: 0x1.8p3 = 1.5 × 2³. The p exponent is mandatory.</summary>
    private static bool TryParseHexFloat(string s, out double value)
    {
        value = 0;
        var neg = s.StartsWith('-');
        var body = neg || s.StartsWith('+') ? s[1..] : s;
        if (!body.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        body = body[2..];
        var p = body.IndexOfAny(['p', 'P']);
        if (p < 0)
        {
            return false;
        }

        double mantissa = 0;
        var scale = 0;
        var seenDot = false;
        var digits = 0;
        foreach (var c in body.AsSpan(0, p))
        {
            if (c == '.' && !seenDot)
            {
                seenDot = true;
                continue;
            }

            var d = char.IsAsciiDigit(c) ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
            {
                return false;
            }

            mantissa = (mantissa * 16) + d;
            digits++;
            if (seenDot)
            {
                scale -= 4;
            }
        }

        if (digits == 0 || !int.TryParse(body.AsSpan(p + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exp))
        {
            return false;
        }

        value = Math.ScaleB(mantissa, exp + scale);
        if (neg)
        {
            value = -value;
        }

        return true;
    }
}
