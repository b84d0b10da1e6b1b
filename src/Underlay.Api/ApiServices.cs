using Underlay.Api.Auth;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Store;
using Underlay.Workflow;

namespace Underlay.Api;

/// <summary>What the endpoints use; built once by the composition root.</summary>
public sealed class ApiServices
{
    public ApiServices(ObjectStore store, TokenService tokens, Func<Info> info, TimeProvider time)
    {
        Store = store;
        Tokens = tokens;
        Info = info;
        Time = time;
        Authenticator = new Authenticator(store, tokens, time);
        Authorizer = new Authorizer(store);
        Params = new ParamResolver(store);
    }

    public ObjectStore Store { get; }

    public TokenService Tokens { get; }

    public Authenticator Authenticator { get; }

    public Authorizer Authorizer { get; }

    public ParamResolver Params { get; }

    /// <summary>Produces the current server facts for <c>/api/v3/info</c>.</summary>
    public Func<Info> Info { get; }

    public TimeProvider Time { get; }

    /// <summary>Default lifetime of tokens issued to users (DRP: 1 hour unless <c>?ttl=</c> asks otherwise).</summary>
    public TimeSpan UserTokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Renders jobs' task templates; null until a renderer is configured.</summary>
    public IJobActionRenderer? JobActions { get; init; }

    /// <summary>Where job logs live; null when the server keeps none.</summary>
    public JobLogs? JobLogs { get; init; }

    /// <summary>DRP's <c>knownTokenTimeout</c> default: 3600 s.</summary>
    public TimeSpan MachineTokenLifetime { get; init; } = TimeSpan.FromHours(1);
}
