using System.Globalization;
using System.Text;

namespace Underlay.Templates.Parsing;

internal enum TokenType : byte
{
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,

    // Keywords; their printed form is "<word>", as in Go.
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

internal readonly record struct Token(TokenType Type, int Pos, string Value, int Line)
{
    /// <summary>Go's item.String(), which parse errors quote.</summary>
    public override string ToString()
    {
        if (Type == TokenType.Eof)
        {
            return "EOF";
        }

        if (Type == TokenType.Error)
        {
            return Value;
        }

        if (Type > TokenType.Keyword)
        {
            return "<" + Value + ">";
        }

        if (Value.Length > 10)
        {
            // %.10q: quote the first 10 characters.
            var runes = new StringInfo(Value);
            var head = runes.LengthInTextElements > 10 ? Value[..Math.Min(Value.Length, 10)] : Value;
            return Values.GoFormat.Quote(head) + "...";
        }

        return Values.GoFormat.Quote(Value);
    }
}

/// <summary>
/// Splits template text into tokens with the rules of Go's text/template/parse lexer: <c>{{ }}</c> delimiters,
/// trim markers (<c>{{- </c> and <c> -}}</c>, which need the space), comments that must touch the delimiters,
/// strings, raw strings, character constants, numbers, fields, variables and keywords.
/// </summary>
internal sealed class Lexer
{
    private const string LeftDelim = "{{";
    private const string RightDelim = "}}";

    private readonly string _input;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _start;
    private int _line = 1;
    private int _lineScanned;
    private int _parenDepth;

    private Lexer(string input)
    {
        _input = input;
    }

    public static List<Token> Lex(string input)
    {
        var lexer = new Lexer(input);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        while (true)
        {
            if (!LexText())
            {
                return;
            }

            if (!LexLeftDelim())
            {
                return;
            }
        }
    }

    private int LineAt(int pos)
    {
        // Token positions only grow, so count newlines incrementally.
        for (var i = _lineScanned; i < pos && i < _input.Length; i++)
        {
            if (_input[i] == '\n')
            {
                _line++;
            }
        }

        if (pos > _lineScanned)
        {
            _lineScanned = pos;
        }

        return _line;
    }

    private void Emit(TokenType type)
    {
        _tokens.Add(new Token(type, _start, _input[_start.._pos], LineAt(_start)));
        _start = _pos;
    }

    private void Ignore() => _start = _pos;

    private bool Error(string message)
    {
        _tokens.Add(new Token(TokenType.Error, _start, message, LineAt(_start)));
        return false;
    }

    private char Peek(int offset = 0) => _pos + offset < _input.Length ? _input[_pos + offset] : '\0';

    private bool AtEnd => _pos >= _input.Length;

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static bool IsAlphaNumeric(char c) => c == '_' || char.IsLetterOrDigit(c);

    // {{- with the marker's mandatory space after it.
    private bool HasLeftTrimMarker(int at) => at + 1 < _input.Length && _input[at] == '-' && IsSpace(_input[at + 1]);

    // Space then -, as in " -}}".
    private bool HasRightTrimMarker(int at) => at + 1 < _input.Length && IsSpace(_input[at]) && _input[at + 1] == '-';

    private bool StartsWithAt(int at, string s) => string.CompareOrdinal(_input, at, s, 0, s.Length) == 0 && at + s.Length <= _input.Length;

    /// <summary>Scans text up to the next left delimiter; returns false at EOF.</summary>
    private bool LexText()
    {
        var x = _input.IndexOf(LeftDelim, _pos, StringComparison.Ordinal);
        if (x < 0)
        {
            _pos = _input.Length;
            if (_pos > _start)
            {
                Emit(TokenType.Text);
            }

            Emit(TokenType.Eof);
            return false;
        }

        var trimLength = 0;
        if (HasLeftTrimMarker(x + LeftDelim.Length))
        {
            var end = x;
            while (end > _start && IsSpace(_input[end - 1]))
            {
                end--;
            }

            trimLength = x - end;
        }

        _pos = x - trimLength;
        if (_pos > _start)
        {
            Emit(TokenType.Text);
        }

        _pos = x;
        Ignore();
        return true;
    }

