using Microsoft.Extensions.Logging;
using Underlay.Dhcp.Protocol;

namespace Underlay.Dhcp;

/// <summary>
/// DHCP log messages; event IDs 1000-1999 are reserved for DHCP (STYLE.md §3.2 item 8). Per-packet messages are
/// Debug and carry the MAC, xid and interface; callers check <c>IsEnabled</c> before formatting arguments.
/// Highest ID used: 1024.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "DHCP listening on {Interface} ({Addresses}) port {Port} with {Workers} workers", EventName = "DhcpListening")]
    public static partial void Listening(ILogger logger, string @interface, string addresses, int port, int workers);

    [LoggerMessage(1001, LogLevel.Information, "DHCP stopped listening on {Interface} port {Port}", EventName = "DhcpStoppedListening")]
    public static partial void StoppedListening(ILogger logger, string @interface, int port);

    [LoggerMessage(1002, LogLevel.Warning, "DHCP cannot listen on {Interface} port {Port}: {Error}", EventName = "DhcpListenFailed")]
    public static partial void ListenFailed(ILogger logger, string @interface, int port, string error);

    [LoggerMessage(1003, LogLevel.Warning, "DHCP receive on {Interface} failed ({SocketError}); continuing", EventName = "DhcpReceiveFailed")]
    public static partial void ReceiveFailed(ILogger logger, string @interface, string socketError);

    [LoggerMessage(1004, LogLevel.Debug, "DHCP dropped a malformed datagram ({Reason}, {Length} bytes) on {Interface} from {Source}", EventName = "DhcpMalformed")]
    public static partial void Malformed(ILogger logger, string reason, int length, string @interface, string source);

    [LoggerMessage(1005, LogLevel.Debug, "DHCP {Type} from {Mac} xid {Xid:x8} on {Interface}: no reply ({Outcome})", EventName = "DhcpNoReply")]
    public static partial void NoReply(ILogger logger, DhcpMessageType type, string mac, uint xid, string @interface, string outcome);

    [LoggerMessage(1006, LogLevel.Debug, "DHCP {Reply} for {Type} from {Mac} xid {Xid:x8} on {Interface}: yiaddr {YiAddr} to {Destination}:{Port}", EventName = "DhcpReply")]
    public static partial void Replying(ILogger logger, DhcpMessageType reply, DhcpMessageType type, string mac, uint xid, string @interface, string yiAddr, string destination, int port);

    [LoggerMessage(1007, LogLevel.Warning, "DHCP reply on {Interface} to {Destination}:{Port} failed: {Error}", EventName = "DhcpSendFailed")]
    public static partial void SendFailed(ILogger logger, string @interface, string destination, int port, string error);

    [LoggerMessage(1008, LogLevel.Warning, "DHCP probe of {Address} failed: {Error}; offering it anyway", EventName = "DhcpProbeFailed")]
    public static partial void ProbeFailed(ILogger logger, string address, string error);

    [LoggerMessage(1009, LogLevel.Warning, "DHCP address {Address} answered a probe before being offered to {Mac} on {Interface}; quarantined", EventName = "DhcpAddressInUse")]
    public static partial void AddressInUse(ILogger logger, string address, string mac, string @interface);

    [LoggerMessage(1010, LogLevel.Warning, "DHCP subnet {Subnet} has no free address for {Mac} on {Interface}", EventName = "DhcpPoolExhausted")]
    public static partial void PoolExhausted(ILogger logger, string subnet, string mac, string @interface);

    [LoggerMessage(1011, LogLevel.Warning, "DHCP option {Code} for {Mac} not sent: {Error}", EventName = "DhcpOptionTemplateFailed")]
    public static partial void OptionTemplateFailed(ILogger logger, byte code, string mac, string error);

    [LoggerMessage(1012, LogLevel.Error, "DHCP could not store {Count} lease changes: {Error}", EventName = "DhcpLeaseCommitFailed")]
    public static partial void LeaseCommitFailed(ILogger logger, int count, string error);

    [LoggerMessage(1013, LogLevel.Warning, "DHCP: the store refused {Count} lease changes, e.g. {Problem}", EventName = "DhcpLeaseRefused")]
    public static partial void LeaseRefused(ILogger logger, int count, string problem);

    [LoggerMessage(1014, LogLevel.Error, "DHCP post-commit action failed", EventName = "DhcpAfterCommitFailed")]
    public static partial void AfterCommitFailed(ILogger logger, Exception exception);

    [LoggerMessage(1015, LogLevel.Information, "DHCP set machine {Machine} ({Mac}) address to {Address}", EventName = "DhcpMachineAddress")]
    public static partial void MachineAddressUpdated(ILogger logger, string machine, string mac, string address);

    [LoggerMessage(1016, LogLevel.Warning, "DHCP could not update machine {Machine}'s address: {Error}", EventName = "DhcpMachineAddressFailed")]
    public static partial void MachineAddressNotUpdated(ILogger logger, string machine, string error);

    [LoggerMessage(1017, LogLevel.Information, "DHCP configuration: {Subnets} subnets, {Reservations} reservations", EventName = "DhcpConfiguration")]
    public static partial void ConfigurationLoaded(ILogger logger, int subnets, int reservations);

    [LoggerMessage(1018, LogLevel.Warning, "DHCP configuration: {Problem}", EventName = "DhcpConfigurationProblem")]
    public static partial void ConfigurationProblem(ILogger logger, string problem);

    [LoggerMessage(1019, LogLevel.Information, "DHCP loaded {Leases} leases ({Dropped} stale probes dropped)", EventName = "DhcpLeasesLoaded")]
    public static partial void LeasesLoaded(ILogger logger, int leases, int dropped);

    [LoggerMessage(1020, LogLevel.Error, "DHCP worker on {Interface} failed; it restarts", EventName = "DhcpWorkerFailed")]
    public static partial void WorkerFailed(ILogger logger, Exception exception, string @interface);

    [LoggerMessage(1021, LogLevel.Information, "DHCP stopped: {Received} requests, {Malformed} malformed, {Acks} ACKs", EventName = "DhcpStopped")]
    public static partial void Stopped(ILogger logger, long received, long malformed, long acks);

    [LoggerMessage(1022, LogLevel.Warning, "DHCP lost {Count} store events (listener fell behind); reloading the configuration and leases", EventName = "DhcpEventsLost")]
    public static partial void EventsLost(ILogger logger, int count);

    [LoggerMessage(1023, LogLevel.Warning, "DHCP interface scan failed: {Error}", EventName = "DhcpInterfaceScanFailed")]
    public static partial void InterfaceScanFailed(ILogger logger, string error);

    [LoggerMessage(1024, LogLevel.Information, "DHCP ICMP probing of new addresses is {State} (timeout {TimeoutMs} ms)", EventName = "DhcpProbing")]
    public static partial void Probing(ILogger logger, string state, int timeoutMs);
}
