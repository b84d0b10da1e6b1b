using Underlay.Core.Models;

namespace Underlay.Boot.Rendering;

/// <summary>Which kind of bearer token a template asks for (DRP <c>.GenerateToken</c> and friends).</summary>
public enum RenderTokenKind
{
    /// <summary>A known machine's token: its own machine, its jobs, what its tasks read.</summary>
    Machine,

    /// <summary>An unknown machine's token: may create and look up machines (whoami).</summary>
    Discovery,

    /// <summary>A machine's token that may also read and update one profile (cluster coordination).</summary>
    Profile,
}

/// <summary>A token request from a render.</summary>
/// <param name="Kind">What the token may do.</param>
/// <param name="Machine">The machine it is for (null for <see cref="RenderTokenKind.Discovery"/>).</param>
/// <param name="Lifetime">How long it stays valid.</param>
/// <param name="Profile">The profile of a <see cref="RenderTokenKind.Profile"/> token.</param>
public sealed record RenderTokenRequest(RenderTokenKind Kind, Machine? Machine, TimeSpan Lifetime, string? Profile = null);

/// <summary>
/// Issues tokens for renders. Boot knows nothing of the API's token format: the composition root supplies this
/// delegate over the API's token service, so a rendered token is exactly what the API accepts.
/// </summary>
public delegate string RenderTokenIssuer(RenderTokenRequest request);
