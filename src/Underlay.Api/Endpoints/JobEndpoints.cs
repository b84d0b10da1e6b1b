using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Underlay.Api.Auth;
using Underlay.Api.Http;
using Underlay.Core.Json;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Workflow;

namespace Underlay.Api.Endpoints;

/// <summary>
/// The runner's endpoints: <c>POST /jobs</c> (DRP's "next job" rules), <c>GET /jobs/&lt;id&gt;/actions</c> (the task
/// rendered for the machine), <c>PUT|GET /jobs/&lt;id&gt;/log</c>, and <c>POST /whoami</c> (find a machine by its hardware).
/// </summary>
internal static class JobEndpoints
{
    /// <summary>A single log append larger than this is refused; agents send output in small pieces anyway.</summary>
    private const int MaxLogChunkBytes = 1024 * 1024;

    public static void Map(RouteGroupBuilder api, ApiServices services)
    {
        api.Post("/jobs", context => NextAsync(context, services)).WithTags("jobs").Produces<Job>(201).Produces<Job>(202).Produces(204);
        api.Get("/jobs/{id}/actions", context => ActionsAsync(context, services)).WithTags("jobs").Produces<List<JobAction>>();
        api.Put("/jobs/{id}/log", context => AppendLogAsync(context, services)).WithTags("jobs").Produces(204);
        api.Get("/jobs/{id}/log", context => ReadLogAsync(context, services)).WithTags("jobs").Produces<string>(200, "text/plain");
        api.Post("/whoami", context => WhoamiAsync(context, services)).WithTags("machines").Produces<WhoamiResult>();
    }

    private static async Task NextAsync(HttpContext context, ApiServices services)
    {
        var principal = context.Principal();
        var (ok, request) = await ApiHttp.ReadJsonBodyAsync(context, UnderlayJsonContext.Default.JobRequest, "jobs", "{\"Machine\": uuid, \"Context\": string}").ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        if (request is null || request.Machine == Guid.Empty)
        {
            await ApiHttp.WriteErrorAsync(context, 422, "jobs", "", "Machine: must be set").ConfigureAwait(false);
            return;
        }

        var machineKey = request.Machine.ToString();
        var target = services.Store.Get(ModelTypes.Machines, machineKey);
        if (!services.Authorizer.Allows(principal, "jobs", "create", "*") ||
            (target is not null && !services.Authorizer.Allows(principal, "machines", "get", machineKey, target)))
        {
            await ApiHttp.WriteErrorAsync(context, 403, "jobs", "", $"{principal} may not start jobs for machine {machineKey}").ConfigureAwait(false);
            return;
        }

        NextJob next = default;
        var result = await services.Store.WriteAsync(tx =>
        {
            next = JobScheduler.Next(tx, request.Machine, request.Context ?? "");
            return next.Commits
                ? new Store.WriteResult(next.Code is 201 or 202 or 204 ? next.Code : 200, "jobs", next.Job?.Key ?? "", next.Job, 0, [])
                : Store.WriteResult.Failed(next.Code, "jobs", machineKey, next.Message);
        }, principal.Name, context.RequestAborted).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            await ApiHttp.WriteResultErrorAsync(context, result).ConfigureAwait(false);
            return;
        }

        if (next.KeepWrites)
        {
            await ApiHttp.WriteErrorAsync(context, next.Code, "jobs", machineKey, next.Message).ConfigureAwait(false);
            return;
        }

        if (next.Job is null)
        {
            context.Response.StatusCode = 204;
            context.Response.Headers["X-Underlay-Reason"] = next.Message;
            return;
        }

