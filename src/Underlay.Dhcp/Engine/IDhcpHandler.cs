namespace Underlay.Dhcp.Engine;

internal enum HandlerResult : byte
{
    /// <summary>Go on with the next handler.</summary>
    Continue,

    /// <summary>The reply is decided (a NAK, say); skip the remaining handlers and send it.</summary>
    Reply,

    /// <summary>No reply (ignored, RELEASE/DECLINE handled, pool exhausted, probe started).</summary>
    Stop,
}

/// <summary>
/// One step of request handling, coredhcp-style: it reads the request and what earlier handlers decided and
/// fills part of the reply. Handlers are composed once, in <see cref="DhcpEngine.CreateChain"/>.
/// </summary>
internal interface IDhcpHandler
{
    HandlerResult Handle(DhcpContext context);
}
