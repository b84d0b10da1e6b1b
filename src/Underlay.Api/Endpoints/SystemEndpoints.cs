using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Underlay.Api.Auth;
using Underlay.Api.Http;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Api.Endpoints;

/// <summary><c>/info</c>, <c>/prefs</c>, user and machine tokens, and password changes.</summary>
internal static class SystemEndpoints
{
    /// <summary>Prefs DRP defines; others are accepted too, since content and plugins add their own.</summary>
    public static readonly IReadOnlyList<string> KnownPrefs =
        ["defaultBootEnv", "unknownBootEnv", "defaultStage", "defaultWorkflow", "knownTokenTimeout", "unknownTokenTimeout", "debugDhcp", "debugRenderer", "debugBootEnv"];

    public static void Map(RouteGroupBuilder api, ApiServices services)
    {
        api.Get("/info", context => InfoAsync(context, services)).WithTags("system").Produces<Info>();
        api.Get("/prefs", context => GetPrefsAsync(context, services)).WithTags("system").Produces<Dictionary<string, string>>();
        api.Post("/prefs", context => SetPrefsAsync(context, services)).WithTags("system").Accepts<Dictionary<string, string>>("application/json").Produces<Dictionary<string, string>>();
        api.Get("/users/{name}/token", context => UserTokenAsync(context, services)).WithTags("users").Produces<UserToken>();
        api.Put("/users/{name}/password", context => SetPasswordAsync(context, services)).WithTags("users").Produces<User>();
        api.Get("/machines/{id}/token", context => MachineTokenAsync(context, services)).WithTags("machines").Produces<UserToken>();
    }