        var stored = services.Store.GetEntry(ModelTypes.Jobs, next.Job.Key);
        await ApiHttp.WriteObjectAsync(context, stored?.Object ?? next.Job, stored?.Version ?? 0, next.Code).ConfigureAwait(false);
    }

    private static async Task<Job?> FindJobAsync(HttpContext context, ApiServices services, string action)
    {
        var id = ApiHttp.Route(context, "id");
        if (services.Store.Resolve(ModelTypes.Jobs, id) is not { Object: Job job })
        {
            await ApiHttp.WriteErrorAsync(context, 404, "jobs", id, $"job '{id}' not found").ConfigureAwait(false);
            return null;
        }

        return await ObjectEndpoints.AuthorizeAsync(context, services, ModelTypes.Jobs, action, job).ConfigureAwait(false) ? job : null;
    }

    private static async Task ActionsAsync(HttpContext context, ApiServices services)
    {
        if (await FindJobAsync(context, services, "actions").ConfigureAwait(false) is not { } job)
        {
            return;
        }

        if (services.Store.Get(ModelTypes.Machines, job.Machine.ToString()) is not Machine machine)
        {
            await ApiHttp.WriteErrorAsync(context, 404, "machines", job.Machine.ToString(), "the job's machine no longer exists").ConfigureAwait(false);
            return;
        }

        if (services.Store.Get(ModelTypes.Tasks, job.Task) is not TaskModel task)
        {
            // Synthetic jobs (bootenv roll-overs) have no task and nothing to run.
            await ApiHttp.WriteJsonAsync(context, "[]"u8.ToArray()).ConfigureAwait(false);
            return;
        }

        if (services.JobActions is not { } renderer)
        {
            await ApiHttp.WriteErrorAsync(context, 503, "jobs", job.Key, "task rendering is not configured on this server").ConfigureAwait(false);
            return;
        }

        var os = context.Request.Query["os"].ToString();
        var (actions, error) = renderer.Render(machine, job, task, os.Length > 0 ? os : "linux");
        if (actions is null)
        {
            await ApiHttp.WriteErrorAsync(context, 422, "tasks", task.Name, $"rendering task '{task.Name}' for machine '{machine.Name}' failed: {error}").ConfigureAwait(false);
            return;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(actions.ToList(), UnderlayJsonContext.Default.ListJobAction)).ConfigureAwait(false);
    }

    private static async Task AppendLogAsync(HttpContext context, ApiServices services)
    {
        if (await FindJobAsync(context, services, "log").ConfigureAwait(false) is not { } job)
        {
            return;
        }

        if (services.JobLogs is not { } logs)
        {
            await ApiHttp.WriteErrorAsync(context, 503, "jobs", job.Key, "job logs are not configured on this server").ConfigureAwait(false);
            return;
        }

        if (await ApiHttp.ReadBodyAsync(context, MaxLogChunkBytes).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        logs.Append(job.Uuid, body);
        context.Response.StatusCode = 204;
    }

    private static async Task ReadLogAsync(HttpContext context, ApiServices services)
    {
        if (await FindJobAsync(context, services, "get").ConfigureAwait(false) is not { } job)
        {
            return;
        }

        var bytes = services.JobLogs?.Read(job.Uuid) ?? [];
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Finds the machine a piece of hardware is (DRP <c>doc/arch/whoami.rst</c>): on-disk UUID 1000 points, SMBIOS
    /// UUID 50, system and chassis serial hashes 25 each, DIMM serials and MAC addresses up to 100 each by the
    /// share that match; 100 points make a match. Discovery tokens get the matched machine's token back.
    /// </summary>
    private static async Task WhoamiAsync(HttpContext context, ApiServices services)
    {
        var principal = context.Principal();
        if (!services.Authorizer.Allows(principal, "machines", "get", "*") && principal.Kind != PrincipalKind.Machine)
        {
            await ApiHttp.WriteErrorAsync(context, 403, "machines", "", $"{principal} may not look machines up").ConfigureAwait(false);
            return;
        }

        var (ok, request) = await ApiHttp.ReadJsonBodyAsync(context, UnderlayJsonContext.Default.WhoamiRequest, "machines", "a whoami request").ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var (best, score) = Whoami.Match(services.Store.List(ModelTypes.Machines).Cast<Machine>(), request ?? new WhoamiRequest());
        if (best is null || score < Whoami.Threshold)
        {
            await ApiHttp.WriteErrorAsync(context, 404, "machines", "", $"no machine matches (best score {score} of {Whoami.Threshold} needed)").ConfigureAwait(false);
            return;
        }

        if (principal.Kind == PrincipalKind.Machine && principal.Machine != best.Uuid)
        {
            await ApiHttp.WriteErrorAsync(context, 403, "machines", "", $"{principal} is a different machine").ConfigureAwait(false);
            return;
        }

        var answer = new WhoamiResult { Uuid = best.Uuid, Score = score };
        if (principal.Kind == PrincipalKind.Discovery)
        {
            answer.Token = services.Tokens.Issue(
                new TokenClaims(PrincipalKind.Machine, $"machine:{best.Uuid}", [], best.Uuid, TokenService.Fingerprint(best.Secret), []),
                services.MachineTokenLifetime).Token;
        }

        await ApiHttp.WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(answer, UnderlayJsonContext.Default.WhoamiResult)).ConfigureAwait(false);
    }

    internal static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
