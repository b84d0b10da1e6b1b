using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Underlay.Api.Auth;
using Underlay.Boot;
using Underlay.Boot.Files;
using Underlay.Boot.Rendering;
using Underlay.Core.Models;
using Underlay.Tftp;

namespace Underlay.Server.Hosting;

/// <summary>
/// Wires Boot into underlayd: the renderer and virtual file system (also in DI, for the API's file endpoints and the
/// workflow engine), TFTP on the TFTP port, and the HTTP boot-file endpoints on the static port.
/// </summary>
internal static partial class BootModule
{
    public static void Register(WebApplicationBuilder builder, ServerContext context)
    {
        var options = context.Options;

        // The API's token service signs with the key in the secrets directory, created by the composition root before
        // modules register; a second instance over the same key issues tokens the API accepts (validation needs only the key).
        var tokens = new TokenService(TokenService.LoadOrCreateKey(Path.Combine(options.SecretsDirectory, "token-key")), context.Time);
        var boot = BootServices.Create(context.Store, new BootOptions
        {
            FileRoot = options.FileRoot,
            StaticIp = options.StaticIp,
            StaticPort = options.StaticPort,
            ApiPort = options.ApiPort,
        }, IssueToken(tokens), context.LoggerFactory);
        builder.Services.AddSingleton(boot);
        builder.Services.AddSingleton(boot.Renderer);
        builder.Services.AddHostedService(_ => new BootHostedService(boot, options, context.LoggerFactory));
    }

    /// <summary>Maps the boot files (renders, file root, loaders) on the static port, GET and HEAD, with range requests.</summary>
    public static void Map(WebApplication app, ServerContext context)
    {
        if (context.Options.DisableProvisioner)
        {
            return;
        }

        var boot = app.Services.GetRequiredService<BootServices>();
        app.MapMethods("/{**path}", [HttpMethods.Get, HttpMethods.Head], (HttpContext http) => ServeAsync(http, boot))
            .RequireHost($"*:{context.Options.StaticPort}")
            .ExcludeFromDescription();
    }

    /// <summary>
    /// Token kinds as the API issues them: a known machine's are <see cref="PrincipalKind.Machine"/> tokens like
    /// <c>GET /machines/{id}/token</c> returns (bound to the machine's secret, so rotating it revokes them), an unknown
    /// machine's are <see cref="PrincipalKind.Discovery"/> tokens, and a profile token is a machine token that may
    /// also read and update that one profile.
    /// </summary>
    private static RenderTokenIssuer IssueToken(TokenService tokens) => request =>
    {
        if (request.Kind == RenderTokenKind.Discovery || request.Machine is not { } machine)
        {
            return tokens.Issue(new TokenClaims(PrincipalKind.Discovery, "discovery", [], Guid.Empty, "", []), request.Lifetime).Token;
        }

        IReadOnlyList<Claim> extra = request.Kind == RenderTokenKind.Profile
            ? [new Claim { Scope = "profiles", Action = "get,update", Specific = request.Profile ?? "" }, new Claim { Scope = "params", Action = "get", Specific = "*" }]
            : [];
        return tokens.Issue(
            new TokenClaims(PrincipalKind.Machine, $"machine:{machine.Uuid}", [], machine.Uuid, TokenService.Fingerprint(machine.Secret), extra),
            request.Lifetime).Token;
    };

    private static async Task ServeAsync(HttpContext http, BootServices boot)
    {
        var request = new BootFileRequest("http", http.Connection.RemoteIpAddress, http.Connection.LocalIpAddress);
        var file = boot.Files.Open(http.Request.Path.Value ?? "/", request);
        IResult result = file.Kind switch
        {
            BootFileKind.Rendered => Results.Bytes(file.Content!, "text/plain; charset=utf-8", enableRangeProcessing: true),
            BootFileKind.Physical when file.Length == 0 => Results.Bytes([], "application/octet-stream"),
            BootFileKind.Physical => Results.File(file.FullPath!, "application/octet-stream", lastModified: file.LastWriteUtc, enableRangeProcessing: true),
            BootFileKind.Forbidden => Results.Text(file.Message + "\n", "text/plain", statusCode: StatusCodes.Status403Forbidden),
            BootFileKind.Failed => Results.Text(file.Message + "\n", "text/plain", statusCode: StatusCodes.Status500InternalServerError),
            _ => Results.Text("file not found\n", "text/plain", statusCode: StatusCodes.Status404NotFound),
        };
        await result.ExecuteAsync(http).ConfigureAwait(false);
        boot.Files.PublishServed("static", file.Path, request.Remote, file.Length, file.Kind.ToString());
    }

    /// <summary>Starts Boot (validation with its rules, the render index, pending explodes) and the TFTP server.</summary>
    private sealed partial class BootHostedService(BootServices boot, ServerOptions options, ILoggerFactory loggers) : BackgroundService
    {
        private readonly ILogger _logger = loggers.CreateLogger("underlayd.boot");
        private TftpServer? _tftp;

        public override async Task StartAsync(CancellationToken cancellationToken)
        {
            await boot.StartAsync(cancellationToken).ConfigureAwait(false);
            if (!options.DisableTftp)
            {
                var tftp = new TftpServer(
                    new TftpServerOptions { BindAddress = options.ListenAddress, Port = options.TftpPort },
                    new TftpBootFileSource(boot.Files),
                    loggers.CreateLogger<TftpServer>());
                tftp.TransferCompleted += (_, e) => boot.Files.PublishServed("tftp", e.Path, e.Client.Address, e.BytesTransferred, e.Outcome.ToString());
                await tftp.StartAsync(cancellationToken).ConfigureAwait(false);
                _tftp = tftp;
                LogTftpStarted(_logger, tftp.LocalEndPoint?.ToString() ?? "", boot.Root.Path);
            }

            await base.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        protected override Task ExecuteAsync(CancellationToken stoppingToken) => boot.RunAsync(stoppingToken);

        public override async Task StopAsync(CancellationToken cancellationToken)
        {
            if (_tftp is { } tftp)
            {
                await tftp.StopAsync(cancellationToken).ConfigureAwait(false);
                await tftp.DisposeAsync().ConfigureAwait(false);
            }

            await base.StopAsync(cancellationToken).ConfigureAwait(false);
            boot.Dispose();
        }

        [LoggerMessage(4100, LogLevel.Information, "TFTP serving the boot file space on {EndPoint} (file root {Root})")]
        private static partial void LogTftpStarted(ILogger logger, string endPoint, string root);
    }
}
