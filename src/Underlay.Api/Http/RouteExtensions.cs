using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Underlay.Api.Http;

/// <summary>
/// Maps handlers that take the raw <see cref="HttpContext"/> as route handlers (not plain request delegates), so
/// OpenAPI metadata (<c>Produces</c>, <c>Accepts</c>) can be attached to them.
/// </summary>
internal static class RouteExtensions
{
    public static RouteHandlerBuilder Get(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, Task> handler) =>
        routes.MapMethods(pattern, [HttpMethods.Get], (Delegate)handler);

    public static RouteHandlerBuilder Head(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, Task> handler) =>
        routes.MapMethods(pattern, [HttpMethods.Head], (Delegate)handler);

    public static RouteHandlerBuilder Post(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, Task> handler) =>
        routes.MapMethods(pattern, [HttpMethods.Post], (Delegate)handler);

    public static RouteHandlerBuilder Put(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, Task> handler) =>
        routes.MapMethods(pattern, [HttpMethods.Put], (Delegate)handler);

    public static RouteHandlerBuilder Patch(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, Task> handler) =>
        routes.MapMethods(pattern, [HttpMethods.Patch], (Delegate)handler);

    public static RouteHandlerBuilder Delete(this IEndpointRouteBuilder routes, string pattern, Func<HttpContext, Task> handler) =>
        routes.MapMethods(pattern, [HttpMethods.Delete], (Delegate)handler);
}
