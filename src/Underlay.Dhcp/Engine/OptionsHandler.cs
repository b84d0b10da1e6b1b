using Microsoft.Extensions.Logging;
using Underlay.Dhcp.Configuration;
using Underlay.Dhcp.Protocol;
using Underlay.Templates;

namespace Underlay.Dhcp.Engine;

/// <summary>
/// Fills the configured options: the reservation's over the subnet's (DRP mergeOptions, done when the
/// configuration is compiled). Constant values are copied as compiled; template values are rendered with DRP's
/// data, a map from option code to the request's value as text (<c>{{if eq (index . 77) "iPXE"}}…</c>).
/// </summary>
internal sealed class OptionsHandler : IDhcpHandler
{
    private readonly TemplateEngine _templates;
    private readonly ILogger _logger;

    public OptionsHandler(TemplateEngine templates, ILogger logger)
    {
        _templates = templates;
        _logger = logger;
    }

    public HandlerResult Handle(DhcpContext context)
    {
        if (context.Proxy || context.ReplyType is not (DhcpMessageType.Offer or DhcpMessageType.Ack))
        {
            return HandlerResult.Continue;
        }

        var options = context.Reservation?.Options ?? context.Subnet?.Options ?? [];
        string[]? data = null;
        foreach (var option in options)
        {
            if (option.Template is null)
            {
                if (option.Code == OptionCode.BootFileName && option.IsEmpty)
                {
                    // DRP: an empty option 67 on a reservation means "do not net-boot".
                    context.NetBootAllowed = false;
                    continue;
                }

                context.Options.Set(option.Code, option.Constant);
                continue;
            }

            data ??= TemplateData(context.Request);
            Render(context, option, data);
        }

        return HandlerResult.Continue;
    }

    private void Render(DhcpContext context, CompiledOption option, string[] data)
    {
        string text;
        try
        {
            text = _templates.RenderToString(option.Template!, data);
        }
        catch (TemplateException e)
        {
            Log.OptionTemplateFailed(_logger, option.Code, context.Token, e.Message);
            return;
        }

        if (option.Code == OptionCode.BootFileName && text.Length == 0)
        {
            context.NetBootAllowed = false;
            return;
        }

        if (OptionValues.ToBytes(option.Code, text) is { } bytes)
        {
            context.Options.Set(option.Code, bytes);
        }
        else
        {
            Log.OptionTemplateFailed(_logger, option.Code, context.Token, $"'{text}' does not fit the option's type");
        }
    }

    /// <summary>
    /// DRP's template data: option code → the request's value as text. A 256-entry slice rather than a map, so
    /// that <c>index . 77</c> indexes by integer as Go's <c>map[int]string</c> does, and a missing option reads "".
    /// </summary>
    internal static string[] TemplateData(DhcpMessage request)
    {
        var data = new string[256];
        Array.Fill(data, "");
        foreach (var code in request.OptionCodes)
        {
            data[code] = OptionValues.ToText(code, request.Option(code));
        }

        return data;
    }
}
