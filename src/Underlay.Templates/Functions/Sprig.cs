using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Underlay.Templates.Execution;
using Underlay.Templates.Values;

namespace Underlay.Templates.Functions;

/// <summary>
/// Sprig v3's functions, reimplemented from its documented behaviour (quirks included: <c>get</c> of a missing
/// key is "", <c>split</c> returns a map with _0, _1... keys, <c>trimPrefix</c> takes the prefix first).
/// Left out as in DRP: env, expandenv; also the clock (now, date...), network and certificate functions.
/// </summary>
internal static partial class Sprig
{
    private static readonly ParamKind[] s_any = [ParamKind.Any];
    private static readonly ParamKind[] s_any2 = [ParamKind.Any, ParamKind.Any];
    private static readonly ParamKind[] s_str = [ParamKind.String];
    private static readonly ParamKind[] s_str2 = [ParamKind.String, ParamKind.String];
    private static readonly ParamKind[] s_str3 = [ParamKind.String, ParamKind.String, ParamKind.String];
    private static readonly ParamKind[] s_intStr = [ParamKind.Int, ParamKind.String];
    private static readonly ParamKind[] s_mapStr = [ParamKind.Map, ParamKind.String];

    private static void Fixed(Dictionary<string, TemplateFunction> f, string name, ParamKind[] kinds, BuiltinBody body) =>
        f[name] = new TemplateFunction(name, kinds, false, body);

    private static void Variadic(Dictionary<string, TemplateFunction> f, string name, ParamKind[] kinds, BuiltinBody body) =>
        f[name] = new TemplateFunction(name, kinds, true, body);

    private static void Alias(Dictionary<string, TemplateFunction> f, string alias, string name)
    {
        var t = f[name];
        f[alias] = new TemplateFunction(alias, t.Kinds, t.IsVariadic, t.Invoke);
    }

    public static void Register(Dictionary<string, TemplateFunction> f)
    {
        RegisterStrings(f);
        RegisterDefaults(f);
        RegisterMath(f);
        RegisterLists(f);
        RegisterDicts(f);
        RegisterEncoding(f);
        RegisterRegex(f);
        RegisterReflection(f);
        RegisterPaths(f);
        Semver.Register(f);
    }

    private static string Charged(RenderContext c, string s)
    {
        c.ChargeString(s.Length);
        return s;
    }

    // ---------------- strings ----------------

