using Underlay.Core.Models;

namespace Underlay.Api.Auth;

public enum PrincipalKind
{
    User,

    /// <summary>A known machine's agent: its own machine, its own jobs, and what its tasks need to read.</summary>
    Machine,

    /// <summary>An unknown machine booting discovery: may create and look up machines (whoami).</summary>
    Discovery,
}

/// <summary>Who is calling, after authentication.</summary>
public sealed class Principal
{
    public Principal(PrincipalKind kind, string name, IReadOnlyList<string> roles, Guid machine = default, IReadOnlyList<Claim>? extraClaims = null)
    {
        Kind = kind;
        Name = name;
        Roles = roles;
        Machine = machine;
        ExtraClaims = extraClaims ?? [];
    }

    public PrincipalKind Kind { get; }

    /// <summary>The user name, or <c>machine:&lt;uuid&gt;</c> / <c>discovery</c>.</summary>
    public string Name { get; }

    public IReadOnlyList<string> Roles { get; }

    /// <summary>The machine a machine token belongs to.</summary>
    public Guid Machine { get; }

    /// <summary>Claims granted by the token itself (a task's ExtraClaims, a profile token).</summary>
    public IReadOnlyList<Claim> ExtraClaims { get; }

    public override string ToString() => Name;
}