    private (bool Delim, bool Trim) AtRightDelim()
    {
        if (HasRightTrimMarker(_pos) && StartsWithAt(_pos + 2, RightDelim))
        {
            return (true, true);
        }

        return (StartsWithAt(_pos, RightDelim), false);
    }

    private bool LexLeftDelim()
    {
        _pos += LeftDelim.Length;
        var trimSpace = HasLeftTrimMarker(_pos);
        var afterMarker = trimSpace ? 2 : 0;
        if (StartsWithAt(_pos + afterMarker, "/*"))
        {
            _pos += afterMarker;
            Ignore();
            return LexComment();
        }

        Emit(TokenType.LeftDelim);
        _pos += afterMarker;
        Ignore();
        _parenDepth = 0;
        return LexInsideAction();
    }

    private bool LexComment()
    {
        var close = _input.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
        if (close < 0)
        {
            return Error("unclosed comment");
        }

        _pos = close + 2;
        var (delim, trimSpace) = AtRightDelim();
        if (!delim)
        {
            return Error("comment ends before closing delimiter");
        }

        Emit(TokenType.Comment);
        if (trimSpace)
        {
            _pos += 2;
        }

        _pos += RightDelim.Length;
        if (trimSpace)
        {
            SkipLeadingSpace();
        }

        Ignore();
        return true;
    }

    private void SkipLeadingSpace()
    {
        while (_pos < _input.Length && IsSpace(_input[_pos]))
        {
            _pos++;
        }
    }

    private bool LexRightDelim(bool trimSpace)
    {
        if (trimSpace)
        {
            _pos += 2;
            Ignore();
        }

        _pos += RightDelim.Length;
        Emit(TokenType.RightDelim);
        if (trimSpace)
        {
            SkipLeadingSpace();
            Ignore();
        }

        return true;
    }

    private bool LexInsideAction()
    {
        while (true)
        {
            var (delim, trimSpace) = AtRightDelim();
            if (delim)
            {
                if (_parenDepth == 0)
                {
                    return LexRightDelim(trimSpace);
                }

                return Error("unclosed left paren");
            }

            if (AtEnd)
            {
                return Error("unclosed action");
            }

            var r = _input[_pos];
            if (IsSpace(r))
            {
                LexSpace();
                continue;
            }

            _pos++;
            switch (r)
            {
                case '=':
                    Emit(TokenType.Assign);
                    continue;
                case ':':
                    if (Peek() != '=')
                    {
                        return Error("expected :=");
                    }

                    _pos++;
                    Emit(TokenType.Declare);
                    continue;
                case '|':
                    Emit(TokenType.Pipe);
                    continue;
                case '"':
                    if (!LexQuote())
                    {
                        return false;
                    }

                    continue;
                case '`':
                    if (!LexRawQuote())
                    {
                        return false;
                    }

                    continue;
                case '$':
                    if (!LexFieldOrVariable(TokenType.Variable))
                    {
                        return false;
                    }

                    continue;
                case '\'':
                    if (!LexChar())
                    {
                        return false;
                    }

                    continue;
                case '.':
                    if (_pos < _input.Length && char.IsAsciiDigit(_input[_pos]))
                    {
                        _pos--;
                        if (!LexNumber())
                        {
                            return false;
                        }

                        continue;
                    }

                    if (!LexFieldOrVariable(TokenType.Field))
                    {
                        return false;
                    }

                    continue;
                case '(':
                    Emit(TokenType.LeftParen);
                    _parenDepth++;
                    continue;
                case ')':
                    // Go emits the token before checking, so the parser reports it first.
                    Emit(TokenType.RightParen);
                    _parenDepth--;
                    if (_parenDepth < 0)
                    {
                        return Error("unexpected right paren " + FormatRune(r));
                    }

                    continue;
            }

            if (r is '+' or '-' || char.IsAsciiDigit(r))
            {
                _pos--;
                if (!LexNumber())
                {
                    return false;
                }

                continue;
            }

            if (IsAlphaNumeric(r))
            {
                _pos--;
                if (!LexIdentifier())
                {
                    return false;
                }

                continue;
            }

            if (r <= 0x7F && !char.IsControl(r))
            {
                Emit(TokenType.Char);
                continue;
            }

            _pos--;
            return Error("unrecognized character in action: " + FormatRune(CurrentRune()));
        }
    }