    private static async Task InfoAsync(HttpContext context, ApiServices services)
    {
        if (!services.Authorizer.Allows(context.Principal(), "info", "get", "*"))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "info", "", "may not read info").ConfigureAwait(false);
            return;
        }

        var info = services.Info();
        foreach (var type in ModelTypes.All)
        {
            info.Stats[$"{type.Prefix}.count"] = services.Store.Count(type);
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(info, UnderlayJsonContext.Default.Info)).ConfigureAwait(false);
    }

    private static Dictionary<string, string> CurrentPrefs(ApiServices services) =>
        services.Store.List(ModelTypes.Prefs).Cast<Pref>().ToDictionary(p => p.Name, p => p.Val, StringComparer.Ordinal);

    private static async Task GetPrefsAsync(HttpContext context, ApiServices services)
    {
        if (!services.Authorizer.Allows(context.Principal(), "prefs", "list", "*"))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "prefs", "", "may not read prefs").ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(CurrentPrefs(services), UnderlayJsonContext.Default.DictionaryStringString)).ConfigureAwait(false);
    }

    private static async Task SetPrefsAsync(HttpContext context, ApiServices services)
    {
        var principal = context.Principal();
        if (await ApiHttp.ReadBodyAsync(context, ApiHttp.MaxObjectBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        Dictionary<string, string>? values;
        try
        {
            values = JsonSerializer.Deserialize(body, UnderlayJsonContext.Default.DictionaryStringString);
        }
        catch (JsonException e)
        {
            await ApiHttp.WriteErrorAsync(context, 400, "prefs", "", $"body must be a JSON object of strings: {ApiHttp.Describe(e)}").ConfigureAwait(false);
            return;
        }

        foreach (var name in (values ?? []).Keys)
        {
            if (!services.Authorizer.Allows(principal, "prefs", "update", name))
            {
                await ApiHttp.WriteErrorAsync(context, 403, "prefs", name, $"may not change pref '{name}'").ConfigureAwait(false);
                return;
            }
        }

        var result = await services.Store.WriteAsync(tx =>
        {
            WriteResult last = new(200, "prefs", "", null, 0, []);
            foreach (var (name, value) in values ?? [])
            {
                var pref = new Pref { Name = name, Val = value };
                last = tx.GetEntry(ModelTypes.Prefs, name) is null ? tx.Create(pref) : tx.Save(pref, null, WriteAction.Update);
                if (!last.IsSuccess)
                {
                    return last;
                }
            }

            return last;
        }, principal.Name, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(CurrentPrefs(services), UnderlayJsonContext.Default.DictionaryStringString)).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>GET /users/&lt;name&gt;/token?ttl=&amp;roles=</c>: a bearer token for that user, optionally restricted to some of
    /// its roles. Users may always get their own; others need the <c>token</c> claim on users.
    /// </summary>
    private static async Task UserTokenAsync(HttpContext context, ApiServices services)
    {
        var name = ApiHttp.Route(context, "name");
        var principal = context.Principal();
        var self = principal.Kind == PrincipalKind.User && principal.Name == name;
        if (!self && !services.Authorizer.Allows(principal, "users", "token", name))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "users", name, $"may not get a token for user '{name}'").ConfigureAwait(false);
            return;
        }

        if (services.Store.Get(ModelTypes.Users, name) is not User user)
        {
            await ApiHttp.WriteErrorAsync(context, 404, "users", name, $"user '{name}' not found").ConfigureAwait(false);
            return;
        }

        if (!TryTtl(context, services.UserTokenLifetime, out var lifetime))
        {
            await ApiHttp.WriteErrorAsync(context, 400, "users", name, "ttl must be a number of seconds between 1 and 94608000, or a duration such as 1h").ConfigureAwait(false);
            return;
        }

        string[] roles = context.Request.Query["roles"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (roles.FirstOrDefault(r => !user.Roles.Contains(r)) is { } foreign)
        {
            await ApiHttp.WriteErrorAsync(context, 403, "users", name, $"user '{name}' does not hold role '{foreign}'").ConfigureAwait(false);
            return;
        }

        var (token, expires) = services.Tokens.Issue(
            new TokenClaims(PrincipalKind.User, user.Name, roles.Length > 0 ? roles : [], Guid.Empty, TokenService.Fingerprint(user.Secret), []),
            lifetime);
        var answer = new UserToken { Token = token, Info = $"token for user {user.Name}", ExpiresAt = expires };
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(answer, UnderlayJsonContext.Default.UserToken)).ConfigureAwait(false);
    }

    private static async Task MachineTokenAsync(HttpContext context, ApiServices services)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(ModelTypes.Machines, id) is not { Object: Machine machine })
        {
            await ApiHttp.WriteErrorAsync(context, 404, "machines", id, $"machine '{id}' not found").ConfigureAwait(false);
            return;
        }

        if (!services.Authorizer.Allows(context.Principal(), "machines", "token", machine.Key, machine))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "machines", machine.Key, $"may not get a token for machine '{machine.Key}'").ConfigureAwait(false);
            return;
        }

        if (!TryTtl(context, services.MachineTokenLifetime, out var lifetime))
        {
            await ApiHttp.WriteErrorAsync(context, 400, "machines", id, "ttl must be a number of seconds or a duration such as 1h").ConfigureAwait(false);
            return;
        }

        var (token, expires) = services.Tokens.Issue(
            new TokenClaims(PrincipalKind.Machine, $"machine:{machine.Uuid}", [], machine.Uuid, TokenService.Fingerprint(machine.Secret), []),
            lifetime);
        var answer = new UserToken { Token = token, Info = $"token for machine {machine.Name}", ExpiresAt = expires };
        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(answer, UnderlayJsonContext.Default.UserToken)).ConfigureAwait(false);
    }

    private static async Task SetPasswordAsync(HttpContext context, ApiServices services)
    {
        var name = ApiHttp.Route(context, "name");
        var principal = context.Principal();
        var self = principal.Kind == PrincipalKind.User && principal.Name == name;
        if (!self && !services.Authorizer.Allows(principal, "users", "password", name))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "users", name, $"may not change the password of '{name}'").ConfigureAwait(false);
            return;
        }

        if (await ApiHttp.ReadBodyAsync(context, ApiHttp.MaxObjectBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        string? password = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("Password", out var value) && value.ValueKind == JsonValueKind.String)
            {
                password = value.GetString();
            }
        }
        catch (JsonException)
        {
        }

        if (string.IsNullOrEmpty(password) || password.Length < 8)
        {
            await ApiHttp.WriteErrorAsync(context, 422, "users", name, "Password: must be a string of at least 8 characters (body: {\"Password\": \"...\"})").ConfigureAwait(false);
            return;
        }

        var hash = PasswordHasher.Hash(password);
        var result = await services.Store.UpdateAsync(ModelTypes.Users, name, (copy, _) =>
        {
            var user = (User)copy;
            user.PasswordHash = hash;

            // A new password revokes every token issued under the old one.
            user.Secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            return null;
        }, null, principal.Name, context.RequestAborted).ConfigureAwait(false);
        await ObjectEndpoints.WriteOutcomeAsync(context, result).ConfigureAwait(false);
    }

    /// <summary>Reads <c>?ttl=</c> as seconds or a Go-style duration (<c>30m</c>, <c>2h</c>), capped at three years.</summary>
    internal static bool TryTtl(HttpContext context, TimeSpan fallback, out TimeSpan lifetime)
    {
        lifetime = fallback;
        var text = context.Request.Query["ttl"].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            lifetime = TimeSpan.FromSeconds(seconds);
        }
        else if (text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            lifetime = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => TimeSpan.Zero,
            };
        }
        else
        {
            return false;
        }

        return lifetime > TimeSpan.Zero && lifetime <= TimeSpan.FromDays(3 * 365);
    }
}
