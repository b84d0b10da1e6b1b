using Microsoft.Extensions.Logging;
using Underlay.Store;

namespace Underlay.Server.Hosting;

/// <summary>What every service module gets from the composition root.</summary>
internal sealed record ServerContext(ServerOptions Options, ObjectStore Store, ILoggerFactory LoggerFactory, TimeProvider Time);
