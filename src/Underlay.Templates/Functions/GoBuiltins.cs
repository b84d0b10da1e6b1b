using System.Collections;
using System.Text;
using Underlay.Templates.Execution;
using Underlay.Templates.Values;

namespace Underlay.Templates.Functions;

/// <summary>text/template's predefined functions (funcs.go): and, or, not, len, index, print*, html, js,
/// urlquery, call and the comparisons.</summary>
internal static class GoBuiltins
{
    private static readonly ParamKind[] s_reflect1 = [ParamKind.Reflect];
    private static readonly ParamKind[] s_reflect2 = [ParamKind.Reflect, ParamKind.Reflect];
    private static readonly ParamKind[] s_any1 = [ParamKind.Any];

    public static void Register(Dictionary<string, TemplateFunction> f)
    {
        f["and"] = new TemplateFunction("and", s_reflect2, true, (_, a) => a[^1]) { IsShortCircuit = true };
        f["or"] = new TemplateFunction("or", s_reflect2, true, (_, a) => a[^1]) { IsShortCircuit = true };
        f["not"] = new TemplateFunction("not", s_reflect1, false, (_, a) => GoValue.Box(!GoValue.IsTrue(a[0])));
        f["len"] = new TemplateFunction("len", s_reflect1, false, (_, a) => Len(a[0]));
        f["index"] = new TemplateFunction("index", s_reflect2, true, (_, a) => Index(a[0], a[1..]));
        f["print"] = new TemplateFunction("print", s_any1, true, (c, a) => Charged(c, GoFormat.SprintMany(a)));
        f["println"] = new TemplateFunction("println", s_any1, true, (c, a) => Charged(c, GoFormat.Sprintln(a)));
        f["printf"] = new TemplateFunction("printf", [ParamKind.String, ParamKind.Any], true, (c, a) => Charged(c, GoFormat.Sprintf((string)a[0]!, a[1..])));
        f["html"] = new TemplateFunction("html", s_any1, true, (_, a) => HtmlEscape(EvalArgs(a)));
        f["js"] = new TemplateFunction("js", s_any1, true, (_, a) => JsEscape(EvalArgs(a)));
        f["urlquery"] = new TemplateFunction("urlquery", s_any1, true, (_, a) => QueryEscape(EvalArgs(a)));
        f["call"] = new TemplateFunction("call", s_reflect2, true, Call);
        f["eq"] = new TemplateFunction("eq", s_reflect2, true, (_, a) => GoValue.Box(Compare.Eq(a[0], a[1..])));
        f["ne"] = new TemplateFunction("ne", s_reflect2, false, (_, a) => GoValue.Box(!Compare.Eq(a[0], a[1..])));
        f["lt"] = new TemplateFunction("lt", s_reflect2, false, (_, a) => GoValue.Box(Compare.Lt(a[0], a[1])));
        f["le"] = new TemplateFunction("le", s_reflect2, false, (_, a) => GoValue.Box(Compare.Lt(a[0], a[1]) || Compare.Eq(a[0], a[1..])));
        f["gt"] = new TemplateFunction("gt", s_reflect2, false, (_, a) => GoValue.Box(!(Compare.Lt(a[0], a[1]) || Compare.Eq(a[0], a[1..]))));
        f["ge"] = new TemplateFunction("ge", s_reflect2, false, (_, a) => GoValue.Box(!Compare.Lt(a[0], a[1])));
    }

    /// <summary>and/or with a variadic first parameter in Go still need one argument.</summary>
    private static string Charged(RenderContext c, string s)
    {
        c.ChargeString(s.Length);
        return s;
    }

    private static object Len(object? item)
    {
        switch (item)
        {
            case NoValue:
                throw new TemplateFunctionException("reflect: call of reflect.Value.Type on zero Value");
            case null:
                throw new TemplateFunctionException("len of nil pointer");
        }

        if (GoValue.TryLen(item, out var n))
        {
            return GoValue.Box(n);
        }

        throw new TemplateFunctionException($"len of type {GoValue.TypeName(item)}");
    }

    private static object? Index(object? item, ReadOnlySpan<object?> indexes)
    {
        if (item is null or NoValue)
        {
            throw new TemplateFunctionException("index of untyped nil");
        }

