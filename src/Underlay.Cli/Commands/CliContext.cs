using System.CommandLine;
using System.Text;
using System.Text.Json;
using Underlay.Client;
using Underlay.Core.Json;

namespace Underlay.Cli.Commands;

/// <summary>The global options every command takes, and the client they configure.</summary>
internal static class CliContext
{
    public static readonly Option<string?> Endpoint = new("--endpoint", "-E")
    {
        Description = "API endpoint (env UNDERLAY_ENDPOINT or RS_ENDPOINT; default https://127.0.0.1:8092)",
        Recursive = true,
    };

    public static readonly Option<string?> Username = new("--username", "-U")
    {
        Description = "User name (env UNDERLAY_USERNAME; RS_KEY=user:password also works)",
        Recursive = true,
    };

    public static readonly Option<string?> Password = new("--password", "-P")
    {
        Description = "Password (env UNDERLAY_PASSWORD)",
        Recursive = true,
    };

    public static readonly Option<string?> Token = new("--token", "-T")
    {
        Description = "Bearer token (env UNDERLAY_TOKEN or RS_TOKEN)",
        Recursive = true,
    };

    public static readonly Option<string?> CaCert = new("--ca-cert")
    {
        Description = "PEM certificate to trust for the API, e.g. the server's tls/server.crt (env UNDERLAY_CA_CERT)",
        Recursive = true,
    };

    public static readonly Option<bool> Insecure = new("--insecure", "-k")
    {
        Description = "Do not verify the server certificate (env UNDERLAY_INSECURE=1)",
        Recursive = true,
    };

    public static readonly Option<string> Format = new("--format", "-F")
    {
        Description = "Output format: json, yaml or table",
        DefaultValueFactory = _ => "json",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        foreach (var option in new Option[] { Endpoint, Username, Password, Token, CaCert, Insecure, Format })
        {
            root.Options.Add(option);
        }
    }

    public static ClientOptions Options(ParseResult parse)
    {
        var options = ClientOptions.FromEnvironment();
        if (parse.GetValue(Endpoint) is { } endpoint)
        {
            options = options with { Endpoint = new Uri(endpoint.Contains("://", StringComparison.Ordinal) ? endpoint : "https://" + endpoint) };
        }

        if (parse.GetValue(Username) is { } user)
        {
            options = options with { Username = user, Token = null };
        }

        if (parse.GetValue(Password) is { } password)
        {
            options = options with { Password = password };
        }

        if (parse.GetValue(Token) is { } token)
        {
            options = options with { Token = token };
        }

        if (parse.GetValue(CaCert) is { } caCert)
        {
            options = options with { CaCertificateFile = caCert };
        }

        if (parse.GetValue(Insecure))
        {
            options = options with { Insecure = true };
        }

        return options;
    }

    public static UnderlayClient Client(ParseResult parse) => new(Options(parse));

    /// <summary>
    /// Reads an object argument as drpcli does: inline JSON or YAML, <c>-</c> for standard input, or a file path.
    /// Returns UTF-8 JSON.
    /// </summary>
    public static byte[] ReadInput(string argument)
    {
        byte[] raw;
        if (argument == "-")
        {
            using var stdin = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        else if (File.Exists(argument))
        {
            raw = File.ReadAllBytes(argument);
        }
        else
        {
            raw = Encoding.UTF8.GetBytes(argument);
        }

        try
        {
            var json = YamlJson.ToJsonBytes(raw);
            using var _ = JsonDocument.Parse(json);
            return json;
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            throw new CliException($"'{Truncate(argument)}' is neither JSON, YAML nor a readable file: {e.Message}");
        }
    }

    /// <summary>Reads a param value: JSON if it parses, otherwise the text as a string (so <c>set x to hello</c> works).</summary>
    public static JsonElement ReadValue(string argument)
    {
        var text = argument == "-" ? Console.In.ReadToEnd() : argument;
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text, UnderlayJsonContext.Default.String);
        }
    }

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..60] + "…";
}

/// <summary>A user-facing failure: printed as one line to standard error, exit code 1.</summary>
internal sealed class CliException : Exception
{
    public CliException(string message)
        : base(message)
    {
    }

    public CliException()
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
