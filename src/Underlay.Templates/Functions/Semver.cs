using System.Globalization;
using System.Text.RegularExpressions;

namespace Underlay.Templates.Functions;

/// <summary>Sprig's semver and semverCompare, with the version and constraint rules of Masterminds/semver v3.</summary>
internal static partial class Semver
{
    public static void Register(Dictionary<string, TemplateFunction> f)
    {
        f["semver"] = new TemplateFunction("semver", [ParamKind.String], false, (_, a) => Version.Parse((string)a[0]!));
        f["semverCompare"] = new TemplateFunction("semverCompare", [ParamKind.String, ParamKind.String], false, (_, a) =>
            Values.GoValue.Box(Constraint.Matches((string)a[0]!, Version.Parse((string)a[1]!))));
    }

    [GeneratedRegex(@"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"^v?([0-9xX*]+)(\.[0-9xX*]+)?(\.[0-9xX*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ConstraintVersionPattern();

    /// <summary>A parsed version; its methods (Major, Minor, Patch, Prerelease, Metadata, Original, String) are
    /// callable from templates like the Go type's.</summary>
    internal sealed class Version : ITemplateObject
    {
        public ulong Major { get; init; }

        public ulong Minor { get; init; }

        public ulong Patch { get; init; }

        public string Prerelease { get; init; } = "";

        public string Metadata { get; init; } = "";

        public string Original { get; init; } = "";

        public static Version Parse(string text)
        {
            var m = VersionPattern().Match(text);
            if (!m.Success)
            {
                throw new TemplateFunctionException("Invalid Semantic Version");
            }

            try
            {
                return new Version
                {
                    Major = ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                    Minor = m.Groups[2].Success ? ulong.Parse(m.Groups[2].Value.AsSpan(1), CultureInfo.InvariantCulture) : 0,
                    Patch = m.Groups[3].Success ? ulong.Parse(m.Groups[3].Value.AsSpan(1), CultureInfo.InvariantCulture) : 0,
                    Prerelease = m.Groups[5].Value,
                    Metadata = m.Groups[8].Value,
                    Original = text,
                };
            }
            catch (OverflowException)
            {
                throw new TemplateFunctionException("Invalid Semantic Version");
            }
        }

        public override string ToString()
        {
            var s = $"{Major}.{Minor}.{Patch}";
            if (Prerelease.Length > 0)
            {
                s += "-" + Prerelease;
            }

            if (Metadata.Length > 0)
            {
                s += "+" + Metadata;
            }

            return s;
        }

        public bool TryGetField(string name, out object? value)
        {
            value = name switch
            {
                "Major" => Major,
                "Minor" => Minor,
                "Patch" => Patch,
                "Prerelease" => Prerelease,
                "Metadata" => Metadata,
                "Original" => Original,
                "String" => ToString(),
                _ => null,
            };
            return value is not null;
        }

        public bool TryCallMethod(string name, ReadOnlySpan<object?> args, out object? result)
        {
            result = null;
            if (name is "Compare" or "LessThan" or "GreaterThan" or "Equal" && args.Length == 1 && args[0] is Version other)
            {
                var c = CompareTo(other);
                result = name switch
                {
                    "Compare" => c,
                    "LessThan" => c < 0,
                    "GreaterThan" => c > 0,
                    _ => c == 0,
                };
                return true;
            }

            return args.Length == 0 && TryGetField(name, out result);
        }

        public int CompareTo(Version o)
        {
            var c = Major.CompareTo(o.Major);
            if (c != 0)
            {
                return c;
            }

            c = Minor.CompareTo(o.Minor);
            if (c != 0)
            {
                return c;
            }

            c = Patch.CompareTo(o.Patch);
            if (c != 0)
            {
                return c;
            }

            return ComparePrerelease(Prerelease, o.Prerelease);
        }

        private static int ComparePrerelease(string a, string b)
        {
            if (a == b)
            {
                return 0;
            }

            if (a.Length == 0)
            {
                return 1;
            }

            if (b.Length == 0)
            {
                return -1;
            }

            var pa = a.Split('.');
            var pb = b.Split('.');
            for (var i = 0; i < Math.Max(pa.Length, pb.Length); i++)
            {
                if (i >= pa.Length)
                {
                    return -1;
                }

                if (i >= pb.Length)
                {
                    return 1;
                }

                var na = ulong.TryParse(pa[i], NumberStyles.None, CultureInfo.InvariantCulture, out var ia);
                var nb = ulong.TryParse(pb[i], NumberStyles.None, CultureInfo.InvariantCulture, out var ib);
                int c;
                if (na && nb)
                {
                    c = ia.CompareTo(ib);
                }
                else if (na)
                {
                    c = -1;
                }
                else if (nb)
                {
                    c = 1;
                }
                else
                {
                    c = string.CompareOrdinal(pa[i], pb[i]);
                }

                if (c != 0)
                {
                    return Math.Sign(c);
                }
            }

            return 0;
        }
    }

    /// <summary>One "op version" term; missing or wildcard parts make it a range.</summary>
    private sealed record Term(string Op, Version Version, int Parts, string Original)
    {
        public bool Dirty => Parts < 3;
    }

    private static class Constraint
    {
        public static bool Matches(string constraint, Version v)
        {
            var sawGroup = false;
            foreach (var group in constraint.Split("||"))
            {
                sawGroup = true;
                if (MatchesGroup(group, v))
                {
                    return true;
                }
            }

            if (!sawGroup)
            {
                throw new TemplateFunctionException($"improper constraint: {constraint}");
            }

            return false;
        }

        private static bool MatchesGroup(string group, Version v)
        {
            var terms = ParseGroup(group);
            foreach (var t in terms)
            {
                if (!Check(t, v))
                {
                    return false;
                }
            }

            return true;
        }

        private static List<Term> ParseGroup(string group)
        {
            var tokens = new List<string>();
            foreach (var piece in group.Replace(",", " ", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                tokens.Add(piece);
            }

            var terms = new List<Term>();
            for (var i = 0; i < tokens.Count; i++)
            {
                // "1.2 - 1.4" is a hyphen range.
                if (i + 2 < tokens.Count && tokens[i + 1] == "-")
                {
                    terms.Add(ParseTerm(">=" + tokens[i]));
                    terms.Add(ParseTerm("<=" + tokens[i + 2]));
                    i += 2;
                    continue;
                }

                var token = tokens[i];

                // An operator separated from its version by a space.
                if (token.TrimStart('<', '>', '=', '!', '~', '^').Length == 0 && i + 1 < tokens.Count)
                {
                    token += tokens[++i];
                }

                terms.Add(ParseTerm(token));
            }

            if (terms.Count == 0)
            {
                throw new TemplateFunctionException($"improper constraint: {group}");
            }

            return terms;
        }

        private static Term ParseTerm(string text)
        {
            var opLength = 0;
            while (opLength < text.Length && "<>=!~^".Contains(text[opLength], StringComparison.Ordinal))
            {
                opLength++;
            }

            var op = text[..opLength];
            op = op switch
            {
                "=>" => ">=",
                "=<" => "<=",
                "~>" => "~",
                "==" => "=",
                _ => op,
            };
            var versionText = text[opLength..];
            var m = ConstraintVersionPattern().Match(versionText);
            if (op is not ("" or "=" or "!=" or ">" or "<" or ">=" or "<=" or "~" or "^") || !m.Success)
            {
                throw new TemplateFunctionException($"improper constraint: {text}");
            }

            var parts = 1;
            ulong Part(Group g, bool present)
            {
                if (!present)
                {
                    return 0;
                }

                var s = g.Value.TrimStart('.');
                if (s is "x" or "X" or "*")
                {
                    return ulong.MaxValue;
                }

                return ulong.Parse(s, CultureInfo.InvariantCulture);
            }

            var major = Part(m.Groups[1], true);
            var minor = Part(m.Groups[2], m.Groups[2].Success);
            var patch = Part(m.Groups[3], m.Groups[3].Success);
            if (major == ulong.MaxValue)
            {
                parts = 0;
                major = 0;
                minor = 0;
                patch = 0;
            }
            else if (!m.Groups[2].Success || minor == ulong.MaxValue)
            {
                parts = 1;
                minor = 0;
                patch = 0;
            }
            else if (!m.Groups[3].Success || patch == ulong.MaxValue)
            {
                parts = 2;
                patch = 0;
            }
            else
            {
                parts = 3;
            }

            var version = new Version { Major = major, Minor = minor, Patch = patch, Prerelease = m.Groups[5].Value, Original = versionText };
            return new Term(op, version, parts, text);
        }

        private static bool Check(Term t, Version v)
        {
            var c = t.Version;

            // Versions with a prerelease only satisfy constraints that mention one.
            if (v.Prerelease.Length > 0 && c.Prerelease.Length == 0)
            {
                return false;
            }

            if (t.Parts == 0)
            {
                return t.Op != "!=";
            }

            switch (t.Op)
            {
                case "" or "=":
                    return t.Dirty ? InRange(v, c, Upper(c, t.Parts)) : v.CompareTo(c) == 0;
                case "!=":
                    return t.Dirty ? !InRange(v, c, Upper(c, t.Parts)) : v.CompareTo(c) != 0;
                case ">":
                    return t.Parts switch
                    {
                        1 => v.Major > c.Major,
                        2 => v.Major > c.Major || (v.Major == c.Major && v.Minor > c.Minor),
                        _ => v.CompareTo(c) > 0,
                    };
                case "<":
                    return v.CompareTo(c) < 0;
                case ">=":
                    return v.CompareTo(c) >= 0;
                case "<=":
                    return t.Parts switch
                    {
                        1 => v.Major <= c.Major,
                        2 => v.Major < c.Major || (v.Major == c.Major && v.Minor <= c.Minor),
                        _ => v.CompareTo(c) <= 0,
                    };
                case "~":
                    {
                        var upper = t.Parts == 1 ? new Version { Major = c.Major + 1 } : new Version { Major = c.Major, Minor = c.Minor + 1 };
                        return InRange(v, c, upper);
                    }

                default:
                    {
                        Version upper;
                        if (c.Major > 0 || t.Parts == 1)
                        {
                            upper = new Version { Major = c.Major + 1 };
                        }
                        else if (c.Minor > 0 || t.Parts == 2)
                        {
                            upper = new Version { Minor = c.Minor + 1 };
                        }
                        else
                        {
                            upper = new Version { Patch = c.Patch + 1 };
                        }

                        return InRange(v, c, upper);
                    }
            }
        }

        private static Version Upper(Version c, int parts) =>
            parts == 1 ? new Version { Major = c.Major + 1 } : new Version { Major = c.Major, Minor = c.Minor + 1 };

        private static bool InRange(Version v, Version low, Version high) =>
            v.CompareTo(low) >= 0 && new Version { Major = v.Major, Minor = v.Minor, Patch = v.Patch }.CompareTo(high) < 0;
    }
}