        foreach (var rawIndex in indexes)
        {
            var index = rawIndex is null ? NoValue.Instance : rawIndex;
            switch (item)
            {
                case null:
                    throw new TemplateFunctionException("index of nil pointer");
                case string s:
                    {
                        var bytes = Encoding.UTF8.GetBytes(s);
                        var x = IndexArg(index, bytes.Length);
                        if (x == bytes.Length)
                        {
                            throw new TemplateFunctionException("reflect: string index out of range");
                        }

                        item = bytes[x];
                        break;
                    }

                case IList list:
                    {
                        var x = IndexArg(index, list.Count);
                        if (x == list.Count)
                        {
                            throw new TemplateFunctionException("reflect: slice index out of range");
                        }

                        item = list[x];
                        break;
                    }

                default:
                    if (GoValue.IsMap(item))
                    {
                        if (index is NoValue)
                        {
                            throw new TemplateFunctionException("value is nil; should be of type string");
                        }

                        if (index is not string key)
                        {
                            throw new TemplateFunctionException($"value has type {GoValue.TypeName(index)}; should be string");
                        }

                        item = GoValue.MapTryGet(item, key, out var v) ? v : null;
                        break;
                    }

                    throw new TemplateFunctionException($"can't index item of type {GoValue.TypeName(item)}");
            }
        }

        return item;
    }

    private static int IndexArg(object index, int length)
    {
        long x;
        if (index is NoValue)
        {
            throw new TemplateFunctionException("cannot index slice/array with nil");
        }

        if (GoValue.KindOf(index) == BasicKind.Int)
        {
            x = GoValue.ToInt64(index);
        }
        else if (GoValue.KindOf(index) == BasicKind.Uint)
        {
            var u = GoValue.ToUInt64(index);
            x = u > long.MaxValue ? -1 : (long)u;
        }
        else
        {
            throw new TemplateFunctionException($"cannot index slice/array with type {GoValue.TypeName(index)}");
        }

        if (x < 0 || x > length)
        {
            throw new TemplateFunctionException($"index out of range: {x}");
        }

        return (int)x;
    }

    private static object? Call(RenderContext context, ReadOnlySpan<object?> args)
    {
        var fn = args[0];
        switch (fn)
        {
            case null or NoValue:
                throw new TemplateFunctionException("call of nil");
            case TemplateFunction f:
                var rest = new object?[args.Length - 1];
                for (var i = 1; i < args.Length; i++)
                {
                    rest[i - 1] = args[i] is NoValue ? null : args[i];
                }

                return context.CallFunctionValue(f, rest);
            default:
                throw new TemplateFunctionException($"non-function of type {GoValue.TypeName(fn)}");
        }
    }

    /// <summary>Go's evalArgs for html/js/urlquery: one string as is, otherwise Sprint with invalid values shown as &lt;no value&gt;.</summary>
    private static string EvalArgs(ReadOnlySpan<object?> args)
    {
        if (args.Length == 1 && args[0] is string s)
        {
            return s;
        }

        var copy = new object?[args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            copy[i] = args[i] is null or NoValue ? "<no value>" : args[i];
        }

        return GoFormat.SprintMany(copy);
    }

    private static readonly System.Buffers.SearchValues<char> s_htmlSpecial = System.Buffers.SearchValues.Create("<>&'\"\0");

    public static string HtmlEscape(string s)
    {
        if (s.AsSpan().IndexOfAny(s_htmlSpecial) < 0)
        {
            return s;
        }

        var sb = new StringBuilder(s.Length + 16);
        foreach (var c in s)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '\'': sb.Append("&#39;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&#34;"); break;
                case '\0': sb.Append('\uFFFD'); break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }

