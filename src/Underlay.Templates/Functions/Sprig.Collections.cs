using System.Collections;
using System.Globalization;
using Underlay.Templates.Execution;
using Underlay.Templates.Values;

namespace Underlay.Templates.Functions;

internal static partial class Sprig
{
    // ---------------- lists ----------------

    private static void RegisterLists(Dictionary<string, TemplateFunction> f)
    {
        Variadic(f, "list", s_any, (c, a) => NewList(c, a));
        Alias(f, "tuple", "list");
        Fixed(f, "first", s_any, (_, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find first on type");
            return l.Count == 0 ? null : l[0];
        });
        Alias(f, "mustFirst", "first");
        Fixed(f, "last", s_any, (_, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find last on type");
            return l.Count == 0 ? null : l[^1];
        });
        Alias(f, "mustLast", "last");
        Fixed(f, "rest", s_any, (_, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find rest on type");
            return Range(l, Math.Min(1, l.Count), l.Count);
        });
        Alias(f, "mustRest", "rest");
        Fixed(f, "initial", s_any, (_, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find initial on type");
            return Range(l, 0, Math.Max(l.Count - 1, 0));
        });
        Alias(f, "mustInitial", "initial");
        Fixed(f, "append", s_any2, (c, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot push on type");
            c.Charge(l.Count);
            var r = Convert.CopyList(l, 1);
            r.Add(a[1]);
            return r;
        });
        Alias(f, "push", "append");
        Alias(f, "mustAppend", "append");
        Alias(f, "mustPush", "append");
        Fixed(f, "prepend", s_any2, (c, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot prepend on type");
            c.Charge(l.Count);
            var r = new List<object?>(l.Count + 1) { a[1] };
            foreach (var e in l)
            {
                r.Add(e);
            }

            return r;
        });
        Alias(f, "mustPrepend", "prepend");
        Fixed(f, "uniq", s_any, (c, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find uniq on type");
            c.Charge((long)l.Count * l.Count / 16);
            var r = new List<object?>();
            foreach (var e in l)
            {
                if (!Contains(r, e))
                {
                    r.Add(e);
                }
            }

            return r;
        });
        Alias(f, "mustUniq", "uniq");
        Fixed(f, "has", s_any2, (_, a) =>
        {
            if (a[1] is null or NoValue)
            {
                return GoValue.Box(false);
            }

            var l = Convert.AsList(a[1], "Cannot find has on type");
            return GoValue.Box(Contains(l, a[0]));
        });
        Alias(f, "mustHas", "has");
        Variadic(f, "without", s_any2, (c, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find without on type");
            c.Charge(l.Count);
            var omit = a[1..].ToArray();
            var r = new List<object?>();
            foreach (var e in l)
            {
                if (!Contains(omit, e))
                {
                    r.Add(e);
                }
            }

            return r;
        });
        Alias(f, "mustWithout", "without");
        Fixed(f, "reverse", s_any, (_, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot find reverse on type");
            var r = Convert.CopyList(l);
            r.Reverse();
            return r;
        });
        Alias(f, "mustReverse", "reverse");
        Fixed(f, "compact", s_any, (_, a) =>
        {
            var l = Convert.AsList(a[0], "Cannot compact on type");
            var r = new List<object?>();
            foreach (var e in l)
            {
                if (!Empty(e))
                {
                    r.Add(e);
                }
            }

            return r;
        });
        Alias(f, "mustCompact", "compact");
        Variadic(f, "slice", s_any2, (_, a) => Slice(a[0], a[1..]));
        Alias(f, "mustSlice", "slice");
        Variadic(f, "concat", s_any, (c, a) =>
        {
            var r = new List<object?>();
            foreach (var v in a)
            {
                if (v is not IList l)
                {
                    throw new TemplateFunctionException($"Cannot concat type {GoValue.KindName(v)} as list");
                }

                c.Charge(l.Count);
                foreach (var e in l)
                {
                    r.Add(e);
                }
            }

            return r;
        });
        Fixed(f, "sortAlpha", s_any, (_, a) =>
        {
            if (a[0] is IList)
            {
                var s = (string[])Convert.Strslice(a[0]).Clone();
                Array.Sort(s, string.CompareOrdinal);
                return s;
            }

            return new[] { Convert.Strval(a[0]) };
        });
        Fixed(f, "chunk", [ParamKind.Int, ParamKind.Any], (_, a) =>
        {
            var size = (int)a[0]!;
            var l = Convert.AsList(a[1], "Cannot chunk type");
            if (size <= 0)
            {
                throw new TemplateFunctionException("runtime error: integer divide by zero");
            }

            var r = new List<object?>();
            for (var i = 0; i < l.Count; i += size)
            {
                r.Add(Range(l, i, Math.Min(i + size, l.Count)));
            }

            return r;
        });
        Alias(f, "mustChunk", "chunk");
    }

