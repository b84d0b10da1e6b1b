namespace Underlay.Templates.Values;

/// <summary>
/// The largest string a function may build in the current render (RenderOptions.MaxOutputChars). Builders of
/// potentially huge text (printing lists, JSON, join, replace...) check it as they go, so a template cannot make
/// the process allocate gigabytes before the output cap would notice.
/// </summary>
internal static class ValueLimit
{
    /// <summary>Applies outside renders, e.g. when a host calls a formatter directly.</summary>
    public const long Default = 64L * 1024 * 1024;

    [ThreadStatic]
    private static long t_current;

    public static long Current
    {
        get => t_current == 0 ? Default : t_current;
        set => t_current = value;
    }

    public static void Check(long length)
    {
        if (length > Current)
        {
            throw new ValueTooLargeException(Current);
        }
    }
}

/// <summary>A function tried to build a value longer than the output cap; reported as a limit, not a Go error.</summary>
internal sealed class ValueTooLargeException(long limit) : Exception($"value exceeds the output limit of {limit} chars");