    public static string JsEscape(string s)
    {
        var sb = new StringBuilder(s.Length + 16);
        foreach (var rune in s.EnumerateRunes())
        {
            var r = rune.Value;
            switch (r)
            {
                case '\\': sb.Append("\\\\"); continue;
                case '\'': sb.Append("\\'"); continue;
                case '"': sb.Append("\\\""); continue;
                case '<': sb.Append("\\u003C"); continue;
                case '>': sb.Append("\\u003E"); continue;
                case '&': sb.Append("\\u0026"); continue;
                case '=': sb.Append("\\u003D"); continue;
            }

            if (r < ' ')
            {
                sb.Append("\\u00").Append("0123456789ABCDEF"[r >> 4]).Append("0123456789ABCDEF"[r & 0xF]);
            }
            else if (r < 0x80 || GoFormat.IsPrint(r))
            {
                sb.Append(rune.ToString());
            }
            else
            {
                sb.Append("\\u").Append(r.ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Go's url.QueryEscape.</summary>
    public static string QueryEscape(string s)
    {
        var sb = new StringBuilder(s.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else if (c == ' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append("0123456789ABCDEF"[b >> 4]).Append("0123456789ABCDEF"[b & 0xF]);
            }
        }

        return sb.ToString();
    }
}

/// <summary>Go's eq/lt rules: basic kinds compare by value, signed and unsigned integers compare with each
/// other, anything else across kinds is "incompatible types for comparison".</summary>
internal static class Compare
{
    public static bool Eq(object? arg1, ReadOnlySpan<object?> arg2)
    {
        arg1 = GoValue.Indirect(arg1);
        if (arg2.Length == 0)
        {
            throw new TemplateFunctionException("missing argument for comparison");
        }

        var k1 = GoValue.KindOf(arg1);
        foreach (var raw in arg2)
        {
            var arg = GoValue.Indirect(raw);
            var k2 = GoValue.KindOf(arg);
            bool truth;
            if (k1 != k2)
            {
                if (k1 == BasicKind.Int && k2 == BasicKind.Uint)
                {
                    var i = GoValue.ToInt64(arg1!);
                    truth = i >= 0 && (ulong)i == GoValue.ToUInt64(arg!);
                }
                else if (k1 == BasicKind.Uint && k2 == BasicKind.Int)
                {
                    var i = GoValue.ToInt64(arg!);
                    truth = i >= 0 && GoValue.ToUInt64(arg1!) == (ulong)i;
                }
                else
                {
                    if (arg1 is not NoValue && arg is not NoValue)
                    {
                        throw new TemplateFunctionException("incompatible types for comparison");
                    }

                    truth = false;
                }
            }
            else
            {
                truth = k1 switch
                {
                    BasicKind.Bool => (bool)arg1! == (bool)arg!,
                    BasicKind.Float => GoValue.ToDouble(arg1!) == GoValue.ToDouble(arg!),
                    BasicKind.Int => GoValue.ToInt64(arg1!) == GoValue.ToInt64(arg!),
                    BasicKind.String => string.Equals((string)arg1!, (string)arg!, StringComparison.Ordinal),
                    BasicKind.Uint => GoValue.ToUInt64(arg1!) == GoValue.ToUInt64(arg!),
                    _ => EqOther(arg1, arg),
                };
            }

            if (truth)
            {
                return true;
            }
        }

        return false;
    }

    private static bool EqOther(object? a, object? b)
    {
        var aNil = a is NoValue;
        var bNil = b is NoValue;
        if (aNil || bNil)
        {
            return aNil && bNil;
        }

        if (a is IList || b is IList || GoValue.IsMap(a) || GoValue.IsMap(b) || a is TemplateFunction || b is TemplateFunction)
        {
            if (GoValue.KindName(a) != GoValue.KindName(b))
            {
                throw new TemplateFunctionException($"non-comparable types {GoFormat.Sprintf("%s", [a])}: {GoValue.TypeName(a)}, {GoValue.TypeName(b)}: {GoFormat.Sprintf("%s", [b])}");
            }

            throw new TemplateFunctionException($"non-comparable type {GoFormat.Sprintf("%s", [b])}: {GoValue.TypeName(b)}");
        }

        return Equals(a, b);
    }

    public static bool Lt(object? arg1, object? arg2)
    {
        arg1 = GoValue.Indirect(arg1);
        arg2 = GoValue.Indirect(arg2);
        var k1 = GoValue.KindOf(arg1);
        if (k1 == BasicKind.Invalid)
        {
            throw new TemplateFunctionException("invalid type for comparison");
        }

        var k2 = GoValue.KindOf(arg2);
        if (k2 == BasicKind.Invalid)
        {
            throw new TemplateFunctionException("invalid type for comparison");
        }

        if (k1 != k2)
        {
            if (k1 == BasicKind.Int && k2 == BasicKind.Uint)
            {
                var i = GoValue.ToInt64(arg1!);
                return i < 0 || (ulong)i < GoValue.ToUInt64(arg2!);
            }

            if (k1 == BasicKind.Uint && k2 == BasicKind.Int)
            {
                var i = GoValue.ToInt64(arg2!);
                return i >= 0 && GoValue.ToUInt64(arg1!) < (ulong)i;
            }

            throw new TemplateFunctionException("incompatible types for comparison");
        }

        return k1 switch
        {
            BasicKind.Bool => throw new TemplateFunctionException("invalid type for comparison"),
            BasicKind.Float => GoValue.ToDouble(arg1!) < GoValue.ToDouble(arg2!),
            BasicKind.Int => GoValue.ToInt64(arg1!) < GoValue.ToInt64(arg2!),
            BasicKind.String => string.CompareOrdinal((string)arg1!, (string)arg2!) < 0,
            _ => GoValue.ToUInt64(arg1!) < GoValue.ToUInt64(arg2!),
        };
    }
}