    private static List<object?> NewList(RenderContext c, ReadOnlySpan<object?> a)
    {
        c.Charge(a.Length);
        var r = new List<object?>(a.Length);
        foreach (var v in a)
        {
            r.Add(v);
        }

        return r;
    }

    private static List<object?> Range(IList l, int start, int end)
    {
        var r = new List<object?>(Math.Max(end - start, 0));
        for (var i = start; i < end; i++)
        {
            r.Add(l[i]);
        }

        return r;
    }

    private static bool Contains(IList haystack, object? needle)
    {
        foreach (var e in haystack)
        {
            if (GoValue.DeepEqual(e, needle))
            {
                return true;
            }
        }

        return false;
    }

    private static object? Slice(object? list, ReadOnlySpan<object?> indices)
    {
        var l = Convert.AsList(list, "list should be type of slice or array but");
        if (l.Count == 0)
        {
            return null;
        }

        var start = indices.Length > 0 ? (int)Convert.ToInt64(indices[0]) : 0;
        var end = indices.Length < 2 ? l.Count : (int)Convert.ToInt64(indices[1]);
        if (start < 0 || end > l.Count || start > end)
        {
            throw new TemplateFunctionException("reflect.Value.Slice: slice index out of bounds");
        }

        if (l is string[] ss)
        {
            return ss[start..end];
        }

        if (l is int[] ints)
        {
            return ints[start..end];
        }

        return Range(l, start, end);
    }

    // ---------------- dicts ----------------

