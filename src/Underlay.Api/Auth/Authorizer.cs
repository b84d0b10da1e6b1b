using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Api.Auth;

/// <summary>
/// Decides whether a principal may perform <c>(scope, action, specific)</c>, DRP's claim model: a user's roles
/// hold claims, and each of scope, action and specific is <c>*</c> or a comma-separated list. An action
/// <c>update</c> also covers per-field <c>update:/Field</c>.
/// Machine and discovery tokens carry fixed, narrow rights (their own machine and jobs; what tasks read).
/// </summary>
public sealed class Authorizer
{
    /// <summary>Types an agent reads to run its tasks.</summary>
    private static readonly HashSet<string> MachineReadable =
        ["stages", "tasks", "params", "profiles", "bootenvs", "templates", "workflows", "contexts", "info", "prefs"];

    private readonly ObjectStore _store;

    public Authorizer(ObjectStore store) => _store = store;

    public bool Allows(Principal principal, string scope, string action, string specific, ModelBase? target = null)
    {
        foreach (var claim in principal.ExtraClaims)
        {
            if (Matches(claim, scope, action, specific))
            {
                return true;
            }
        }

        return principal.Kind switch
        {
            PrincipalKind.User => UserAllows(principal, scope, action, specific),
            PrincipalKind.Machine => MachineAllows(principal, scope, action, specific, target),
            PrincipalKind.Discovery => scope == "machines" && action is "create" or "get" or "list" || scope == "info" && action == "get",
            _ => false,
        };
    }

    private bool UserAllows(Principal principal, string scope, string action, string specific)
    {
        foreach (var roleName in principal.Roles)
        {
            if (_store.Get(ModelTypes.Roles, roleName) is not Role role)
            {
                continue;
            }

            foreach (var claim in role.Claims)
            {
                if (Matches(claim, scope, action, specific))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool MachineAllows(Principal principal, string scope, string action, string specific, ModelBase? target)
    {
        var self = principal.Machine.ToString();
        var reading = action is "get" or "list";
        switch (scope)
        {
            case "machines":
                // Its own machine only: read, change, its params and its token.
                return (specific == self || action == "list") && (reading || ActionIs(action, "update") || action == "token");
            case "jobs":
                if (action is "create" or "list")
                {
                    return true;
                }

                return target is Job job && job.Machine == principal.Machine && (reading || ActionIs(action, "update") || action is "log" or "actions");
            case "events":
                return action == "post";
            default:
                return reading && MachineReadable.Contains(scope);
        }
    }

    private static bool ActionIs(string action, string verb) =>
        action == verb || action.StartsWith(verb + ":", StringComparison.Ordinal);

    internal static bool Matches(Claim claim, string scope, string action, string specific) =>
        ListMatches(claim.Scope, scope) && ActionMatches(claim.Action, action) && ListMatches(claim.Specific, specific);

    private static bool ListMatches(string pattern, string value)
    {
        foreach (var part in pattern.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "*" || part == value)
            {
                return true;
            }
        }

        return false;
    }

    private static bool ActionMatches(string pattern, string action)
    {
        foreach (var part in pattern.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            // "update" grants "update:/Params/x"; "update:/Params" grants "update:/Params/x" but not "update:/Name".
            if (part == "*" || part == action || action.StartsWith(part + ":", StringComparison.Ordinal) ||
                (part.Contains(':', StringComparison.Ordinal) && action.StartsWith(part + "/", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
