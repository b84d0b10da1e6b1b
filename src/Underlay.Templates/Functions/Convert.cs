using System.Collections;
using System.Globalization;
using Underlay.Templates.Parsing;
using Underlay.Templates.Values;

namespace Underlay.Templates.Functions;

/// <summary>The conversions Sprig relies on: its strval/strslice and spf13/cast's ToInt64/ToFloat64.</summary>
internal static class Convert
{
    /// <summary>Sprig's strval: strings as they are, byte slices decoded, everything else as %v.</summary>
    public static string Strval(object? v) => v switch
    {
        string s => s,
        byte[] b => System.Text.Encoding.UTF8.GetString(b),
        _ => GoFormat.Sprint(v),
    };

    /// <summary>Sprig's strslice: a list's non-nil elements as strings, or the value itself as one string.</summary>
    public static string[] Strslice(object? v)
    {
        switch (v)
        {
            case string[] ss:
                return ss;
            case null or NoValue:
                return [];
            case byte[] bytes:
                return [Strval(bytes)];
            case IList list:
                var result = new List<string>(list.Count);
                foreach (var e in list)
                {
                    if (e is not null)
                    {
                        result.Add(Strval(e));
                    }
                }

                return [.. result];
            default:
                return [Strval(v)];
        }
    }

    /// <summary>cast.ToInt64: numbers truncate, strings parse with Go's base prefixes (0 on failure), bools are 0/1.</summary>
    public static long ToInt64(object? v)
    {
        switch (v)
        {
            case int i:
                return i;
            case long l:
                return l;
            case double d:
                return double.IsNaN(d) ? long.MinValue : d >= 9.2233720368547758E+18 || d < -9.2233720368547758E+18 ? long.MinValue : (long)d;
            case float f:
                return (long)f;
            case bool b:
                return b ? 1 : 0;
            case string s:
                return NumberParsing.TryParseInt(TrimZeroDecimal(s), out var parsed) ? parsed : 0;
            case not null when GoValue.IsInteger(v):
                return GoValue.ToInt64(v);
            default:
                return 0;
        }
    }

    private static string TrimZeroDecimal(string s)
    {
        // cast strips a ".0", ".00"... fraction so "3.0" parses as 3.
        var dot = s.LastIndexOf('.');
        if (dot <= 0 || dot == s.Length - 1)
        {
            return s;
        }

        for (var i = dot + 1; i < s.Length; i++)
        {
            if (s[i] != '0')
            {
                return s;
            }
        }

        return s[..dot];
    }

    public static double ToFloat64(object? v) => v switch
    {
        double d => d,
        float f => f,
        bool b => b ? 1 : 0,
        string s => ParseGoFloat(s),
        ulong ul => ul,
        not null when GoValue.IsInteger(v) => GoValue.ToInt64(v),
        _ => 0,
    };

    /// <summary>strconv.ParseFloat as cast uses it: also "Inf", "+inf", "infinity", "NaN"; 0 when invalid.</summary>
    private static double ParseGoFloat(string s)
    {
        var body = s.TrimStart('+', '-');
        var neg = s.StartsWith('-');
        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            return neg ? double.NegativeInfinity : double.PositiveInfinity;
        }

        if (body.Equals("nan", StringComparison.OrdinalIgnoreCase) && s.Length == 3)
        {
            return double.NaN;
        }

        return NumberParsing.TryParseFloat(s, out var d) ? d : 0;
    }

    /// <summary>A Go int result: boxed C# int when it fits, else long.</summary>
    public static object GoInt(long v) => v is >= int.MinValue and <= int.MaxValue ? GoValue.Box((int)v) : (object)v;

    /// <summary>The list argument of a Sprig list function; <paramref name="error"/> is Sprig's message before the kind.</summary>
    public static IList AsList(object? v, string error)
    {
        return v switch
        {
            IList l => l,
            null or NoValue => throw new TemplateFunctionException("runtime error: invalid memory address or nil pointer dereference"),
            _ => throw new TemplateFunctionException($"{error} {GoValue.KindName(v)}"),
        };
    }

    public static List<object?> CopyList(IList list, int extra = 0)
    {
        var result = new List<object?>(list.Count + extra);
        foreach (var e in list)
        {
            result.Add(e);
        }

        return result;
    }
}
