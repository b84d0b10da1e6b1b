using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Underlay.Core.Models;

namespace Underlay.Api.Auth;

/// <summary>
/// Issues and checks signed bearer tokens (JWT, HMAC-SHA256 with a key kept 0600 in the data directory).
/// A token names its subject and the fingerprint of the subject's secret at issue time, so rotating a user's or
/// machine's <c>Secret</c> (or the system key) revokes every token issued before.
/// </summary>
public sealed class TokenService
{
    private const string Issuer = "underlay";
    private const int MaxCachedTokens = 100_000;

    private readonly SymmetricSecurityKey _key;
    private readonly SigningCredentials _credentials;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, TokenClaims> _validated = new(StringComparer.Ordinal);

    public TokenService(byte[] key, TimeProvider time)
    {
        _key = new SymmetricSecurityKey(key);
        _credentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256);
        _time = time;
    }

    /// <summary>Loads the signing key from <paramref name="path"/>, creating a random one (mode 0600) on first start.</summary>
    public static byte[] LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllBytes(path);
            if (existing.Length >= 32)
            {
                return existing;
            }
        }

        var key = RandomNumberGenerator.GetBytes(64);
        SecretFiles.Write(path, key);
        return key;
    }

    public static string Fingerprint(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)))[..16];

    public (string Token, DateTime ExpiresAt) Issue(TokenClaims claims, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var expires = now + lifetime;
        var payload = new Dictionary<string, object>
        {
            ["sub"] = claims.Subject,
            ["kind"] = claims.Kind.ToString(),
            ["roles"] = claims.Roles.ToArray(),
            ["sec"] = claims.SecretFingerprint,
        };
        if (claims.Machine != Guid.Empty)
        {
            payload["mach"] = claims.Machine.ToString();
        }

        if (claims.ExtraClaims.Count > 0)
        {
            payload["xcl"] = claims.ExtraClaims.Select(c => $"{c.Scope}|{c.Action}|{c.Specific}").ToArray();
        }

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            IssuedAt = now,
            NotBefore = now.AddSeconds(-30),
            Expires = expires,
            Claims = payload,
            SigningCredentials = _credentials,
        });
        return (token, expires);
    }

    /// <summary>Checks signature and lifetime; returns the claims or null. Valid tokens are cached until they expire.</summary>
    public async ValueTask<TokenClaims?> ValidateAsync(string token)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (_validated.TryGetValue(token, out var cached))
        {
            if (cached.ExpiresAt > now)
            {
                return cached;
            }

            _validated.TryRemove(token, out _);
            return null;
        }

        if (token.Length > 8192)
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidateAudience = false,
            IssuerSigningKey = _key,
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } e && e > now && (notBefore is null || notBefore <= now.AddSeconds(30)),
        }).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }

        if (!Enum.TryParse<PrincipalKind>(Claim(jwt, "kind"), out var kind))
        {
            return null;
        }

        var claims = new TokenClaims(
            kind,
            Claim(jwt, "sub") ?? "",
            jwt.Claims.Where(c => c.Type == "roles").Select(c => c.Value).ToArray(),
            Guid.TryParse(Claim(jwt, "mach"), out var machine) ? machine : Guid.Empty,
            Claim(jwt, "sec") ?? "",
            jwt.Claims.Where(c => c.Type == "xcl").Select(c => c.Value.Split('|')).Where(p => p.Length == 3)
                .Select(p => new Claim { Scope = p[0], Action = p[1], Specific = p[2] }).ToArray())
        {
            ExpiresAt = jwt.ValidTo,
        };

        if (_validated.Count >= MaxCachedTokens)
        {
            _validated.Clear();
        }

        _validated[token] = claims;
        return claims;
    }

    private static string? Claim(JsonWebToken jwt, string type) =>
        jwt.TryGetPayloadValue<object>(type, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;
}

/// <summary>What a token says about its bearer.</summary>
public sealed record TokenClaims(PrincipalKind Kind, string Subject, IReadOnlyList<string> Roles, Guid Machine, string SecretFingerprint, IReadOnlyList<Claim> ExtraClaims)
{
    public DateTime ExpiresAt { get; init; }
}

/// <summary>Writes files only the server's user may read (passwords, keys).</summary>
public static class SecretFiles
{
    public static void Write(string path, byte[] contents)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(path, options))
        {
            stream.Write(contents);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    public static void Write(string path, string contents) => Write(path, Encoding.UTF8.GetBytes(contents));
}
