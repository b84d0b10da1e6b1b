using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Store.Queries;

/// <summary>
/// DRP's list grammar (<c>frontend.go processFilters</c>): <c>?Index=value</c> or <c>?Index=Op(args)</c> with
/// <c>Eq Ne Lt Lte Gt Gte Re Between Except In Nin</c>; different keys AND, a repeated key ORs its values; a key
/// that is not an index filters on a param of that name, or on <c>Meta.&lt;key&gt;</c>. Reserved keys: <c>sort</c>,
/// <c>reverse</c>, <c>offset</c>, <c>limit</c>, <c>slim</c>, <c>params</c>.
/// </summary>
public sealed class ListQuery
{
    private static readonly HashSet<string> Reserved =
        ["sort", "reverse", "offset", "limit", "slim", "params", "decode", "aggregate", "expand", "commented", "reduced", "token", "filter"];

    private readonly List<FilterGroup> _groups = [];
    private readonly List<IndexDefinition> _sort = [];

    private ListQuery(ModelType type) => Type = type;

    public ModelType Type { get; }

    public bool Reverse { get; private set; }

    public int Offset { get; private set; }

    /// <summary>-1 for no limit.</summary>
    public int Limit { get; private set; } = -1;

    /// <summary>Fields to empty in the output (<c>slim=Params,Meta</c>).</summary>
    public IReadOnlySet<string> Slim { get; private set; } = new HashSet<string>();

    /// <summary>When set, only these params are kept in the output's <c>Params</c> (<c>params=a,b</c>).</summary>
    public IReadOnlySet<string>? OnlyParams { get; private set; }

    /// <summary>Parses query-string pairs; returns null and an error naming the bad filter on failure.</summary>
    public static ListQuery? Parse(ModelType type, IEnumerable<KeyValuePair<string, string[]>> pairs, out string? error)
    {
        var query = new ListQuery(type);
        error = null;
        foreach (var (key, values) in pairs)
        {
            if (Reserved.Contains(key))
            {
                if (!query.ApplyReserved(key, values, out error))
                {
                    return null;
                }

                continue;
            }

            var source = FilterSource.For(type, key);
            var group = new FilterGroup(source);
            foreach (var raw in values)
            {
                if (Condition.Parse(source, raw, out var condition, out var problem))
                {
                    group.Conditions.Add(condition!);
                }
                else
                {
                    error = $"filter {key}={raw}: {problem}";
                    return null;
                }
            }

            query._groups.Add(group);
        }

        if (query._sort.Count == 0 && type.FindIndex(type.KeyIndex) is { } keyIndex)
        {
            query._sort.Add(keyIndex);
        }

        return query;
    }

    private bool ApplyReserved(string key, string[] values, out string? error)
    {
        error = null;
        switch (key)
        {
            case "sort":
                foreach (var name in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                {
                    if (Type.FindIndex(name) is not { } index)
                    {
                        error = $"sort: '{name}' is not an index of {Type.Prefix} ({string.Join(", ", Type.Indexes.Select(i => i.Name))})";
                        return false;
                    }

                    _sort.Add(index);
                }

                return true;
            case "reverse":
                Reverse = values.Length == 0 || values.Any(v => v.Length == 0 || bool.TryParse(v, out var r) && r);
                return true;
            case "offset" or "limit":
                var text = values.LastOrDefault() ?? "";
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < (key == "limit" ? -1 : 0))
                {
                    error = $"{key}: '{text}' is not a {(key == "limit" ? "count (or -1)" : "non-negative number")}";
                    return false;
                }

                if (key == "offset")
                {
                    Offset = number;
                }
                else
                {
                    Limit = number;
                }

                return true;
            case "slim":
                Slim = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
                return true;
            case "params":
                OnlyParams = values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
                return true;
            default:
                return true;
        }
    }

    /// <summary>Filters, sorts and pages; <paramref name="matched"/> is the count before offset and limit.</summary>
    public List<ModelBase> Apply(IEnumerable<ModelBase> source, Func<ModelBase, string, JsonElement?>? paramOf, out int matched)
    {
        var selected = new List<ModelBase>();
        foreach (var model in source)
        {
            var keep = true;
            foreach (var group in _groups)
            {
                if (!group.Matches(model, paramOf))
                {
                    keep = false;
                    break;
                }
            }

            if (keep)
            {
                selected.Add(model);
            }
        }

        matched = selected.Count;
        var keyed = selected.Select(m => (Model: m, Keys: _sort.Select(i => i.SortValueOf(m)).ToArray())).ToList();
        keyed.Sort((a, b) =>
        {
            for (var i = 0; i < a.Keys.Length; i++)
            {
                var order = CompareValues(a.Keys[i], b.Keys[i]);
                if (order != 0)
                {
                    return order;
                }
            }

            return string.CompareOrdinal(a.Model.Key, b.Model.Key);
        });
        if (Reverse)
        {
            keyed.Reverse();
        }

        IEnumerable<ModelBase> paged = keyed.Select(k => k.Model).Skip(Offset);
        if (Limit >= 0)
        {
            paged = paged.Take(Limit);
        }

        return [.. paged];
    }

