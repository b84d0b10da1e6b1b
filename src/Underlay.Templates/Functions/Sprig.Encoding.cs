using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Underlay.Templates.Values;

namespace Underlay.Templates.Functions;

internal static partial class Sprig
{
    private static void RegisterEncoding(Dictionary<string, TemplateFunction> f)
    {
        Fixed(f, "b64enc", s_str, (_, a) => System.Convert.ToBase64String(Encoding.UTF8.GetBytes((string)a[0]!)));
        Fixed(f, "b64dec", s_str, (_, a) =>
        {
            try
            {
                return Encoding.UTF8.GetString(System.Convert.FromBase64String((string)a[0]!));
            }
            catch (FormatException)
            {
                // Sprig returns the error text as the result.
                return "illegal base64 data at input byte 0";
            }
        });
        Fixed(f, "b32enc", s_str, (_, a) => Base32Encode(Encoding.UTF8.GetBytes((string)a[0]!)));
        Fixed(f, "b32dec", s_str, (_, a) => Base32Decode((string)a[0]!));
#pragma warning disable CA5350 // sha1sum is part of Sprig's contract, not a security decision.
        Fixed(f, "sha1sum", s_str, (_, a) => System.Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes((string)a[0]!))));
#pragma warning restore CA5350
        Fixed(f, "sha256sum", s_str, (_, a) => System.Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes((string)a[0]!))));
        Fixed(f, "adler32sum", s_str, (_, a) => FormatInvariant(Adler32(Encoding.UTF8.GetBytes((string)a[0]!))));
        Fixed(f, "uuidv4", [], (_, _) => Guid.NewGuid().ToString("D"));
        Fixed(f, "toJson", s_any, (c, a) => Charged(c, GoJson.TrySerialize(a[0], indent: false, escapeHtml: true) ?? ""));
        Fixed(f, "mustToJson", s_any, (c, a) => Charged(c, GoJson.Serialize(a[0], indent: false, escapeHtml: true)));
        Fixed(f, "toPrettyJson", s_any, (c, a) => Charged(c, GoJson.TrySerialize(a[0], indent: true, escapeHtml: true) ?? ""));
        Fixed(f, "mustToPrettyJson", s_any, (c, a) => Charged(c, GoJson.Serialize(a[0], indent: true, escapeHtml: true)));
        Fixed(f, "toRawJson", s_any, (c, a) => Charged(c, GoJson.Serialize(a[0], indent: false, escapeHtml: false)));
        Fixed(f, "mustToRawJson", s_any, (c, a) => Charged(c, GoJson.Serialize(a[0], indent: false, escapeHtml: false)));
        Fixed(f, "fromJson", s_str, (c, a) =>
        {
            c.Charge(((string)a[0]!).Length / 16);
            return GoJson.TryParse((string)a[0]!, out var v, out _) ? v : null;
        });
        Fixed(f, "mustFromJson", s_str, (c, a) =>
        {
            c.Charge(((string)a[0]!).Length / 16);
            return GoJson.TryParse((string)a[0]!, out var v, out var error) ? v : throw new TemplateFunctionException(error!);
        });
        Fixed(f, "toYaml", s_any, (c, a) => Charged(c, GoYaml.Serialize(a[0])));
    }

    private static uint Adler32(byte[] data)
    {
        uint a = 1, b = 0;
        foreach (var d in data)
        {
            a = (a + d) % 65521;
            b = (b + a) % 65521;
        }

        return (b << 16) | a;
    }

    private const string Base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    private static string Base32Encode(byte[] data)
    {
        var sb = new StringBuilder((data.Length + 4) / 5 * 8);
        for (var i = 0; i < data.Length; i += 5)
        {
            var n = Math.Min(5, data.Length - i);
            ulong buffer = 0;
            for (var j = 0; j < 5; j++)
            {
                buffer = (buffer << 8) | (j < n ? data[i + j] : (byte)0);
            }

            var chars = n switch { 1 => 2, 2 => 4, 3 => 5, 4 => 7, _ => 8 };
            for (var j = 0; j < 8; j++)
            {
                sb.Append(j < chars ? Base32Alphabet[(int)((buffer >> (35 - (j * 5))) & 31)] : '=');
            }
        }

        return sb.ToString();
    }

    private static string Base32Decode(string s)
    {
        var bytes = new List<byte>();
        var buffer = 0;
        var bits = 0;
        foreach (var c in s.TrimEnd('='))
        {
            var v = Base32Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (v < 0)
            {
                return "illegal base32 data at input byte 0";
            }

            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                bytes.Add((byte)(buffer >> bits));
                buffer &= (1 << bits) - 1;
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    // ---------------- regular expressions ----------------

    private static readonly ConcurrentDictionary<string, Regex?> s_regexCache = new(StringComparer.Ordinal);

    /// <summary>
    /// Compiles an RE2-syntax pattern. NonBacktracking gives RE2's linear-time guarantee, so a hostile pattern cannot
    /// hang a render; Go's (?P&lt;name&gt;) groups are rewritten to .NET's spelling. Null when the pattern is invalid.
    /// </summary>
    private static Regex? GetRegex(string pattern)
    {
        if (s_regexCache.TryGetValue(pattern, out var cached))
        {
            return cached;
        }

        Regex? regex;
        try
        {
            var translated = pattern.Replace("(?P<", "(?<", StringComparison.Ordinal);
            regex = new Regex(translated, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
        }
        catch (ArgumentException)
        {
            try
            {
                // Constructs NonBacktracking lacks (rare in RE2 patterns) fall back to the backtracking engine with a timeout.
                regex = new Regex(pattern.Replace("(?P<", "(?<", StringComparison.Ordinal), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
            }
            catch (ArgumentException)
            {
                regex = null;
            }
        }

        if (s_regexCache.Count > 1024)
        {
            s_regexCache.Clear();
        }

        s_regexCache[pattern] = regex;
        return regex;
    }

    private static Regex MustRegex(string pattern) =>
        GetRegex(pattern) ?? throw new TemplateFunctionException($"regexp: Compile({GoFormat.Quote(pattern)}): error parsing regexp");

    private static void RegisterRegex(Dictionary<string, TemplateFunction> f)
    {
        Fixed(f, "regexMatch", s_str2, (_, a) => GoValue.Box(GetRegex((string)a[0]!) is { } r && r.IsMatch((string)a[1]!)));
        Fixed(f, "mustRegexMatch", s_str2, (_, a) => GoValue.Box(MustRegex((string)a[0]!).IsMatch((string)a[1]!)));
        Fixed(f, "regexFind", s_str2, (_, a) => MustRegex((string)a[0]!).Match((string)a[1]!) is { Success: true } m ? m.Value : "");
        Alias(f, "mustRegexFind", "regexFind");
        Fixed(f, "regexFindAll", [ParamKind.String, ParamKind.String, ParamKind.Int], (_, a) =>
        {
            var n = (int)a[2]!;
            var result = new List<string>();
            foreach (Match m in MustRegex((string)a[0]!).Matches((string)a[1]!))
            {
                if (n >= 0 && result.Count >= n)
                {
                    break;
                }

                result.Add(m.Value);
            }

            return result.ToArray();
        });
        Alias(f, "mustRegexFindAll", "regexFindAll");
        Fixed(f, "regexReplaceAll", s_str3, (c, a) => Charged(c, RegexReplace((string)a[0]!, (string)a[1]!, ExpandTemplate((string)a[2]!))));
        Alias(f, "mustRegexReplaceAll", "regexReplaceAll");
        Fixed(f, "regexReplaceAllLiteral", s_str3, (c, a) => Charged(c, RegexReplace((string)a[0]!, (string)a[1]!, ((string)a[2]!).Replace("$", "$$", StringComparison.Ordinal))));
        Alias(f, "mustRegexReplaceAllLiteral", "regexReplaceAllLiteral");
        Fixed(f, "regexSplit", [ParamKind.String, ParamKind.String, ParamKind.Int], (_, a) => RegexSplit(MustRegex((string)a[0]!), (string)a[1]!, (int)a[2]!));
        Alias(f, "mustRegexSplit", "regexSplit");
        Fixed(f, "regexQuoteMeta", s_str, (_, a) => QuoteMeta((string)a[0]!));
    }

    /// <summary>Go's Regexp.Expand syntax ($1, ${1}, $name, ${name}, $$) in .NET's: $name takes the longest
    /// identifier, so "$1x" names group "1x" (absent: empty) where .NET would read group 1 then "x".</summary>
    private static string ExpandTemplate(string repl)
    {
        if (!repl.Contains('$', StringComparison.Ordinal))
        {
            return repl;
        }

        var sb = new StringBuilder(repl.Length + 8);
        for (var i = 0; i < repl.Length; i++)
        {
            var c = repl[i];
            if (c != '$' || i + 1 >= repl.Length)
            {
                sb.Append(c);
                continue;
            }

            var next = repl[i + 1];
            if (next == '$')
            {
                sb.Append("$$");
                i++;
                continue;
            }

            if (next == '{')
            {
                var close = repl.IndexOf('}', i + 2);
                if (close > i + 2)
                {
                    sb.Append("${").Append(repl, i + 2, close - i - 2).Append('}');
                    i = close;
                    continue;
                }

                sb.Append("$$");
                continue;
            }

            var j = i + 1;
            while (j < repl.Length && (char.IsLetterOrDigit(repl[j]) || repl[j] == '_'))
            {
                j++;
            }

            if (j == i + 1)
            {
                sb.Append("$$");
                continue;
            }

            sb.Append("${").Append(repl, i + 1, j - i - 1).Append('}');
            i = j - 1;
        }

        return sb.ToString();
    }

    private static string RegexReplace(string pattern, string input, string replacement)
    {
        var regex = MustRegex(pattern);

        // Bound the result first: matches don't overlap, so all expansions of one group reference together copy
        // at most the input once; the literal part of the replacement is copied once per match.
        var matches = regex.Count(input);
        var references = replacement.Count(ch => ch == '$');
        ValueLimit.Check(input.Length + ((long)matches * replacement.Length) + ((long)references * input.Length));
        return regex.Replace(input, replacement);
    }

    private static string[] RegexSplit(Regex r, string s, int n)
    {
        if (n == 0)
        {
            return [];
        }

        if (r.ToString().Length > 0 && s.Length == 0)
        {
            return [""];
        }

        var result = new List<string>();
        var beg = 0;
        foreach (Match m in r.Matches(s))
        {
            if (n > 0 && result.Count == n - 1)
            {
                break;
            }

            if (m.Length == 0 && m.Index == 0)
            {
                continue;
            }

            result.Add(s[beg..m.Index]);
            beg = m.Index + m.Length;
        }

        result.Add(s[beg..]);
        return [.. result];
    }

    private static string QuoteMeta(string s)
    {
        var sb = new StringBuilder(s.Length * 2);
        foreach (var c in s)
        {
            if (@"\.+*?()|[]{}^$".Contains(c, StringComparison.Ordinal))
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString();
    }
}