    private static void RegisterDicts(Dictionary<string, TemplateFunction> f)
    {
        Variadic(f, "dict", s_any, (c, a) =>
        {
            c.Charge(a.Length);
            var d = new Dictionary<string, object?>(a.Length / 2, StringComparer.Ordinal);
            for (var i = 0; i < a.Length; i += 2)
            {
                var key = Convert.Strval(a[i]);
                d[key] = i + 1 >= a.Length ? "" : a[i + 1];
            }

            return d;
        });
        Fixed(f, "get", s_mapStr, (_, a) => a[0] is not null && GoValue.MapTryGet(a[0]!, (string)a[1]!, out var v) ? v : "");
        Fixed(f, "set", [ParamKind.Map, ParamKind.String, ParamKind.Any], (_, a) =>
        {
            MutableMap(a[0])[(string)a[1]!] = a[2];
            return a[0];
        });
        Fixed(f, "unset", s_mapStr, (_, a) =>
        {
            MutableMap(a[0]).Remove((string)a[1]!);
            return a[0];
        });
        Fixed(f, "hasKey", s_mapStr, (_, a) => GoValue.Box(a[0] is not null && GoValue.MapTryGet(a[0]!, (string)a[1]!, out var _)));
        Variadic(f, "keys", [ParamKind.Map], (_, a) =>
        {
            var keys = new List<string>();
            foreach (var d in a)
            {
                if (d is not null)
                {
                    keys.AddRange(GoValue.SortedKeys(d));
                }
            }

            return keys.ToArray();
        });
        Fixed(f, "values", [ParamKind.Map], (_, a) =>
        {
            var r = new List<object?>();
            if (a[0] is { } d)
            {
                foreach (var k in GoValue.SortedKeys(d))
                {
                    r.Add(GoValue.MapGet(d, k));
                }
            }

            return r;
        });
        Variadic(f, "pluck", [ParamKind.String, ParamKind.Map], (_, a) =>
        {
            var key = (string)a[0]!;
            var r = new List<object?>();
            foreach (var d in a[1..])
            {
                if (d is not null && GoValue.MapTryGet(d, key, out var v))
                {
                    r.Add(v);
                }
            }

            return r;
        });
        Variadic(f, "pick", [ParamKind.Map, ParamKind.String], (_, a) =>
        {
            var r = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var k in a[1..])
            {
                if (a[0] is not null && GoValue.MapTryGet(a[0]!, (string)k!, out var v))
                {
                    r[(string)k!] = v;
                }
            }

            return r;
        });
        Variadic(f, "omit", [ParamKind.Map, ParamKind.String], (_, a) =>
        {
            var r = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (a[0] is { } d)
            {
                var omit = new HashSet<string>(StringComparer.Ordinal);
                foreach (var k in a[1..])
                {
                    omit.Add((string)k!);
                }

                foreach (var k in GoValue.SortedKeys(d))
                {
                    if (!omit.Contains(k))
                    {
                        r[k] = GoValue.MapGet(d, k);
                    }
                }
            }

            return r;
        });
        Variadic(f, "merge", [ParamKind.Map, ParamKind.Map], (_, a) => Merge(a, overwrite: false));
        Alias(f, "mustMerge", "merge");
        Variadic(f, "mergeOverwrite", [ParamKind.Map, ParamKind.Map], (_, a) => Merge(a, overwrite: true));
        Alias(f, "mustMergeOverwrite", "mergeOverwrite");
        Variadic(f, "dig", s_any, (_, a) =>
        {
            if (a.Length < 3)
            {
                throw new TemplateFunctionException("dig needs at least three arguments");
            }

            var dict = a[^1];
            var fallback = a[^2];
            var current = dict;
            foreach (var k in a[..^2])
            {
                if (current is null || !GoValue.IsMap(current) || !GoValue.MapTryGet(current, Convert.Strval(k), out current))
                {
                    return fallback;
                }
            }

            return current;
        });
        Fixed(f, "deepCopy", s_any, (_, a) => DeepCopy(a[0], 0));
        Alias(f, "mustDeepCopy", "deepCopy");
    }

    private static IDictionary<string, object?> MutableMap(object? map) => map switch
    {
        IDictionary<string, object?> d when !d.IsReadOnly => d,
        null => throw new TemplateFunctionException("assignment to entry in nil map"),
        _ => throw new TemplateFunctionException("map is read-only"),
    };

    private static object? Merge(ReadOnlySpan<object?> a, bool overwrite)
    {
        var dst = a[0] is null ? new Dictionary<string, object?>(StringComparer.Ordinal) : MutableMap(a[0]);
        foreach (var src in a[1..])
        {
            if (src is not null)
            {
                MergeInto(dst, src, overwrite, 0);
            }
        }

        return dst;
    }

    /// <summary>mergo's Merge: fill keys dst lacks (or holds as empty), recursing into nested maps.</summary>
    private static void MergeInto(IDictionary<string, object?> dst, object src, bool overwrite, int depth)
    {
        if (depth > 100)
        {
            throw new TemplateFunctionException("maps nested too deep to merge");
        }

        foreach (var key in GoValue.SortedKeys(src))
        {
            var sv = GoValue.MapGet(src, key);
            if (dst.TryGetValue(key, out var dv) && dv is IDictionary<string, object?> dm && !dm.IsReadOnly && sv is not null && GoValue.IsMap(sv))
            {
                MergeInto(dm, sv, overwrite, depth + 1);
                continue;
            }

            if (!dst.ContainsKey(key) || (overwrite ? !Empty(sv) : Empty(dv)))
            {
                dst[key] = sv;
            }
        }
    }

    private static object? DeepCopy(object? v, int depth)
    {
        if (depth > 100)
        {
            throw new TemplateFunctionException("value nested too deep to copy");
        }

        switch (v)
        {
            case IList l when v is not byte[] and not string[] and not int[]:
                var r = new List<object?>(l.Count);
                foreach (var e in l)
                {
                    r.Add(DeepCopy(e, depth + 1));
                }

                return r;
            case not null when GoValue.IsMap(v):
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var k in GoValue.SortedKeys(v))
                {
                    d[k] = DeepCopy(GoValue.MapGet(v, k), depth + 1);
                }

                return d;
            case string[] ss:
                return ss.Clone();
            default:
                return v;
        }
    }

    // ---------------- reflection ----------------

    private static void RegisterReflection(Dictionary<string, TemplateFunction> f)
    {
        Fixed(f, "typeOf", s_any, (_, a) => GoValue.TypeName(a[0]));
        Fixed(f, "kindOf", s_any, (_, a) => GoValue.KindName(a[0]));
        Fixed(f, "typeIs", [ParamKind.String, ParamKind.Any], (_, a) => GoValue.Box((string)a[0]! == GoValue.TypeName(a[1])));
        Fixed(f, "typeIsLike", [ParamKind.String, ParamKind.Any], (_, a) =>
        {
            var t = GoValue.TypeName(a[1]);
            return GoValue.Box((string)a[0]! == t || "*" + (string)a[0]! == t);
        });
        Fixed(f, "kindIs", [ParamKind.String, ParamKind.Any], (_, a) => GoValue.Box((string)a[0]! == GoValue.KindName(a[1])));
        Fixed(f, "deepEqual", s_any2, (_, a) => GoValue.Box(GoValue.DeepEqual(a[0], a[1])));
    }

    // ---------------- paths ----------------

    private static void RegisterPaths(Dictionary<string, TemplateFunction> f)
    {
        Fixed(f, "base", s_str, (_, a) => PathBase((string)a[0]!));
        Fixed(f, "dir", s_str, (_, a) => PathDir((string)a[0]!));
        Fixed(f, "clean", s_str, (_, a) => PathClean((string)a[0]!));
        Fixed(f, "ext", s_str, (_, a) =>
        {
            var p = (string)a[0]!;
            for (var i = p.Length - 1; i >= 0 && p[i] != '/'; i--)
            {
                if (p[i] == '.')
                {
                    return p[i..];
                }
            }

            return "";
        });
        Fixed(f, "isAbs", s_str, (_, a) => GoValue.Box(((string)a[0]!).StartsWith('/')));
        Alias(f, "osBase", "base");
        Alias(f, "osDir", "dir");
        Alias(f, "osClean", "clean");
        Alias(f, "osExt", "ext");
        Alias(f, "osIsAbs", "isAbs");
    }

    private static string PathBase(string p)
    {
        if (p.Length == 0)
        {
            return ".";
        }

        p = p.TrimEnd('/');
        if (p.Length == 0)
        {
            return "/";
        }

        var i = p.LastIndexOf('/');
        return i >= 0 ? p[(i + 1)..] : p;
    }

    private static string PathDir(string p)
    {
        var i = p.LastIndexOf('/');
        return PathClean(p[..(i + 1)]);
    }

    /// <summary>Go's path.Clean.</summary>
    internal static string PathClean(string p)
    {
        if (p.Length == 0)
        {
            return ".";
        }

        var rooted = p[0] == '/';
        var parts = new List<string>();
        foreach (var part in p.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                else if (!rooted)
                {
                    parts.Add("..");
                }

                continue;
            }

            parts.Add(part);
        }

        var joined = string.Join('/', parts);
        if (rooted)
        {
            return "/" + joined;
        }

        return joined.Length == 0 ? "." : joined;
    }

    internal static string FormatInvariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
