using System.Globalization;
using System.Net;
using Underlay.Core.Models;

namespace Underlay.Core.Registry;

/// <summary>How an index's values compare in filters and sorts.</summary>
public enum IndexKind
{
    String,
    Integer,
    Boolean,
    Address,
    Time,
    Uuid,
}

/// <summary>
/// A filterable, sortable field of an object type (DRP <c>/indexes/&lt;prefix&gt;</c>). Values are turned into a
/// comparable form once per object per query; multi-valued fields (HardwareAddrs) match when any value matches.
/// </summary>
public sealed class IndexDefinition
{
    private readonly Func<ModelBase, object?>? _single;
    private readonly Func<ModelBase, IEnumerable<string>>? _multi;

    private IndexDefinition(string name, IndexKind kind, bool unique, Func<ModelBase, object?>? single, Func<ModelBase, IEnumerable<string>>? multi)
    {
        Name = name;
        Kind = kind;
        Unique = unique;
        _single = single;
        _multi = multi;
    }

    public string Name { get; }

    public IndexKind Kind { get; }

    /// <summary>No two objects of the type may share a non-empty value.</summary>
    public bool Unique { get; }

    public bool IsMultiValued => _multi is not null;

    public static IndexDefinition Of<T>(string name, IndexKind kind, Func<T, object?> getter, bool unique = false)
        where T : ModelBase => new(name, kind, unique, m => getter((T)m), null);

    public static IndexDefinition Many<T>(string name, Func<T, IEnumerable<string>> getter, bool unique = false)
        where T : ModelBase => new(name, IndexKind.String, unique, null, m => getter((T)m));

    /// <summary>The comparable values of this index on an object (one for ordinary indexes).</summary>
    public IEnumerable<IComparable?> ValuesOf(ModelBase model)
    {
        if (_multi is not null)
        {
            foreach (var value in _multi(model))
            {
                yield return Normalize(value);
            }

            yield break;
        }

        yield return Normalize(_single!(model));
    }

    /// <summary>The first (sort) value of this index on an object.</summary>
    public IComparable? SortValueOf(ModelBase model)
    {
        if (_multi is not null)
        {
            foreach (var value in _multi(model))
            {
                return Normalize(value);
            }

            return null;
        }

        return Normalize(_single!(model));
    }

    /// <summary>Parses a filter argument into the index's comparable form; false when it cannot be one.</summary>
    public bool TryParse(string text, out IComparable? value)
    {
        value = null;
        switch (Kind)
        {
            case IndexKind.String:
                value = text;
                return true;
            case IndexKind.Integer:
                if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
                {
                    value = number;
                    return true;
                }

                return false;
            case IndexKind.Boolean:
                if (bool.TryParse(text, out var flag))
                {
                    value = flag;
                    return true;
                }

                return false;
            case IndexKind.Address:
                if (text.Length == 0)
                {
                    value = 0L;
                    return true;
                }

                if (IPAddress.TryParse(text, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    value = AddressValue(address);
                    return true;
                }

                return false;
            case IndexKind.Time:
                if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
                {
                    value = time;
                    return true;
                }

                return false;
            case IndexKind.Uuid:
                if (Guid.TryParse(text, out var uuid))
                {
                    value = uuid.ToString();
                    return true;
                }

                value = text;
                return true;
            default:
                return false;
        }
    }

    private IComparable? Normalize(object? raw) => raw switch
    {
        null => null,
        string s when Kind == IndexKind.Address => TryParse(s, out var parsed) ? parsed : -1L,
        string s => s,
        int i => (long)i,
        long l => l,
        bool b => b,
        DateTime t => t.Kind == DateTimeKind.Utc ? t : DateTime.SpecifyKind(t, DateTimeKind.Utc),
        Guid g => g.ToString(),
        IComparable c => c,
        _ => raw.ToString(),
    };

    private static long AddressValue(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return ((long)bytes[0] << 24) | ((long)bytes[1] << 16) | ((long)bytes[2] << 8) | bytes[3];
    }
}
