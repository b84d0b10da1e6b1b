using System.Collections;
using System.Globalization;
using System.Text;
using Underlay.Templates.Execution;

namespace Underlay.Templates.Values;

/// <summary>
/// Go's fmt and strconv output rules over engine values: %v of maps (<c>map[a:1 b:2]</c>), slices
/// (<c>[1 2 3]</c>) and floats (<c>1e+06</c>), Sprint's spacing, Printf's verbs, flags, widths and its
/// <c>%!d(string=x)</c> error forms, and strconv.Quote.
/// </summary>
internal static class GoFormat
{
    private const int MaxDepth = 100;

    // ---------- strconv.Quote ----------

    public static string Quote(string s) => Quote(s, '"', asciiOnly: false);

    public static string Quote(string s, char quote, bool asciiOnly)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendQuoted(sb, s, quote, asciiOnly);
        return sb.ToString();
    }

    public static void AppendQuoted(StringBuilder sb, string s, char quote, bool asciiOnly)
    {
        sb.Append(quote);
        foreach (var rune in s.EnumerateRunes())
        {
            AppendEscapedRune(sb, rune.Value, quote, asciiOnly);
        }

        sb.Append(quote);
    }

    private static void AppendEscapedRune(StringBuilder sb, int r, char quote, bool asciiOnly)
    {
        if (r == quote || r == '\\')
        {
            sb.Append('\\').Append((char)r);
            return;
        }

        if (asciiOnly ? r < 0x80 && IsPrint(r) : IsPrint(r))
        {
            sb.Append(char.ConvertFromUtf32(r));
            return;
        }

        switch (r)
        {
            case '\a': sb.Append("\\a"); return;
            case '\b': sb.Append("\\b"); return;
            case '\f': sb.Append("\\f"); return;
            case '\n': sb.Append("\\n"); return;
            case '\r': sb.Append("\\r"); return;
            case '\t': sb.Append("\\t"); return;
            case '\v': sb.Append("\\v"); return;
        }

        if (r < ' ' || r == 0x7F)
        {
            sb.Append("\\x").Append(r.ToString("x2", CultureInfo.InvariantCulture));
        }
        else if (r == 0xFFFD)
        {
            sb.Append("\\ufffd");
        }
        else if (r < 0x10000)
        {
            sb.Append("\\u").Append(r.ToString("x4", CultureInfo.InvariantCulture));
        }
        else
        {
            sb.Append("\\U").Append(r.ToString("x8", CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Go's unicode.IsPrint: graphic characters plus the ASCII space.</summary>
    public static bool IsPrint(int r)
    {
        if (r < 0x80)
        {
            return r >= 0x20 && r < 0x7F;
        }

        if (r > 0x10FFFF)
        {
            return false;
        }

        var cat = CharUnicodeInfo.GetUnicodeCategory(r);
        return cat switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }

    // ---------- Print / Sprint ----------

    /// <summary>fmt.Sprint of one value (%v).</summary>
    public static string Sprint(object? value)
    {
        switch (value)
        {
            case string s:
                return s;
            case int i:
                return i.ToString(CultureInfo.InvariantCulture);
            case long l:
                return l.ToString(CultureInfo.InvariantCulture);
            case bool b:
                return b ? "true" : "false";
        }

        var p = new Printer();
        p.PrintArg(value, 'v', 0);
        return p.ToString();
    }

    /// <summary>Prints a value as text/template's printValue does (fmt.Fprint of the value).</summary>
    public static void AppendValue(OutputBuffer output, object? value, Action<long> charge)
    {
        if (value is double d)
        {
            output.Append(FormatFloat(d, 'g', -1, 64));
            return;
        }

        var p = new Printer();
        p.PrintArg(value, 'v', 0);
        charge(p.Length / 64);
        output.Append(p.ToString());
    }

    /// <summary>fmt.Sprint: spaces between operands when neither side is a string.</summary>
    public static string SprintMany(ReadOnlySpan<object?> args)
    {
        var p = new Printer();
        var prevString = false;
        for (var i = 0; i < args.Length; i++)
        {
            var isString = args[i] is string;
            if (i > 0 && !isString && !prevString)
            {
                p.Sb.Append(' ');
            }

            p.PrintArg(args[i], 'v', 0);
            prevString = isString;
        }

        return p.ToString();
    }

    /// <summary>fmt.Sprintln: always spaces, then a newline.</summary>
    public static string Sprintln(ReadOnlySpan<object?> args)
    {
        var p = new Printer();
        for (var i = 0; i < args.Length; i++)
        {
            if (i > 0)
            {
                p.Sb.Append(' ');
            }

            p.PrintArg(args[i], 'v', 0);
        }

        p.Sb.Append('\n');
        return p.ToString();
    }

    public static string Sprintf(string format, ReadOnlySpan<object?> args)
    {
        var p = new Printer();
        p.DoPrintf(format, args);
        return p.ToString();
    }

    // ---------- floats (strconv.FormatFloat) ----------

    /// <summary>Decimal digits of |v| (no leading/trailing zeros) and the decimal point position: v = 0.digits × 10^dp.</summary>
    private static (string Digits, int Dp) DecimalDigits(double a, int bitSize, int significant)
    {
        if (a == 0)
        {
            return ("", 0);
        }

        string s;
        if (significant < 0)
        {
            s = bitSize == 32 ? ((float)a).ToString("E8", CultureInfo.InvariantCulture) : a.ToString("R", CultureInfo.InvariantCulture);
            if (bitSize == 32)
            {
                // Shortest float32 digits.
                s = ((float)a).ToString("R", CultureInfo.InvariantCulture);
            }
        }
        else
        {
            s = a.ToString("E" + (significant - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }

        var exp = 0;
        var e = s.IndexOfAny(['E', 'e']);
        var mant = s;
        if (e >= 0)
        {
            exp = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mant = s[..e];
        }

        var dot = mant.IndexOf('.', StringComparison.Ordinal);
        var intLen = dot < 0 ? mant.Length : dot;
        var digits = dot < 0 ? mant : string.Concat(mant.AsSpan(0, dot), mant.AsSpan(dot + 1));
        var dp = intLen + exp;
        var lead = 0;
        while (lead < digits.Length && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        dp -= lead;
        digits = digits.TrimEnd('0');
        return (digits, dp);
    }

    public static string FormatFloat(double v, char fmt, int prec, int bitSize)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        var neg = v < 0 || (v == 0 && double.IsNegative(v));
        var a = Math.Abs(v);
        var sb = new StringBuilder(24);
        var shortest = prec < 0;
        var lower = char.ToLowerInvariant(fmt);
        if (lower == 'f' && !shortest)
        {
            if (neg)
            {
                sb.Append('-');
            }

            sb.Append((bitSize == 32 ? (double)(float)a : a).ToString("F" + prec.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        string digits;
        int dp;
        if (shortest)
        {
            (digits, dp) = DecimalDigits(a, bitSize, -1);
            prec = lower switch
            {
                'e' => Math.Max(digits.Length - 1, 0),
                'f' => Math.Max(digits.Length - dp, 0),
                _ => digits.Length,
            };
        }
        else if (lower == 'e')
        {
            (digits, dp) = DecimalDigits(a, bitSize, prec + 1);
        }
        else
        {
            if (prec == 0)
            {
                prec = 1;
            }

            (digits, dp) = DecimalDigits(a, bitSize, prec);
        }

        switch (lower)
        {
            case 'e':
                FmtE(sb, neg, digits, dp, prec, fmt);
                break;
            case 'f':
                FmtF(sb, neg, digits, dp, prec);
                break;
            default:
                {
                    var eprec = prec;
                    if (eprec > digits.Length && digits.Length >= dp)
                    {
                        eprec = digits.Length;
                    }

                    if (shortest)
                    {
                        eprec = 6;
                    }

                    var exp = dp - 1;
                    if (exp < -4 || exp >= eprec)
                    {
                        if (prec > digits.Length)
                        {
                            prec = digits.Length;
                        }

                        FmtE(sb, neg, digits, dp, prec - 1, fmt == 'G' ? 'E' : 'e');
                        break;
                    }

                    if (prec > dp)
                    {
                        prec = digits.Length;
                    }

                    FmtF(sb, neg, digits, dp, Math.Max(prec - dp, 0));
                    break;
                }
        }

        return sb.ToString();
    }

    private static void FmtE(StringBuilder sb, bool neg, string d, int dp, int prec, char fmt)
    {
        if (neg)
        {
            sb.Append('-');
        }

        sb.Append(d.Length > 0 ? d[0] : '0');
        if (prec > 0)
        {
            sb.Append('.');
            var i = 1;
            var m = Math.Min(d.Length, prec + 1);
            if (i < m)
            {
                sb.Append(d, i, m - i);
                i = m;
            }

            for (; i <= prec; i++)
            {
                sb.Append('0');
            }
        }

        sb.Append(fmt);
        var exp = d.Length == 0 ? 0 : dp - 1;
        sb.Append(exp < 0 ? '-' : '+');
        exp = Math.Abs(exp);
        if (exp < 10)
        {
            sb.Append('0').Append((char)('0' + exp));
        }
        else
        {
            sb.Append(exp.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void FmtF(StringBuilder sb, bool neg, string d, int dp, int prec)
    {
        if (neg)
        {
            sb.Append('-');
        }

        if (dp > 0)
        {
            var m = Math.Min(d.Length, dp);
            sb.Append(d, 0, m);
            for (; m < dp; m++)
            {
                sb.Append('0');
            }
        }
        else
        {
            sb.Append('0');
        }

        if (prec > 0)
        {
            sb.Append('.');
            for (var i = 1; i <= prec; i++)
            {
                var j = dp + i - 1;
                sb.Append(j >= 0 && j < d.Length ? d[j] : '0');
            }
        }
    }

    /// <summary>encoding/json's float output: like %f, switching to %e (with a trimmed exponent) outside 1e-6..1e21.</summary>
    public static string JsonFloat(double v, int bitSize = 64)
    {
        var abs = Math.Abs(v);
        var fmt = 'f';
        if (abs != 0)
        {
            if (bitSize == 64 && (abs < 1e-6 || abs >= 1e21) || bitSize == 32 && ((float)abs < 1e-6f || (float)abs >= 1e21f))
            {
                fmt = 'e';
            }
        }

        var s = FormatFloat(v, fmt, -1, bitSize);
        if (fmt == 'e')
        {
            // clean up e-09 to e-9
            var n = s.Length;
            if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0')
            {
                s = string.Concat(s.AsSpan(0, n - 2), s.AsSpan(n - 1));
            }
        }

        return s;
    }

    // ---------- the printer ----------

    /// <summary>One Sprintf/Sprint operation: the flags of the current verb and the output.</summary>
    private sealed class Printer
    {
        public readonly StringBuilder Sb = new();
        private bool _plus;
        private bool _minus;
        private bool _sharp;
        private bool _space;
        private bool _zero;
        private bool _plusV;
        private bool _sharpV;
        private bool _widPresent;
        private bool _precPresent;
        private int _wid;
        private int _prec;

        public int Length => Sb.Length;

        public override string ToString() => Sb.ToString();

        private void ClearFlags()
        {
            _plus = _minus = _sharp = _space = _zero = _plusV = _sharpV = _widPresent = _precPresent = false;
            _wid = _prec = 0;
        }

        private void WritePadding(int n)
        {
            if (n <= 0)
            {
                return;
            }

            Sb.Append(_zero ? '0' : ' ', n);
        }

        private void Pad(string s)
        {
            if (!_widPresent || _wid == 0)
            {
                Sb.Append(s);
                return;
            }

            var width = _wid - CountRunes(s);
            if (!_minus)
            {
                WritePadding(width);
                Sb.Append(s);
            }
            else
            {
                Sb.Append(s);
                var z = _zero;
                _zero = false;
                WritePadding(width);
                _zero = z;
            }
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

        public void DoPrintf(string format, ReadOnlySpan<object?> args)
        {
            var end = format.Length;
            var argNum = 0;
            var reordered = false;
            for (var i = 0; i < end;)
            {
                var lasti = i;
                while (i < end && format[i] != '%')
                {
                    i++;
                }

                if (i > lasti)
                {
                    Sb.Append(format, lasti, i - lasti);
                }

                if (i >= end)
                {
                    break;
                }

                i++;
                ClearFlags();
                for (; i < end; i++)
                {
                    var c = format[i];
                    if (c == '#')
                    {
                        _sharp = true;
                    }
                    else if (c == '0')
                    {
                        _zero = !_minus;
                    }
                    else if (c == '+')
                    {
                        _plus = true;
                    }
                    else if (c == '-')
                    {
                        _minus = true;
                        _zero = false;
                    }
                    else if (c == ' ')
                    {
                        _space = true;
                    }
                    else
                    {
                        break;
                    }
                }

                var afterIndex = false;
                if (i < end && format[i] == '[')
                {
                    reordered = true;
                    (argNum, i, afterIndex) = ArgNumber(argNum, format, i, args.Length);
                }

                if (i < end && format[i] == '*')
                {
                    i++;
                    (_wid, _widPresent, argNum) = IntFromArg(args, argNum);
                    if (!_widPresent)
                    {
                        Sb.Append("%!(BADWIDTH)");
                    }

                    if (_wid < 0)
                    {
                        _wid = -_wid;
                        _minus = true;
                        _zero = false;
                    }

                    afterIndex = false;
                }
                else
                {
                    (_wid, _widPresent, i) = ParseNum(format, i, end);
                    if (afterIndex && _widPresent)
                    {
                        Sb.Append("%!(BADWIDTH)");
                    }
                }

                if (i + 1 <= end && i < end && format[i] == '.')
                {
                    i++;
                    if (afterIndex)
                    {
                        Sb.Append("%!(BADPREC)");
                    }

                    if (i < end && format[i] == '[')
                    {
                        reordered = true;
                        (argNum, i, afterIndex) = ArgNumber(argNum, format, i, args.Length);
                    }

                    if (i < end && format[i] == '*')
                    {
                        i++;
                        (_prec, _precPresent, argNum) = IntFromArg(args, argNum);
                        if (_prec < 0)
                        {
                            _prec = 0;
                            _precPresent = false;
                        }

                        if (!_precPresent)
                        {
                            Sb.Append("%!(BADPREC)");
                        }

                        afterIndex = false;
                    }
                    else
                    {
                        (_prec, _precPresent, i) = ParseNum(format, i, end);
                        if (!_precPresent)
                        {
                            _prec = 0;
                            _precPresent = true;
                        }
                    }
                }

                if (!afterIndex && i < end && format[i] == '[')
                {
                    reordered = true;
                    (argNum, i, afterIndex) = ArgNumber(argNum, format, i, args.Length);
                }

                if (i >= end)
                {
                    Sb.Append("%!(NOVERB)");
                    break;
                }

                var verb = char.ConvertToUtf32(format, i);
                i += verb > 0xFFFF ? 2 : 1;
                if (verb == '%')
                {
                    Sb.Append('%');
                    continue;
                }

                if (argNum < 0)
                {
                    AppendBadVerbStart(verb);
                    Sb.Append("(BADINDEX)");
                    argNum = 0;
                    continue;
                }

                if (argNum >= args.Length)
                {
                    AppendBadVerbStart(verb);
                    Sb.Append("(MISSING)");
                    continue;
                }

                if (verb == 'v')
                {
                    if (_sharp)
                    {
                        _sharp = false;
                        _sharpV = true;
                    }

                    if (_plus)
                    {
                        _plus = false;
                        _plusV = true;
                    }
                }

                PrintArg(args[argNum], verb, 0);
                argNum++;
            }

            if (!reordered && argNum < args.Length)
            {
                ClearFlags();
                Sb.Append("%!(EXTRA ");
                for (var k = argNum; k < args.Length; k++)
                {
                    if (k > argNum)
                    {
                        Sb.Append(", ");
                    }

                    var arg = args[k];
                    if (arg is null or NoValue)
                    {
                        Sb.Append("<nil>");
                    }
                    else
                    {
                        Sb.Append(GoValue.TypeName(arg)).Append('=');
                        PrintArg(arg, 'v', 0);
                    }
                }

                Sb.Append(')');
            }
        }

        private void AppendBadVerbStart(int verb) => Sb.Append("%!").Append(char.ConvertFromUtf32(verb));

        private static (int Num, int I, bool Found) ArgNumber(int argNum, string format, int i, int numArgs)
        {
            if (format.Length - i < 3)
            {
                return (argNum, i, false);
            }

            for (var j = i + 1; j < format.Length; j++)
            {
                if (format[j] == ']')
                {
                    var (n, ok, newi) = ParseNum(format, i + 1, j);
                    if (!ok || newi != j)
                    {
                        return (-1, j + 1, false);
                    }

                    if (n - 1 < 0 || n - 1 >= numArgs)
                    {
                        return (-1, j + 1, true);
                    }

                    return (n - 1, j + 1, true);
                }
            }

            return (-1, i + 1, false);
        }

        private static (int Num, bool Present, int I) ParseNum(string s, int start, int end)
        {
            if (start >= end)
            {
                return (0, false, end);
            }

            var num = 0;
            var present = false;
            var i = start;
            for (; i < end && char.IsAsciiDigit(s[i]); i++)
            {
                if (num > 1_000_000)
                {
                    return (0, false, end);
                }

                num = (num * 10) + (s[i] - '0');
                present = true;
            }

            return (num, present, i);
        }

        private static (int Value, bool Ok, int ArgNum) IntFromArg(ReadOnlySpan<object?> args, int argNum)
        {
            if (argNum < args.Length)
            {
                var arg = args[argNum];
                if (GoValue.IsInteger(arg))
                {
                    var v = GoValue.ToInt64(arg!);
                    if (v is > 1_000_000 or < -1_000_000)
                    {
                        return (0, false, argNum + 1);
                    }

                    return ((int)v, true, argNum + 1);
                }

                return (0, false, argNum + 1);
            }

            return (0, false, argNum);
        }

        private void BadVerb(int verb, object? arg, int depth)
        {
            AppendBadVerbStart(verb);
            Sb.Append('(');
            if (arg is null or NoValue)
            {
                Sb.Append("<nil>");
            }
            else
            {
                Sb.Append(GoValue.TypeName(arg)).Append('=');
                var saved = (_plus, _minus, _sharp, _space, _zero, _widPresent, _precPresent);
                _plus = _minus = _sharp = _space = _zero = _widPresent = _precPresent = false;
                PrintArg(arg, 'v', depth);
                (_plus, _minus, _sharp, _space, _zero, _widPresent, _precPresent) = saved;
            }

            Sb.Append(')');
        }

        public void PrintArg(object? arg, int verb, int depth)
        {
            if (depth > MaxDepth)
            {
                throw new TemplateFunctionException("value nesting too deep to print");
            }

            if (arg is null or NoValue)
            {
                if (verb is 'T' or 'v')
                {
                    Pad("<nil>");
                }
                else
                {
                    BadVerb(verb, null, depth);
                }

                return;
            }

            if (verb == 'T')
            {
                Pad(GoValue.TypeName(arg));
                return;
            }

            switch (arg)
            {
                case bool b:
                    if (verb is 't' or 'v')
                    {
                        Pad(b ? "true" : "false");
                    }
                    else
                    {
                        BadVerb(verb, arg, depth);
                    }

                    return;
                case double d:
                    FmtFloat(d, 64, verb, arg, depth);
                    return;
                case float f:
                    FmtFloat(f, 32, verb, arg, depth);
                    return;
                case string s:
                    FmtString(s, verb, arg, depth);
                    return;
                case byte[] bytes:
                    FmtBytes(bytes, verb, arg, depth);
                    return;
            }

            if (GoValue.IsInteger(arg))
            {
                var signed = arg is int or long or short or sbyte;
                FmtInteger(signed ? unchecked((ulong)GoValue.ToInt64(arg)) : GoValue.ToUInt64(arg), signed, verb, arg, depth);
                return;
            }

            if (arg is IList list)
            {
                if (_sharpV)
                {
                    Sb.Append(GoValue.TypeName(arg)).Append('{');
                    for (var i = 0; i < list.Count; i++)
                    {
                        if (i > 0)
                        {
                            Sb.Append(", ");
                        }

                        PrintElement(list[i], verb, depth + 1);
                    }

                    Sb.Append('}');
                    return;
                }

                Sb.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        Sb.Append(' ');
                    }

                    PrintElement(list[i], verb, depth + 1);
                }

                Sb.Append(']');
                return;
            }

            if (GoValue.IsMap(arg))
            {
                var keys = GoValue.SortedKeys(arg);
                if (_sharpV)
                {
                    Sb.Append(GoValue.TypeName(arg)).Append('{');
                    for (var i = 0; i < keys.Length; i++)
                    {
                        if (i > 0)
                        {
                            Sb.Append(", ");
                        }

                        PrintArg(keys[i], verb, depth + 1);
                        Sb.Append(':');
                        PrintElement(GoValue.MapGet(arg, keys[i]), verb, depth + 1);
                    }

                    Sb.Append('}');
                    return;
                }

                Sb.Append("map[");
                for (var i = 0; i < keys.Length; i++)
                {
                    if (i > 0)
                    {
                        Sb.Append(' ');
                    }

                    PrintArg(keys[i], verb, depth + 1);
                    Sb.Append(':');
                    PrintElement(GoValue.MapGet(arg, keys[i]), verb, depth + 1);
                }

                Sb.Append(']');
                return;
            }

            if (arg is TemplateFunction)
            {
                Pad("0xfunc");
                return;
            }

            Pad(arg.ToString() ?? "");
        }

        private void PrintElement(object? value, int verb, int depth)
        {
            ValueLimit.Check(Sb.Length);
            // Nil interface elements print as <nil> whatever the verb.
            if (value is null or NoValue)
            {
                Pad(_sharpV ? "interface {}(nil)" : "<nil>");
                return;
            }

            PrintArg(value, verb, depth);
        }

        private void FmtString(string s, int verb, object arg, int depth)
        {
            switch (verb)
            {
                case 'v':
                    if (_sharpV)
                    {
                        Pad(Quote(s));
                    }
                    else
                    {
                        PadString(s);
                    }

                    return;
                case 's':
                    PadString(s);
                    return;
                case 'x':
                    FmtHex(Encoding.UTF8.GetBytes(s), false);
                    return;
                case 'X':
                    FmtHex(Encoding.UTF8.GetBytes(s), true);
                    return;
                case 'q':
                    FmtQ(s);
                    return;
                default:
                    BadVerb(verb, arg, depth);
                    return;
            }
        }

        private void PadString(string s)
        {
            if (_precPresent)
            {
                s = TruncateRunes(s, _prec);
            }

            Pad(s);
        }

        private static string TruncateRunes(string s, int n)
        {
            var count = 0;
            for (var i = 0; i < s.Length; i++)
            {
                if (char.IsLowSurrogate(s[i]))
                {
                    continue;
                }

                if (count == n)
                {
                    return s[..i];
                }

                count++;
            }

            return s;
        }

        private void FmtQ(string s)
        {
            if (_precPresent)
            {
                s = TruncateRunes(s, _prec);
            }

            if (_sharp && !s.Contains('`', StringComparison.Ordinal) && CanBackquote(s))
            {
                Pad("`" + s + "`");
                return;
            }

            Pad(Quote(s, '"', _plus));
        }

        private static bool CanBackquote(string s)
        {
            foreach (var c in s)
            {
                if ((c < ' ' && c != '\t') || c == 0x7F || c == '\uFEFF')
                {
                    return false;
                }
            }

            return true;
        }

        private void FmtBytes(byte[] bytes, int verb, object arg, int depth)
        {
            switch (verb)
            {
                case 'v' or 'd':
                    if (_sharpV)
                    {
                        Sb.Append("[]byte{");
                        for (var i = 0; i < bytes.Length; i++)
                        {
                            if (i > 0)
                            {
                                Sb.Append(", ");
                            }

                            Sb.Append("0x").Append(bytes[i].ToString("x", CultureInfo.InvariantCulture));
                        }

                        Sb.Append('}');
                        return;
                    }

                    Sb.Append('[');
                    for (var i = 0; i < bytes.Length; i++)
                    {
                        if (i > 0)
                        {
                            Sb.Append(' ');
                        }

                        FmtInteger(bytes[i], false, verb, bytes[i], depth);
                    }

                    Sb.Append(']');
                    return;
                case 's':
                    PadString(Encoding.UTF8.GetString(bytes));
                    return;
                case 'x':
                    FmtHex(bytes, false);
                    return;
                case 'X':
                    FmtHex(bytes, true);
                    return;
                case 'q':
                    FmtQ(Encoding.UTF8.GetString(bytes));
                    return;
                default:
                    BadVerb(verb, arg, depth);
                    return;
            }
        }

        private void FmtHex(byte[] bytes, bool upper)
        {
            var n = bytes.Length;
            if (_precPresent && _prec < n)
            {
                n = _prec;
            }

            var sb = new StringBuilder();
            for (var i = 0; i < n; i++)
            {
                if (_space && i > 0)
                {
                    sb.Append(' ');
                }

                if (_sharp && (_space || i == 0))
                {
                    sb.Append(upper ? "0X" : "0x");
                }

                sb.Append(bytes[i].ToString(upper ? "X2" : "x2", CultureInfo.InvariantCulture));
            }

            Pad(sb.ToString());
        }

        private void FmtInteger(ulong u, bool signed, int verb, object arg, int depth)
        {
            switch (verb)
            {
                case 'v':
                    if (_sharpV && !signed)
                    {
                        FmtIntegerBase(u, signed, 16, 'v', false);
                    }
                    else
                    {
                        FmtIntegerBase(u, signed, 10, 'v', false);
                    }

                    return;
                case 'd':
                    FmtIntegerBase(u, signed, 10, verb, false);
                    return;
                case 'b':
                    FmtIntegerBase(u, signed, 2, verb, false);
                    return;
                case 'o' or 'O':
                    FmtIntegerBase(u, signed, 8, verb, false);
                    return;
                case 'x':
                    FmtIntegerBase(u, signed, 16, verb, false);
                    return;
                case 'X':
                    FmtIntegerBase(u, signed, 16, verb, true);
                    return;
                case 'c':
                    Pad(RuneString(u, signed));
                    return;
                case 'q':
                    {
                        var r = RuneValue(u, signed);
                        var sb = new StringBuilder();
                        sb.Append('\'');
                        AppendEscapedRune(sb, r, '\'', _plus);
                        sb.Append('\'');
                        Pad(sb.ToString());
                        return;
                    }

                case 'U':
                    {
                        var s = "U+" + u.ToString("X4", CultureInfo.InvariantCulture);
                        if (_sharp && u <= 0x10FFFF && IsPrint((int)u))
                        {
                            s += " '" + char.ConvertFromUtf32((int)u) + "'";
                        }

                        Pad(s);
                        return;
                    }

                default:
                    BadVerb(verb, arg, depth);
                    return;
            }
        }

        private static int RuneValue(ulong u, bool signed)
        {
            var v = signed ? unchecked((long)u) : (long)Math.Min(u, long.MaxValue);
            if (v is < 0 or > 0x10FFFF or (>= 0xD800 and < 0xE000))
            {
                return 0xFFFD;
            }

            return (int)v;
        }

        private static string RuneString(ulong u, bool signed) => char.ConvertFromUtf32(RuneValue(u, signed));

        private void FmtIntegerBase(ulong u, bool signed, int radix, int verb, bool upper)
        {
            var negative = signed && unchecked((long)u) < 0;
            if (negative)
            {
                u = unchecked(0 - u);
            }

            var prec = 0;
            if (_precPresent)
            {
                prec = _prec;
                if (prec == 0 && u == 0)
                {
                    var z = _zero;
                    _zero = false;
                    WritePadding(_wid);
                    _zero = z;
                    return;
                }
            }
            else if (_zero && _widPresent)
            {
                prec = _wid;
                if (negative || _plus || _space)
                {
                    prec--;
                }
            }

            var digits = radix switch
            {
                10 => u.ToString(CultureInfo.InvariantCulture),
                16 => u.ToString(upper ? "X" : "x", CultureInfo.InvariantCulture),
                8 => ToRadix(u, 8),
                _ => ToRadix(u, 2),
            };
            var sb = new StringBuilder();
            if (digits.Length < prec)
            {
                sb.Append('0', prec - digits.Length);
            }

            sb.Append(digits);
            var prefix = "";
            if (_sharp)
            {
                switch (radix)
                {
                    case 2:
                        prefix = "0b";
                        break;
                    case 8:
                        if (sb[0] != '0')
                        {
                            prefix = "0";
                        }

                        break;
                    case 16:
                        prefix = upper ? "0X" : "0x";
                        break;
                }
            }

            if (verb == 'O')
            {
                prefix = "0o";
            }

            var sign = negative ? "-" : _plus ? "+" : _space ? " " : "";
            var zero = _zero;
            _zero = false;
            Pad(sign + prefix + sb);
            _zero = zero;
        }

        private static string ToRadix(ulong u, int radix)
        {
            if (u == 0)
            {
                return "0";
            }

            var buf = new char[64];
            var i = buf.Length;
            while (u > 0)
            {
                buf[--i] = (char)('0' + (int)(u % (ulong)radix));
                u /= (ulong)radix;
            }

            return new string(buf, i, buf.Length - i);
        }

        private void FmtFloat(double v, int size, int verb, object arg, int depth)
        {
            char fmt;
            var prec = -1;
            switch (verb)
            {
                case 'v':
                    fmt = 'g';
                    break;
                case 'b' or 'g' or 'G' or 'x' or 'X':
                    fmt = (char)verb;
                    break;
                case 'f' or 'e' or 'E':
                    fmt = (char)verb;
                    prec = 6;
                    break;
                case 'F':
                    fmt = 'f';
                    prec = 6;
                    break;
                default:
                    BadVerb(verb, arg, depth);
                    return;
            }

            if (_precPresent)
            {
                prec = _prec;
            }

            if (fmt is 'b' or 'x' or 'X')
            {
                // Binary and hex float forms are not produced; fall back to %g so output stays readable.
                fmt = 'g';
            }

            var num = FormatFloat(v, fmt, prec, size);
            if (_sharpV)
            {
                Pad(num);
                return;
            }

            string sign;
            string body;
            if (num.StartsWith('-') || num.StartsWith('+'))
            {
                sign = num[..1];
                body = num[1..];
            }
            else
            {
                sign = "+";
                body = num;
            }

            if (sign == "+")
            {
                sign = _plus ? "+" : _space ? " " : "";
            }

            var isSpecial = body is "Inf" or "NaN";
            if (body == "Inf" && sign.Length == 0)
            {
                // Go always shows the sign of an infinity.
                sign = "+";
            }

            if (body == "NaN")
            {
                sign = _space ? " " : _plus ? "+" : "";
            }

            if (_zero && _widPresent && _wid > sign.Length + body.Length && !isSpecial && !_minus)
            {
                Sb.Append(sign);
                Sb.Append('0', _wid - sign.Length - body.Length);
                Sb.Append(body);
                return;
            }

            var z = _zero;
            if (isSpecial)
            {
                _zero = false;
            }

            Pad(sign + body);
            _zero = z;
        }
    }
}