    private int CurrentRune() =>
        char.IsHighSurrogate(_input[_pos]) && _pos + 1 < _input.Length ? char.ConvertToUtf32(_input[_pos], _input[_pos + 1]) : _input[_pos];

    /// <summary>Go's %#U: U+0041 'A'.</summary>
    private static string FormatRune(int r)
    {
        var hex = "U+" + r.ToString("X4", CultureInfo.InvariantCulture);
        return r >= 0x20 && r != 0x7F ? hex + " '" + char.ConvertFromUtf32(r) + "'" : hex;
    }

    private void LexSpace()
    {
        while (_pos < _input.Length && IsSpace(_input[_pos]))
        {
            _pos++;
        }

        // A space directly before "-}}" belongs to the trim marker.
        if (_input[_pos - 1] is var c && IsSpace(c) && Peek() == '-' && StartsWithAt(_pos + 1, RightDelim))
        {
            _pos--;
        }

        if (_pos > _start)
        {
            Emit(TokenType.Space);
        }
    }

    private bool AtTerminator()
    {
        if (AtEnd)
        {
            return true;
        }

        var r = _input[_pos];
        return IsSpace(r) || r is '.' or ',' or '|' or ':' or ')' or '(' or '}';
    }

    private bool LexIdentifier()
    {
        while (_pos < _input.Length && IsAlphaNumeric(_input[_pos]))
        {
            _pos++;
        }

        if (!AtTerminator())
        {
            return Error("bad character " + FormatRune(CurrentRune()));
        }

        var word = _input[_start.._pos];
        var type = word switch
        {
            "block" => TokenType.Block,
            "break" => TokenType.Break,
            "continue" => TokenType.Continue,
            "define" => TokenType.Define,
            "else" => TokenType.Else,
            "end" => TokenType.End,
            "if" => TokenType.If,
            "nil" => TokenType.Nil,
            "range" => TokenType.Range,
            "template" => TokenType.Template,
            "with" => TokenType.With,
            "true" or "false" => TokenType.Bool,
            _ => TokenType.Identifier,
        };
        Emit(type);
        return true;
    }

    private bool LexFieldOrVariable(TokenType type)
    {
        if (AtTerminator())
        {
            // "." alone is dot; "$" alone is the root variable.
            Emit(type == TokenType.Variable ? TokenType.Variable : TokenType.Dot);
            return true;
        }

        while (_pos < _input.Length && IsAlphaNumeric(_input[_pos]))
        {
            _pos++;
        }

        if (!AtTerminator())
        {
            return Error("bad character " + FormatRune(CurrentRune()));
        }

        Emit(type);
        return true;
    }

    private bool LexChar()
    {
        while (true)
        {
            if (AtEnd || _input[_pos] == '\n')
            {
                return Error("unterminated character constant");
            }

            var c = _input[_pos++];
            if (c == '\\')
            {
                if (AtEnd || _input[_pos] == '\n')
                {
                    return Error("unterminated character constant");
                }

                _pos++;
                continue;
            }

            if (c == '\'')
            {
                break;
            }
        }

        Emit(TokenType.CharConstant);
        return true;
    }

    private bool LexNumber()
    {
        if (!ScanNumber())
        {
            return Error("bad number syntax: " + Values.GoFormat.Quote(_input[_start.._pos]));
        }

        if (Peek() is '+' or '-')
        {
            // Complex: 1+2i.
            if (!ScanNumber() || _input[_pos - 1] != 'i')
            {
                return Error("bad number syntax: " + Values.GoFormat.Quote(_input[_start.._pos]));
            }

            Emit(TokenType.Complex);
            return true;
        }

        Emit(TokenType.Number);
        return true;
    }

    private bool Accept(string valid)
    {
        if (!AtEnd && valid.Contains(_input[_pos], StringComparison.Ordinal))
        {
            _pos++;
            return true;
        }

        return false;
    }

    private void AcceptRun(string valid)
    {
        while (!AtEnd && valid.Contains(_input[_pos], StringComparison.Ordinal))
        {
            _pos++;
        }
    }

