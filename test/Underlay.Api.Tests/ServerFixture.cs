using Underlay.Client;
using Underlay.TestUtilities;

namespace Underlay.Api.Tests;

/// <summary>One real underlayd shared by the tests of a class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public UnderlayServerProcess Server { get; private set; } = null!;

    public UnderlayClient Admin { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await UnderlayServerProcess.StartNewAsync();
        Admin = Server.AdminClient();
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await Server.DisposeAsync();
    }
}
