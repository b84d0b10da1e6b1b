using System.Collections;
using System.Runtime.CompilerServices;

namespace Underlay.Templates.Values;

/// <summary>
/// Go's invalid <c>reflect.Value</c>: what a missing map key or an unset pipeline yields. It differs from
/// <see langword="null"/> (a nil interface) in a few places Go makes visible: printing gives <c>&lt;no value&gt;</c>,
/// and a field access on it yields another invalid value instead of a nil-pointer error.
/// </summary>
internal sealed class NoValue
{
    public static readonly NoValue Instance = new();

    private NoValue()
    {
    }

    public override string ToString() => "<no value>";
}

/// <summary>The kinds Go's comparison builtins distinguish (<c>text/template</c> funcs.go basicKind).</summary>
internal enum BasicKind
{
    Invalid,
    Bool,
    Int,
    Float,
    String,
    Uint,
}

/// <summary>
/// Classification and conversion of engine values. The engine's value model is plain CLR objects:
/// <c>null</c> (nil), bool, string, the integer and floating-point primitives, string-keyed dictionaries
/// (Go maps), <see cref="IList"/> (Go slices), <see cref="ITemplateObject"/> (host structs) and
/// <see cref="TemplateFunction"/> (func values for <c>call</c>).
/// </summary>
internal static class GoValue
{
    public static bool IsNil(object? v) => v is null || v is NoValue;

    /// <summary>Go's nil-interface unwrapping: both null and NoValue become NoValue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static object? Indirect(object? v) => v ?? NoValue.Instance;

    public static BasicKind KindOf(object? v) => v switch
    {
        string => BasicKind.String,
        int or long or short or sbyte => BasicKind.Int,
        double or float => BasicKind.Float,
        bool => BasicKind.Bool,
        uint or ulong or byte or ushort => BasicKind.Uint,
        _ => BasicKind.Invalid,
    };

    public static bool IsInteger(object? v) => v is int or long or short or sbyte or uint or ulong or byte or ushort;

    public static long ToInt64(object v) => v switch
    {
        int i => i,
        long l => l,
        short s => s,
        sbyte sb => sb,
        uint u => u,
        ulong ul => unchecked((long)ul),
        byte b => b,
        ushort us => us,
        _ => 0,
    };

    public static ulong ToUInt64(object v) => v switch
    {
        uint u => u,
        ulong ul => ul,
        byte b => b,
        ushort us => us,
        _ => unchecked((ulong)ToInt64(v)),
    };

    public static double ToDouble(object v) => v switch
    {
        double d => d,
        float f => f,
        _ => 0,
    };

    public static bool IsMap(object? v) =>
        v is IReadOnlyDictionary<string, object?> || v is IDictionary<string, object?> || v is IDictionary;

    public static bool IsList(object? v) => v is IList;

    public static int MapCount(object map) => map switch
    {
        IReadOnlyDictionary<string, object?> r => r.Count,
        IDictionary<string, object?> d => d.Count,
        IDictionary nd => nd.Count,
        _ => 0,
    };

    public static bool MapTryGet(object map, string key, out object? value)
    {
        switch (map)
        {
            case IReadOnlyDictionary<string, object?> r:
                return r.TryGetValue(key, out value);
            case IDictionary<string, object?> d:
                return d.TryGetValue(key, out value);
            case IDictionary nd when nd.Contains(key):
                value = nd[key];
                return true;
            default:
                value = null;
                return false;
        }
    }

    /// <summary>Keys in Go's map print and range order (byte-wise for UTF-8, which ordinal UTF-16 matches
    /// outside the surrogate range).</summary>
    public static string[] SortedKeys(object map)
    {
        string[] keys;
        switch (map)
        {
            case IReadOnlyDictionary<string, object?> r:
                keys = new string[r.Count];
                var i = 0;
                foreach (var kv in r)
                {
                    keys[i++] = kv.Key;
                }

                break;
            case IDictionary<string, object?> d:
                keys = new string[d.Count];
                d.Keys.CopyTo(keys, 0);
                break;
            case IDictionary nd:
                keys = new string[nd.Count];
                var j = 0;
                foreach (var k in nd.Keys)
                {
                    keys[j++] = k?.ToString() ?? "";
                }

                break;
            default:
                return [];
        }

        Array.Sort(keys, string.CompareOrdinal);
        return keys;
    }

    public static object? MapGet(object map, string key) => MapTryGet(map, key, out var v) ? v : null;