    internal static int CompareValues(IComparable? a, IComparable? b)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : -1) : 1;
        }

        if (a.GetType() != b.GetType())
        {
            return string.CompareOrdinal(a.ToString(), b.ToString());
        }

        return a is string sa ? string.CompareOrdinal(sa, (string)b) : a.CompareTo(b);
    }

    /// <summary>Where a filter's values come from: an index, a param, or a Meta key.</summary>
    private sealed class FilterSource
    {
        private FilterSource(string name, IndexDefinition? index, string? param, string? meta)
        {
            Name = name;
            Index = index;
            Param = param;
            Meta = meta;
        }

        public string Name { get; }

        public IndexDefinition? Index { get; }

        public string? Param { get; }

        public string? Meta { get; }

        public static FilterSource For(ModelType type, string key)
        {
            if (type.FindIndex(key) is { } index)
            {
                return new FilterSource(key, index, null, null);
            }

            if (key.StartsWith("Meta.", StringComparison.Ordinal))
            {
                return new FilterSource(key, null, null, key[5..]);
            }

            // DRP: a non-index key names a param, and failing that a Meta key.
            return new FilterSource(key, null, key, key);
        }

        public IEnumerable<IComparable?> ValuesOf(ModelBase model, Func<ModelBase, string, JsonElement?>? paramOf)
        {
            if (Index is not null)
            {
                return Index.ValuesOf(model);
            }

            if (Param is not null)
            {
                var value = paramOf?.Invoke(model, Param) ?? (model is IParamHolder holder && holder.Params.TryGetValue(Param, out var own) ? own : null);
                if (value is { } element)
                {
                    return [FromJson(element)];
                }
            }

            if (Meta is not null && model.Meta.TryGetValue(Meta, out var metaValue))
            {
                return [metaValue];
            }

            return [null];
        }

        public IComparable? ParseArgument(string text, IComparable? sample)
        {
            if (Index is not null)
            {
                return Index.TryParse(text, out var parsed) ? parsed : throw new FormatException($"'{text}' is not a valid {Index.Kind} for index {Index.Name}");
            }

            // Params are JSON: compare in the kind of the stored value when it is a number or a boolean.
            return sample switch
            {
                double when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => number,
                bool when bool.TryParse(text, out var flag) => flag,
                _ => text,
            };
        }

        private static IComparable? FromJson(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => element.GetRawText(),
        };
    }

    /// <summary>All values given for one key: an object matches if any condition matches (OR).</summary>
    private sealed class FilterGroup(FilterSource source)
    {
        public List<Condition> Conditions { get; } = [];

        public bool Matches(ModelBase model, Func<ModelBase, string, JsonElement?>? paramOf)
        {
            foreach (var value in source.ValuesOf(model, paramOf))
            {
                foreach (var condition in Conditions)
                {
                    if (condition.Matches(value))
                    {
                        return true;
                    }
                }
            }

            return false;
        }
    }

    private sealed class Condition
    {
        private readonly string _op;
        private readonly string[] _arguments;
        private readonly FilterSource _source;
        private readonly Regex? _regex;

        private Condition(FilterSource source, string op, string[] arguments, Regex? regex)
        {
            _source = source;
            _op = op;
            _arguments = arguments;
            _regex = regex;
        }

        public static bool Parse(FilterSource source, string raw, out Condition? condition, out string? problem)
        {
            condition = null;
            problem = null;
            var op = "Eq";
            var argumentText = raw;
            var open = raw.IndexOf('(', StringComparison.Ordinal);
            if (open > 0 && raw.EndsWith(')') && raw[..open] is "Eq" or "Ne" or "Lt" or "Lte" or "Gt" or "Gte" or "Re" or "Between" or "Except" or "In" or "Nin")
            {
                op = raw[..open];
                argumentText = raw[(open + 1)..^1];
            }

            string[] arguments = op is "Between" or "Except" or "In" or "Nin" ? argumentText.Split(',') : [argumentText];
            if (op is "Between" or "Except" && arguments.Length != 2)
            {
                problem = $"{op} takes two values";
                return false;
            }

            Regex? regex = null;
            if (op == "Re")
            {
                try
                {
                    regex = new Regex(argumentText, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
                }
                catch (ArgumentException e)
                {
                    problem = $"bad regular expression: {e.Message}";
                    return false;
                }
            }
            else if (source.Index is not null)
            {
                foreach (var argument in arguments)
                {
                    if (!source.Index.TryParse(argument, out _))
                    {
                        problem = $"'{argument}' is not a valid {source.Index.Kind.ToString().ToLowerInvariant()} for {source.Index.Name}";
                        return false;
                    }
                }
            }

            condition = new Condition(source, op, arguments, regex);
            return true;
        }

        public bool Matches(IComparable? value)
        {
            if (_op == "Re")
            {
                try
                {
                    return _regex!.IsMatch(value?.ToString() ?? "");
                }
                catch (RegexMatchTimeoutException)
                {
                    return false;
                }
            }

            IComparable? Arg(int i)
            {
                try
                {
                    return _source.ParseArgument(_arguments[i], value);
                }
                catch (FormatException)
                {
                    return _arguments[i];
                }
            }

            int Cmp(int i) => CompareValues(value, Arg(i));

            return _op switch
            {
                "Eq" => Cmp(0) == 0,
                "Ne" => Cmp(0) != 0,
                "Lt" => Cmp(0) < 0,
                "Lte" => Cmp(0) <= 0,
                "Gt" => Cmp(0) > 0,
                "Gte" => Cmp(0) >= 0,
                "Between" => Cmp(0) >= 0 && Cmp(1) <= 0,
                "Except" => Cmp(0) < 0 || Cmp(1) > 0,
                "In" => Enumerable.Range(0, _arguments.Length).Any(i => Cmp(i) == 0),
                "Nin" => Enumerable.Range(0, _arguments.Length).All(i => Cmp(i) != 0),
                _ => false,
            };
        }
    }
}
