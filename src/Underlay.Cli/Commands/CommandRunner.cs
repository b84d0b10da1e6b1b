using System.CommandLine;
using System.Net.Http;
using System.Text.Json;
using Underlay.Client;

namespace Underlay.Cli.Commands;

/// <summary>Runs a command body and turns failures into one line on standard error and exit code 1.</summary>
internal static class CommandRunner
{
    public static void Run(this Command command, Func<ParseResult, CancellationToken, Task> body) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                await body(parse, cancellationToken).ConfigureAwait(false);
                return 0;
            }
            catch (UnderlayApiException e)
            {
                await Console.Error.WriteLineAsync($"Error: {e.Error}").ConfigureAwait(false);
                return 1;
            }
            catch (CliException e)
            {
                await Console.Error.WriteLineAsync($"Error: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (HttpRequestException e)
            {
                await Console.Error.WriteLineAsync($"Error: cannot reach the API: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}").ConfigureAwait(false);
                return 1;
            }
            catch (JsonException e)
            {
                await Console.Error.WriteLineAsync($"Error: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 130;
            }
        });
}