    /// <summary>Go's <c>isTrue</c>: the truth of a value for if/with/and/or/not.</summary>
    public static bool IsTrue(object? v) => v switch
    {
        null or NoValue => false,
        bool b => b,
        string s => s.Length > 0,
        int i => i != 0,
        long l => l != 0,
        double d => d != 0,
        float f => f != 0,
        uint u => u != 0,
        ulong ul => ul != 0,
        short s => s != 0,
        sbyte sb => sb != 0,
        byte by => by != 0,
        ushort us => us != 0,
        IList list => list.Count > 0,
        _ when IsMap(v) => MapCount(v) > 0,
        _ => true,
    };

    /// <summary>The Go type name used by %T and by error messages.</summary>
    public static string TypeName(object? v) => v switch
    {
        null or NoValue => "<nil>",
        string => "string",
        int => "int",
        long => "int64",
        double => "float64",
        bool => "bool",
        float => "float32",
        uint => "uint",
        ulong => "uint64",
        byte => "uint8",
        sbyte => "int8",
        short => "int16",
        ushort => "uint16",
        byte[] => "[]uint8",
        string[] => "[]string",
        IList => "[]interface {}",
        TemplateFunction => "func",
        _ when IsMap(v) => "map[string]interface {}",
        ITemplateObject o => o.GetType().Name,
        _ => v.GetType().Name,
    };

    /// <summary>Go's reflect kind name, as Sprig's <c>kindOf</c> reports it.</summary>
    public static string KindName(object? v) => v switch
    {
        null or NoValue => "invalid",
        string => "string",
        int => "int",
        long => "int64",
        double => "float64",
        bool => "bool",
        float => "float32",
        uint => "uint",
        ulong => "uint64",
        byte => "uint8",
        sbyte => "int8",
        short => "int16",
        ushort => "uint16",
        IList => "slice",
        TemplateFunction => "func",
        _ when IsMap(v) => "map",
        _ => "struct",
    };

    /// <summary>Go's <c>len</c>; strings count UTF-8 bytes.</summary>
    public static bool TryLen(object? v, out int length)
    {
        switch (v)
        {
            case string s:
                length = Utf8Length(s);
                return true;
            case IList l:
                length = l.Count;
                return true;
            case not null when IsMap(v):
                length = MapCount(v);
                return true;
            default:
                length = 0;
                return false;
        }
    }

    public static int Utf8Length(string s)
    {
        foreach (var c in s)
        {
            if (c >= 0x80)
            {
                return System.Text.Encoding.UTF8.GetByteCount(s);
            }
        }

        return s.Length;
    }

    public static object BoxInt(long value) => value is >= int.MinValue and <= int.MaxValue ? Box((int)value) : value;

    private static readonly object s_true = true;
    private static readonly object s_false = false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static object Box(bool value) => value ? s_true : s_false;

    private static readonly object[] s_smallInts = CreateSmallInts();

    private static object[] CreateSmallInts()
    {
        var a = new object[1025];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = i - 1;
        }

        return a;
    }

    /// <summary>Boxes a Go int, reusing cached boxes for small values (loop indexes, lengths).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static object Box(int value) => (uint)(value + 1) < 1025u ? s_smallInts[value + 1] : value;

    /// <summary>Deep equality in the sense of Go's reflect.DeepEqual over engine values.</summary>
    public static bool DeepEqual(object? a, object? b, int depth = 0)
    {
        if (depth > 200)
        {
            throw new TemplateFunctionException("structure too deep");
        }

        if (a is NoValue)
        {
            a = null;
        }

        if (b is NoValue)
        {
            b = null;
        }

        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a.GetType() != b.GetType() && !(IsMap(a) && IsMap(b)) && !(a is IList && b is IList && TypeName(a) == TypeName(b)))
        {
            return false;
        }

        if (a is IList la && b is IList lb)
        {
            if (la.Count != lb.Count)
            {
                return false;
            }

            for (var i = 0; i < la.Count; i++)
            {
                if (!DeepEqual(la[i], lb[i], depth + 1))
                {
                    return false;
                }
            }

            return true;
        }

        if (IsMap(a))
        {
            if (MapCount(a) != MapCount(b))
            {
                return false;
            }

            foreach (var k in SortedKeys(a))
            {
                if (!MapTryGet(b, k, out var bv) || !DeepEqual(MapGet(a, k), bv, depth + 1))
                {
                    return false;
                }
            }

            return true;
        }

        return a.Equals(b);
    }
}