    private static void RegisterStrings(Dictionary<string, TemplateFunction> f)
    {
        Fixed(f, "hello", [], (_, _) => "Hello!");
        Fixed(f, "upper", s_str, (_, a) => ((string)a[0]!).ToUpperInvariant());
        Fixed(f, "lower", s_str, (_, a) => ((string)a[0]!).ToLowerInvariant());
        Fixed(f, "title", s_str, (_, a) => Title((string)a[0]!));
        Fixed(f, "untitle", s_str, (_, a) => Untitle((string)a[0]!));
        Fixed(f, "trim", s_str, (_, a) => TrimSpace((string)a[0]!));
        Fixed(f, "trimAll", s_str2, (_, a) => TrimSet((string)a[1]!, (string)a[0]!));
        Alias(f, "trimall", "trimAll");
        Fixed(f, "trimPrefix", s_str2, (_, a) => ((string)a[1]!).StartsWith((string)a[0]!, StringComparison.Ordinal) ? ((string)a[1]!)[((string)a[0]!).Length..] : a[1]);
        Fixed(f, "trimSuffix", s_str2, (_, a) => ((string)a[1]!).EndsWith((string)a[0]!, StringComparison.Ordinal) ? ((string)a[1]!)[..^((string)a[0]!).Length] : a[1]);
        Fixed(f, "nospace", s_str, (_, a) => RemoveWhitespace((string)a[0]!));
        Fixed(f, "repeat", s_intStr, (c, a) => Repeat(c, (string)a[1]!, (int)a[0]!));
        Fixed(f, "replace", s_str3, (c, a) => Charged(c, Replace((string)a[2]!, (string)a[0]!, (string)a[1]!)));
        Fixed(f, "contains", s_str2, (_, a) => GoValue.Box(((string)a[1]!).Contains((string)a[0]!, StringComparison.Ordinal)));
        Fixed(f, "hasPrefix", s_str2, (_, a) => GoValue.Box(((string)a[1]!).StartsWith((string)a[0]!, StringComparison.Ordinal)));
        Fixed(f, "hasSuffix", s_str2, (_, a) => GoValue.Box(((string)a[1]!).EndsWith((string)a[0]!, StringComparison.Ordinal)));
        Variadic(f, "quote", s_any, (c, a) => Charged(c, QuoteAll(a, '"')));
        Variadic(f, "squote", s_any, (c, a) => Charged(c, QuoteAll(a, '\'')));
        Variadic(f, "cat", s_any, (c, a) => Charged(c, Cat(a)));
        Fixed(f, "indent", s_intStr, (c, a) => Charged(c, Indent((int)a[0]!, (string)a[1]!)));
        Fixed(f, "nindent", s_intStr, (c, a) => Charged(c, "\n" + Indent((int)a[0]!, (string)a[1]!)));
        Fixed(f, "toString", s_any, (c, a) => Charged(c, Convert.Strval(a[0])));
        Fixed(f, "toStrings", s_any, (_, a) => Convert.Strslice(a[0]));
        Fixed(f, "split", s_str2, (_, a) => Split((string)a[0]!, (string)a[1]!));
        Fixed(f, "splitList", s_str2, (_, a) => SplitString((string)a[1]!, (string)a[0]!, -1));
        Fixed(f, "splitn", [ParamKind.String, ParamKind.Int, ParamKind.String], (_, a) => SplitN((string)a[0]!, (int)a[1]!, (string)a[2]!));
        Fixed(f, "join", [ParamKind.String, ParamKind.Any], (c, a) => Charged(c, Join((string)a[0]!, Convert.Strslice(a[1]))));
        Fixed(f, "substr", [ParamKind.Int, ParamKind.Int, ParamKind.String], (_, a) => Substr((int)a[0]!, (int)a[1]!, (string)a[2]!));
        Fixed(f, "trunc", s_intStr, (_, a) => Trunc((int)a[0]!, (string)a[1]!));
        Fixed(f, "abbrev", s_intStr, (_, a) => Abbrev((int)a[0]!, (string)a[1]!));
        Fixed(f, "initials", s_str, (_, a) => Initials((string)a[0]!));
        Fixed(f, "swapcase", s_str, (_, a) => SwapCase((string)a[0]!));
        Fixed(f, "plural", [ParamKind.String, ParamKind.String, ParamKind.Int], (_, a) => (int)a[2]! == 1 ? a[0] : a[1]);
        Fixed(f, "wrap", s_intStr, (_, a) => Wrap((int)a[0]!, "\n", (string)a[1]!));
        Fixed(f, "wrapWith", [ParamKind.Int, ParamKind.String, ParamKind.String], (_, a) => Wrap((int)a[0]!, (string)a[1]!, (string)a[2]!));
        Fixed(f, "randAlphaNum", [ParamKind.Int], (c, a) => Random(c, (int)a[0]!, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"));
        Fixed(f, "randAlpha", [ParamKind.Int], (c, a) => Random(c, (int)a[0]!, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"));
        Fixed(f, "randNumeric", [ParamKind.Int], (c, a) => Random(c, (int)a[0]!, "0123456789"));
        Fixed(f, "randAscii", [ParamKind.Int], (c, a) => Random(c, (int)a[0]!, AsciiPrintable));
    }

    private const string AsciiPrintable = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

    private static string Random(RenderContext c, int count, string alphabet)
    {
        if (count < 0)
        {
            throw new TemplateFunctionException("runtime error: makeslice: len out of range");
        }

        c.Charge(count);
        return RandomNumberGenerator.GetString(alphabet, count);
    }

    private static bool IsGoSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r' or '\u0085' or '\u00A0' || (c > 0xFF && char.IsWhiteSpace(c));

    private static string TrimSpace(string s)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && IsGoSpace(s[start]))
        {
            start++;
        }

        while (end > start && IsGoSpace(s[end - 1]))
        {
            end--;
        }

        return start == 0 && end == s.Length ? s : s[start..end];
    }

    private static string TrimSet(string s, string cutset)
    {
        var start = 0;
        var end = s.Length;
        while (start < end && cutset.Contains(s[start], StringComparison.Ordinal))
        {
            start++;
        }

        while (end > start && cutset.Contains(s[end - 1], StringComparison.Ordinal))
        {
            end--;
        }

        return s[start..end];
    }

    private static string RemoveWhitespace(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (!IsGoSpace(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Go's strings.Title: upper-case letters that follow a separator (anything but letters, digits,
    /// underscore).</summary>
    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var prev = ' ';
        foreach (var c in s)
        {
            sb.Append(IsSeparator(prev) ? char.ToUpperInvariant(c) : c);
            prev = c;
        }

        return sb.ToString();
    }

    private static bool IsSeparator(char c)
    {
        if (c < 0x80)
        {
            return !(char.IsAsciiLetterOrDigit(c) || c == '_');
        }

        return !char.IsLetterOrDigit(c) && char.IsWhiteSpace(c);
    }

    private static string Untitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        var inWord = false;
        foreach (var c in s)
        {
            var space = char.IsWhiteSpace(c);
            sb.Append(!inWord && !space ? char.ToLowerInvariant(c) : c);
            inWord = !space;
        }

        return sb.ToString();
    }

    private static string SwapCase(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(char.IsUpper(c) ? char.ToLowerInvariant(c) : char.IsLower(c) ? char.ToUpperInvariant(c) : c);
        }

        return sb.ToString();
    }

    private static string Initials(string s)
    {
        var sb = new StringBuilder();
        var inWord = false;
        foreach (var c in s)
        {
            var space = char.IsWhiteSpace(c);
            if (!inWord && !space)
            {
                sb.Append(c);
            }

            inWord = !space;
        }

        return sb.ToString();
    }

    private static string Repeat(RenderContext c, string s, int count)
    {
        if (count < 0)
        {
            throw new TemplateFunctionException("strings: negative Repeat count");
        }

        // Charge before allocating so a huge count fails on the budget, not on memory.
        c.Charge((long)s.Length * count / 16);
        if ((long)s.Length * count > c.Options.MaxOutputChars)
        {
            throw new TemplateFunctionException($"result exceeds the output limit of {c.Options.MaxOutputChars} chars");
        }

        return new StringBuilder(s.Length * count).Insert(0, s, count).ToString();
    }

    private static string Join(string sep, string[] parts)
    {
        long total = (long)sep.Length * parts.Length;
        foreach (var p in parts)
        {
            total += p.Length;
        }

        ValueLimit.Check(total);
        return string.Join(sep, parts);
    }

    /// <summary>Counts occurrences to bound the result before building it.</summary>
    private static void CheckReplaceSize(string src, string old, string @new)
    {
        if (@new.Length <= old.Length)
        {
            return;
        }

        long count = 0;
        for (var i = src.IndexOf(old, StringComparison.Ordinal); i >= 0; i = src.IndexOf(old, i + old.Length, StringComparison.Ordinal))
        {
            count++;
        }

        ValueLimit.Check(src.Length + (count * (@new.Length - old.Length)));
    }

    private static string Replace(string src, string old, string @new)
    {
        if (old.Length == 0)
        {
            ValueLimit.Check(src.Length + ((long)(src.Length + 1) * @new.Length));
        }
        else
        {
            CheckReplaceSize(src, old, @new);
        }

        if (old.Length == 0)
        {
            // Go inserts the replacement before every rune and at the end.
            var sb = new StringBuilder();
            foreach (var r in src.EnumerateRunes())
            {
                sb.Append(@new).Append(r.ToString());
            }

            return sb.Append(@new).ToString();
        }

        return src.Replace(old, @new, StringComparison.Ordinal);
    }

    private static string QuoteAll(ReadOnlySpan<object?> args, char quote)
    {
        var sb = new StringBuilder();
        var first = true;
        foreach (var a in args)
        {
            if (a is null or NoValue)
            {
                continue;
            }

            if (!first)
            {
                sb.Append(' ');
            }

            first = false;
            if (quote == '"')
            {
                GoFormat.AppendQuoted(sb, Convert.Strval(a), '"', false);
            }
            else
            {
                sb.Append('\'').Append(Convert.Strval(a)).Append('\'');
            }
        }

        return sb.ToString();
    }

    private static string Cat(ReadOnlySpan<object?> args)
    {
        var kept = new List<object?>(args.Length);
        foreach (var a in args)
        {
            if (a is not (null or NoValue))
            {
                kept.Add(a);
            }
        }

        var sb = new StringBuilder();
        for (var i = 0; i < kept.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            sb.Append(GoFormat.Sprint(kept[i]));
            ValueLimit.Check(sb.Length);
        }

        return sb.ToString();
    }

    private static string Indent(int spaces, string v)
    {
        if (spaces < 0)
        {
            throw new TemplateFunctionException("strings: negative Repeat count");
        }

        long lines = 1;
        foreach (var ch in v)
        {
            if (ch == '\n')
            {
                lines++;
            }
        }

        ValueLimit.Check(v.Length + (lines * spaces));
        var pad = new string(' ', spaces);
        return pad + v.Replace("\n", "\n" + pad, StringComparison.Ordinal);
    }

    private static Dictionary<string, object?> Split(string sep, string orig)
    {
        var parts = SplitString(orig, sep, -1);
        var result = new Dictionary<string, object?>(parts.Length, StringComparer.Ordinal);
        for (var i = 0; i < parts.Length; i++)
        {
            result["_" + i.ToString(CultureInfo.InvariantCulture)] = parts[i];
        }

        return result;
    }

    private static Dictionary<string, object?> SplitN(string sep, int n, string orig)
    {
        var parts = SplitString(orig, sep, n);
        var result = new Dictionary<string, object?>(parts.Length, StringComparer.Ordinal);
        for (var i = 0; i < parts.Length; i++)
        {
            result["_" + i.ToString(CultureInfo.InvariantCulture)] = parts[i];
        }

        return result;
    }

    /// <summary>Go's strings.SplitN (n &lt; 0: all); an empty separator splits into runes.</summary>
    internal static string[] SplitString(string s, string sep, int n)
    {
        if (n == 0)
        {
            return [];
        }

        if (sep.Length == 0)
        {
            var runes = new List<string>();
            foreach (var r in s.EnumerateRunes())
            {
                runes.Add(r.ToString());
            }

            if (n > 0 && runes.Count > n)
            {
                var head = runes.GetRange(0, n - 1);
                head.Add(string.Concat(runes.GetRange(n - 1, runes.Count - n + 1)));
                return [.. head];
            }

            return [.. runes];
        }

        return n < 0 ? s.Split(sep) : s.Split(sep, n);
    }

    private static string Substr(int start, int end, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        if (start < 0)
        {
            return Utf8Slice(bytes, 0, end);
        }

        if (end < 0 || end > bytes.Length)
        {
            return Utf8Slice(bytes, start, bytes.Length);
        }

        return Utf8Slice(bytes, start, end);
    }

    private static string Utf8Slice(byte[] bytes, int start, int end)
    {
        if (start < 0 || end > bytes.Length || start > end)
        {
            throw new TemplateFunctionException($"runtime error: slice bounds out of range [{start}:{end}]");
        }

        return Encoding.UTF8.GetString(bytes, start, end - start);
    }

    private static string Trunc(int c, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        if (c < 0 && bytes.Length + c > 0)
        {
            return Utf8Slice(bytes, bytes.Length + c, bytes.Length);
        }

        if (c >= 0 && bytes.Length > c)
        {
            return Utf8Slice(bytes, 0, c);
        }

        return s;
    }

    private static string Abbrev(int width, string s)
    {
        if (width < 4)
        {
            return s;
        }

        return s.Length <= width ? s : s[..(width - 3)] + "...";
    }

    private static string Wrap(int width, string newline, string s)
    {
        if (width < 1)
        {
            width = 1;
        }

        var sb = new StringBuilder();
        foreach (var line in s.Split('\n'))
        {
            if (sb.Length > 0)
            {
                sb.Append('\n');
            }

            var lineLength = 0;
            foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (lineLength > 0 && lineLength + 1 + word.Length > width)
                {
                    sb.Append(newline);
                    lineLength = 0;
                }
                else if (lineLength > 0)
                {
                    sb.Append(' ');
                    lineLength++;
                }

                sb.Append(word);
                lineLength += word.Length;
            }
        }

        return sb.ToString();
    }

    // ---------------- defaults and flow ----------------

    /// <summary>Sprig's empty: nil, zero numbers, false, and empty strings, lists and maps.</summary>
    internal static bool Empty(object? v) => v switch
    {
        null or NoValue => true,
        ITemplateObject => false,
        _ => !GoValue.IsTrue(v),
    };

    private static void RegisterDefaults(Dictionary<string, TemplateFunction> f)
    {
        Variadic(f, "default", s_any2, (_, a) => a.Length == 1 || Empty(a[1]) ? a[0] : a[1]);
        Fixed(f, "empty", s_any, (_, a) => GoValue.Box(Empty(a[0])));
        Variadic(f, "coalesce", s_any, (_, a) =>
        {
            foreach (var v in a)
            {
                if (!Empty(v))
                {
                    return v;
                }
            }

            return null;
        });
        Variadic(f, "all", s_any, (_, a) =>
        {
            foreach (var v in a)
            {
                if (Empty(v))
                {
                    return GoValue.Box(false);
                }
            }

            return GoValue.Box(true);
        });
        Variadic(f, "any", s_any, (_, a) =>
        {
            foreach (var v in a)
            {
                if (!Empty(v))
                {
                    return GoValue.Box(true);
                }
            }

            return GoValue.Box(false);
        });
        Fixed(f, "ternary", [ParamKind.Any, ParamKind.Any, ParamKind.Bool], (_, a) => (bool)a[2]! ? a[0] : a[1]);
        Fixed(f, "fail", s_str, (_, a) => throw new TemplateFunctionException((string)a[0]!));
    }

    // ---------------- math ----------------

    private static void RegisterMath(Dictionary<string, TemplateFunction> f)
    {
        Variadic(f, "add", s_any, (_, a) =>
        {
            long sum = 0;
            foreach (var v in a)
            {
                sum = unchecked(sum + Convert.ToInt64(v));
            }

            return sum;
        });
        Fixed(f, "add1", s_any, (_, a) => unchecked(Convert.ToInt64(a[0]) + 1));
        Fixed(f, "sub", s_any2, (_, a) => unchecked(Convert.ToInt64(a[0]) - Convert.ToInt64(a[1])));
        Variadic(f, "mul", s_any2, (_, a) =>
        {
            var product = Convert.ToInt64(a[0]);
            foreach (var v in a[1..])
            {
                product = unchecked(product * Convert.ToInt64(v));
            }

            return product;
        });
        Fixed(f, "div", s_any2, (_, a) => Div(Convert.ToInt64(a[0]), Convert.ToInt64(a[1]), false));
        Fixed(f, "mod", s_any2, (_, a) => Div(Convert.ToInt64(a[0]), Convert.ToInt64(a[1]), true));
        Variadic(f, "max", s_any2, (_, a) =>
        {
            var m = Convert.ToInt64(a[0]);
            foreach (var v in a[1..])
            {
                m = Math.Max(m, Convert.ToInt64(v));
            }

            return m;
        });
        Alias(f, "biggest", "max");
        Variadic(f, "min", s_any2, (_, a) =>
        {
            var m = Convert.ToInt64(a[0]);
            foreach (var v in a[1..])
            {
                m = Math.Min(m, Convert.ToInt64(v));
            }

            return m;
        });
        Variadic(f, "addf", s_any, (_, a) =>
        {
            decimal sum = 0;
            foreach (var v in a)
            {
                sum += ToDecimal(v);
            }

            return (double)sum;
        });
        Fixed(f, "add1f", s_any, (_, a) => (double)(ToDecimal(a[0]) + 1));
        Variadic(f, "subf", s_any2, (_, a) =>
        {
            var r = ToDecimal(a[0]);
            foreach (var v in a[1..])
            {
                r -= ToDecimal(v);
            }

            return (double)r;
        });
        Variadic(f, "mulf", s_any2, (_, a) =>
        {
            var r = ToDecimal(a[0]);
            foreach (var v in a[1..])
            {
                r *= ToDecimal(v);
            }

            return (double)r;
        });
        Variadic(f, "divf", s_any2, (_, a) =>
        {
            var r = ToDecimal(a[0]);
            foreach (var v in a[1..])
            {
                var d = ToDecimal(v);
                if (d == 0)
                {
                    throw new TemplateFunctionException("decimal division by 0");
                }

                r /= d;
            }

            return (double)r;
        });
        Variadic(f, "maxf", s_any2, (_, a) =>
        {
            var m = Convert.ToFloat64(a[0]);
            foreach (var v in a[1..])
            {
                m = Math.Max(m, Convert.ToFloat64(v));
            }

            return m;
        });
        Variadic(f, "minf", s_any2, (_, a) =>
        {
            var m = Convert.ToFloat64(a[0]);
            foreach (var v in a[1..])
            {
                m = Math.Min(m, Convert.ToFloat64(v));
            }

            return m;
        });
        Fixed(f, "ceil", s_any, (_, a) => Math.Ceiling(Convert.ToFloat64(a[0])));
        Fixed(f, "floor", s_any, (_, a) => Math.Floor(Convert.ToFloat64(a[0])));
        Variadic(f, "round", [ParamKind.Any, ParamKind.Int, ParamKind.Float64], (_, a) => Round(Convert.ToFloat64(a[0]), (int)a[1]!, a.Length > 2 ? (double)a[2]! : 0.5));
        Fixed(f, "int", s_any, (_, a) => Convert.GoInt(Convert.ToInt64(a[0])));
        Fixed(f, "int64", s_any, (_, a) => Convert.ToInt64(a[0]));
        Fixed(f, "float64", s_any, (_, a) => Convert.ToFloat64(a[0]));
        Fixed(f, "atoi", s_str, (_, a) => int.TryParse((string)a[0]!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? GoValue.Box(i) : Convert.GoInt(long.TryParse((string)a[0]!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? l : 0));
        Fixed(f, "toDecimal", s_any, (_, a) => Parsing.NumberParsing.TryParseInt("0o" + Convert.Strval(a[0]).TrimStart('0'), out var v) ? v : 0L);
        Fixed(f, "until", [ParamKind.Int], (c, a) => UntilStep(c, 0, (int)a[0]!, (int)a[0]! < 0 ? -1 : 1));
        Fixed(f, "untilStep", [ParamKind.Int, ParamKind.Int, ParamKind.Int], (c, a) => UntilStep(c, (int)a[0]!, (int)a[1]!, (int)a[2]!));
        Variadic(f, "seq", [ParamKind.Int], (c, a) => Seq(c, a));
        Fixed(f, "randInt", [ParamKind.Int, ParamKind.Int], (_, a) =>
        {
            var min = (int)a[0]!;
            var max = (int)a[1]!;
            if (max <= min)
            {
                throw new TemplateFunctionException("invalid argument to Intn");
            }

            return GoValue.Box(RandomNumberGenerator.GetInt32(min, max));
        });
    }

    private static decimal ToDecimal(object? v)
    {
        var d = Convert.ToFloat64(v);
        try
        {
            return (decimal)d;
        }
        catch (OverflowException)
        {
            throw new TemplateFunctionException($"value {GoFormat.Sprint(v)} is out of range");
        }
    }

    private static long Div(long a, long b, bool mod)
    {
        if (b == 0)
        {
            throw new TemplateFunctionException("runtime error: integer divide by zero");
        }

        if (b == -1)
        {
            return mod ? 0 : unchecked(-a);
        }

        return mod ? a % b : a / b;
    }

    private static double Round(double a, int p, double roundOn)
    {
        var pow = Math.Pow(10, p);
        var digit = pow * a;
        var (intPart, frac) = (Math.Truncate(digit), digit - Math.Truncate(digit));
        var round = frac >= roundOn ? Math.Ceiling(digit) : Math.Floor(digit);
        _ = intPart;
        return round / pow;
    }

    private static int[] UntilStep(RenderContext c, int start, int stop, int step)
    {
        long count = 0;
        if (stop < start)
        {
            if (step >= 0)
            {
                return [];
            }

            count = ((long)start - stop + (-(long)step) - 1) / -(long)step;
        }
        else
        {
            if (step <= 0)
            {
                return [];
            }

            count = ((long)stop - start + step - 1) / step;
        }

        // Charge before allocating: until 100000000 must fail on the budget, not exhaust memory.
        c.Charge(count);
        var result = new int[count];
        long v = start;
        for (var i = 0; i < count; i++)
        {
            result[i] = (int)v;
            v += step;
        }

        return result;
    }

    private static string Seq(RenderContext c, ReadOnlySpan<object?> a)
    {
        int[] values;
        switch (a.Length)
        {
            case 1:
                {
                    var end = (int)a[0]!;
                    var inc = end < 1 ? -1 : 1;
                    values = UntilStep(c, 1, end + inc, inc);
                    break;
                }

            case 2:
                {
                    var start = (int)a[0]!;
                    var end = (int)a[1]!;
                    var step = end < start ? -1 : 1;
                    values = UntilStep(c, start, end + step, step);
                    break;
                }

            case 3:
                {
                    var start = (int)a[0]!;
                    var step = (int)a[1]!;
                    var end = (int)a[2]!;
                    var inc = 1;
                    if (end < start)
                    {
                        inc = -1;
                        if (step > 0)
                        {
                            return "";
                        }
                    }

                    values = UntilStep(c, start, end + inc, step);
                    break;
                }

            default:
                return "";
        }

        return string.Join(' ', values);
    }
}
