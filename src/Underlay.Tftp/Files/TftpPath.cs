using System.Diagnostics.CodeAnalysis;

namespace Underlay.Tftp.Files;

/// <summary>Turns a requested TFTP file name into the root-relative path handed to an <see cref="ITftpFileSource"/>.</summary>
internal static class TftpPath
{
    /// <summary>
    /// Rules (the same results as tftpd-hpa with <c>-s</c>, which chroots to its root):
    /// <list type="bullet">
    /// <item>backslashes become slashes (Windows-style names from some PXE menus, e.g. <c>boot\x86\wdsnbp.com</c>);</item>
    /// <item>leading slashes are dropped: <c>/pxelinux.0</c> means <c>pxelinux.0</c> under the root;</item>
    /// <item>empty and <c>.</c> segments are dropped (<c>a//./b</c> is <c>a/b</c>);</item>
    /// <item>any <c>..</c> segment refuses the request (access violation), even one that would stay inside the root;</item>
    /// <item>an empty name, or one that is only slashes and dots, is refused.</item>
    /// </list>
    /// The result uses <c>/</c> separators, has no leading slash and never contains <c>..</c>.
    /// </summary>
    public static bool TryNormalize(string requested, [NotNullWhen(true)] out string? normalized, [NotNullWhen(false)] out string? error)
    {
        normalized = null;
        if (requested.Length == 0)
        {
            error = "Empty file name";
            return false;
        }

        if (requested.Contains('\0', StringComparison.Ordinal))
        {
            error = "File name contains NUL";
            return false;
        }

        var segments = requested.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var kept = new List<string>(segments.Length);
        foreach (var segment in segments)
        {
            if (segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                error = "Path escapes the root";
                return false;
            }

            kept.Add(segment);
        }

        if (kept.Count == 0)
        {
            error = "Empty file name";
            return false;
        }

        normalized = string.Join('/', kept);
        error = null;
        return true;
    }
}