    private bool ScanNumber()
    {
        Accept("+-");
        var digits = "0123456789_";
        if (Accept("0"))
        {
            if (Accept("xX"))
            {
                digits = "0123456789abcdefABCDEF_";
            }
            else if (Accept("oO"))
            {
                digits = "01234567_";
            }
            else if (Accept("bB"))
            {
                digits = "01_";
            }
        }

        AcceptRun(digits);
        if (Accept("."))
        {
            AcceptRun(digits);
        }

        if (digits.Length == 11 && Accept("eE"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }

        if (digits.Length == 23 && Accept("pP"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }

        Accept("i");
        if (!AtEnd && IsAlphaNumeric(_input[_pos]))
        {
            _pos++;
            return false;
        }

        return true;
    }

    private bool LexQuote()
    {
        while (true)
        {
            if (AtEnd || _input[_pos] == '\n')
            {
                return Error("unterminated quoted string");
            }

            var c = _input[_pos++];
            if (c == '\\')
            {
                if (AtEnd || _input[_pos] == '\n')
                {
                    return Error("unterminated quoted string");
                }

                _pos++;
                continue;
            }

            if (c == '"')
            {
                break;
            }
        }

        Emit(TokenType.String);
        return true;
    }

    private bool LexRawQuote()
    {
        var close = _input.IndexOf('`', _pos);
        if (close < 0)
        {
            _pos = _input.Length;
            return Error("unterminated raw quoted string");
        }

        _pos = close + 1;
        Emit(TokenType.RawString);
        return true;
    }

    /// <summary>Go's strconv.Unquote for "..." , `...` and '...' literals.</summary>
    public static bool TryUnquote(string quoted, out string value)
    {
        value = "";
        if (quoted.Length < 2)
        {
            return false;
        }

        var q = quoted[0];
        if (quoted[^1] != q)
        {
            return false;
        }

        var body = quoted.AsSpan(1, quoted.Length - 2);
        if (q == '`')
        {
            if (body.Contains('`'))
            {
                return false;
            }

            // Go drops carriage returns from raw strings.
            value = body.Contains('\r') ? body.ToString().Replace("\r", "", StringComparison.Ordinal) : body.ToString();
            return true;
        }

        if (q is not ('"' or '\''))
        {
            return false;
        }

        if (!body.Contains('\\') && !body.Contains(q))
        {
            value = body.ToString();
            return q == '"' || CountRunes(value) == 1;
        }

        var sb = new StringBuilder(body.Length);
        var runes = 0;
        for (var i = 0; i < body.Length;)
        {
            var c = body[i];
            if (c == q)
            {
                return false;
            }

            if (c != '\\')
            {
                sb.Append(c);
                if (!char.IsHighSurrogate(c))
                {
                    runes++;
                }

                i++;
                continue;
            }

            if (i + 1 >= body.Length)
            {
                return false;
            }

            var e = body[i + 1];
            i += 2;
            runes++;
            switch (e)
            {
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '\'' when q == '\'': sb.Append('\''); break;
                case '"' when q == '"': sb.Append('"'); break;
                case 'x' or 'u' or 'U':
                    {
                        var n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                        if (i + n > body.Length || !int.TryParse(body.Slice(i, n), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        {
                            return false;
                        }

                        i += n;
                        if (e == 'x')
                        {
                            // A byte; bytes >= 0x80 would make invalid UTF-8 in Go, which .NET strings cannot hold.
                            sb.Append((char)code);
                        }
                        else
                        {
                            if (code > 0x10FFFF || (code >= 0xD800 && code < 0xE000))
                            {
                                return false;
                            }

                            sb.Append(char.ConvertFromUtf32(code));
                        }

                        break;
                    }

                case >= '0' and <= '7':
                    {
                        if (i + 2 > body.Length)
                        {
                            return false;
                        }

                        var code = 0;
                        for (var k = -1; k < 2; k++)
                        {
                            var d = body[i + k];
                            if (d is < '0' or > '7')
                            {
                                return false;
                            }

                            code = (code * 8) + (d - '0');
                        }

                        if (code > 255)
                        {
                            return false;
                        }

                        i += 2;
                        sb.Append((char)code);
                        break;
                    }

                default:
                    return false;
            }
        }

        value = sb.ToString();
        return q == '"' || runes == 1;
    }

    private static int CountRunes(string s)
    {
        var n = 0;
        foreach (var c in s)
        {
            if (!char.IsLowSurrogate(c))
            {
                n++;
            }
        }

        return n;
    }
}
