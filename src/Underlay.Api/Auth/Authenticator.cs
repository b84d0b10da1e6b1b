using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Api.Auth;

/// <summary>
/// Turns request credentials into a <see cref="Principal"/>: <c>Basic</c> (verified against the user's password
/// hash, then cached for two minutes like DRP's Basic-to-token exchange, so a CLI loop does not pay PBKDF2 per
/// call), <c>Bearer</c> tokens, and <c>?token=</c> for websockets (treated as Basic when it contains a colon).
/// </summary>
public sealed class Authenticator
{
    private static readonly TimeSpan BasicCacheLifetime = TimeSpan.FromMinutes(2);
    private const int MaxCachedBasic = 10_000;

    private readonly ObjectStore _store;
    private readonly TokenService _tokens;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (string User, string PasswordHash, DateTime Until)> _basicCache = new(StringComparer.Ordinal);

    public Authenticator(ObjectStore store, TokenService tokens, TimeProvider time)
    {
        _store = store;
        _tokens = tokens;
        _time = time;
    }

    /// <summary>The principal, or null with the reason when the request carries no usable credentials.</summary>
    public async ValueTask<(Principal? Principal, string? Problem)> AuthenticateAsync(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (string.IsNullOrEmpty(header) && request.Query.TryGetValue("token", out var queryToken) && queryToken.Count > 0)
        {
            var value = queryToken[0] ?? "";
            header = value.Contains(':', StringComparison.Ordinal)
                ? "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(value))
                : "Bearer " + value;
        }

        if (string.IsNullOrEmpty(header))
        {
            return (null, "no credentials (use Basic or Bearer authentication)");
        }

        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateBasic(header[6..].Trim());
        }

        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return await AuthenticateBearerAsync(header[7..].Trim()).ConfigureAwait(false);
        }

        return (null, "unsupported authorization scheme");
    }

    /// <summary>Checks a user name and password directly (the token-exchange endpoint and the CLI use this).</summary>
    public User? VerifyPassword(string name, string password)
    {
        if (_store.Get(ModelTypes.Users, name) is not User user || user.PasswordHash.Length == 0)
        {
            return null;
        }

        return PasswordHasher.Verify(password, user.PasswordHash) ? user : null;
    }

    private (Principal?, string?) AuthenticateBasic(string encoded)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var cacheKey = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(encoded)));
        if (_basicCache.TryGetValue(cacheKey, out var cached) && cached.Until > now &&
            _store.Get(ModelTypes.Users, cached.User) is User cachedUser && cachedUser.PasswordHash == cached.PasswordHash)
        {
            return (UserPrincipal(cachedUser, null), null);
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return (null, "malformed Basic credentials");
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return (null, "malformed Basic credentials");
        }

        if (VerifyPassword(decoded[..colon], decoded[(colon + 1)..]) is not { } user)
        {
            return (null, "wrong user name or password");
        }

        if (_basicCache.Count >= MaxCachedBasic)
        {
            _basicCache.Clear();
        }

        _basicCache[cacheKey] = (user.Name, user.PasswordHash, now + BasicCacheLifetime);
        return (UserPrincipal(user, null), null);
    }

    private async ValueTask<(Principal?, string?)> AuthenticateBearerAsync(string token)
    {
        if (await _tokens.ValidateAsync(token).ConfigureAwait(false) is not { } claims)
        {
            return (null, "invalid or expired token");
        }

        switch (claims.Kind)
        {
            case PrincipalKind.User:
                if (_store.Get(ModelTypes.Users, claims.Subject) is not User user || TokenService.Fingerprint(user.Secret) != claims.SecretFingerprint)
                {
                    return (null, "token revoked");
                }

                return (UserPrincipal(user, claims), null);
            case PrincipalKind.Machine:
                if (_store.Get(ModelTypes.Machines, claims.Machine.ToString()) is not Machine machine ||
                    TokenService.Fingerprint(machine.Secret) != claims.SecretFingerprint)
                {
                    return (null, "token revoked");
                }

                return (new Principal(PrincipalKind.Machine, $"machine:{machine.Uuid}", [], machine.Uuid, claims.ExtraClaims), null);
            case PrincipalKind.Discovery:
                return (new Principal(PrincipalKind.Discovery, "discovery", [], default, claims.ExtraClaims), null);
            default:
                return (null, "invalid token");
        }
    }

    /// <summary>A token may carry a subset of the user's roles; the user's current roles always bound it.</summary>
    private static Principal UserPrincipal(User user, TokenClaims? claims)
    {
        IReadOnlyList<string> roles = claims is { Roles.Count: > 0 }
            ? [.. user.Roles.Where(r => claims.Roles.Contains(r))]
            : user.Roles;
        return new Principal(PrincipalKind.User, user.Name, roles, default, claims?.ExtraClaims);
    }
}
