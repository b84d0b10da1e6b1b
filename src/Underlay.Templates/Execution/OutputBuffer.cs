using System.Buffers;
using System.Runtime.CompilerServices;

namespace Underlay.Templates.Execution;

/// <summary>
/// A growable char buffer rented from the shared pool; one per render context, reused across renders so a
/// steady-state render allocates no output storage. Enforces the render's output-size cap on every append.
/// </summary>
internal sealed class OutputBuffer
{
    private char[] _buffer = ArrayPool<char>.Shared.Rent(4096);
    private int _length;

    public long Limit { get; set; } = long.MaxValue;

    public Action<long>? OnLimit { get; set; }

    public int Length => _length;

    public ReadOnlySpan<char> Written => _buffer.AsSpan(0, _length);

    public void Clear() => _length = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(string s)
    {
        if (s.Length <= _buffer.Length - _length && _length + s.Length <= Limit)
        {
            s.CopyTo(0, _buffer, _length, s.Length);
            _length += s.Length;
            return;
        }

        AppendSlow(s);
    }

    public void Append(char c)
    {
        if (_length < _buffer.Length && _length < Limit)
        {
            _buffer[_length++] = c;
            return;
        }

        AppendSlow([c]);
    }

    public void Append(ReadOnlySpan<char> s)
    {
        if (s.Length <= _buffer.Length - _length && _length + s.Length <= Limit)
        {
            s.CopyTo(_buffer.AsSpan(_length));
            _length += s.Length;
            return;
        }

        AppendSlow(s);
    }

    /// <summary>A span of at least <paramref name="size"/> chars to format into; commit with <see cref="Advance"/>.</summary>
    public Span<char> GetSpan(int size)
    {
        if (_buffer.Length - _length < size)
        {
            Grow(size);
        }

        return _buffer.AsSpan(_length);
    }

    public void Advance(int count)
    {
        if (_length + count > Limit)
        {
            OnLimit?.Invoke(Limit);
        }

        _length += count;
    }

    private void AppendSlow(ReadOnlySpan<char> s)
    {
        if (_length + (long)s.Length > Limit)
        {
            OnLimit?.Invoke(Limit);
        }

        if (_buffer.Length - _length < s.Length)
        {
            Grow(s.Length);
        }

        s.CopyTo(_buffer.AsSpan(_length));
        _length += s.Length;
    }

    private void Grow(int needed)
    {
        var size = Math.Max(_buffer.Length * 2, _length + needed);
        var next = ArrayPool<char>.Shared.Rent(size);
        _buffer.AsSpan(0, _length).CopyTo(next);
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = next;
    }

    /// <summary>Gives large buffers back to the pool so one huge render does not pin memory in a cached context.</summary>
    public void Trim()
    {
        if (_buffer.Length > 256 * 1024)
        {
            ArrayPool<char>.Shared.Return(_buffer);
            _buffer = ArrayPool<char>.Shared.Rent(4096);
        }

        _length = 0;
    }
}
