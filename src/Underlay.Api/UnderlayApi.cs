using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Underlay.Api.Endpoints;
using Underlay.Api.Http;
using Underlay.Core.Json;

namespace Underlay.Api;

/// <summary>Registers the <c>/api/v3</c> surface on a web application.</summary>
public static class UnderlayApi
{
    public const string BasePath = "/api/v3";

    public static IServiceCollection AddUnderlayApi(this IServiceCollection services)
    {
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, UnderlayJsonContext.Default);
            options.SerializerOptions.PropertyNamingPolicy = null;
        });
        services.AddOpenApi("v3", options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Underlay API";
            document.Info.Description = "DRP-compatible provisioning API (/api/v3).";
            return Task.CompletedTask;
        }));
        return services;
    }

    /// <summary>Maps every endpoint; <paramref name="host"/> restricts them to the API listener (e.g. <c>*:8092</c>).</summary>
    public static void MapUnderlayApi(this WebApplication app, ApiServices services, string? host = null)
    {
        var api = app.MapGroup(BasePath);
        if (host is not null)
        {
            api.RequireHost(host);
        }

        api.AddEndpointFilter(async (invocation, next) =>
        {
            var context = invocation.HttpContext;
            var (principal, problem) = await services.Authenticator.AuthenticateAsync(context.Request).ConfigureAwait(false);
            if (principal is null)
            {
                await ApiHttp.WriteErrorAsync(context, 401, "", "", problem ?? "unauthorized").ConfigureAwait(false);
                return Results.Empty;
            }

            context.Items[ApiHttp.PrincipalKey] = principal;
            return await next(invocation).ConfigureAwait(false);
        });

        ObjectEndpoints.Map(api, services);
        ContentEndpoints.Map(api, services);
        SystemEndpoints.Map(api, services);
        EventEndpoints.Map(api, services);
        FileEndpoints.Map(api, services);
        JobEndpoints.Map(api, services);

        // The OpenAPI document is public, as DRP's swagger.json is: it describes the API, not its data.
        var openApi = app.MapOpenApi(BasePath + "/openapi.json");
        if (host is not null)
        {
            openApi.RequireHost(host);
        }
    }
}
