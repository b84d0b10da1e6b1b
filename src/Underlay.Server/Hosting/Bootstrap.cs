using Underlay.Api.Auth;
using Underlay.Core.Models;
using Underlay.Core.Params;
using Underlay.Core.Registry;
using Underlay.Store;

namespace Underlay.Server.Hosting;

/// <summary>
/// First-start setup: an <c>admin</c> user with a random password (stored 0600 under the data directory and
/// printed once — there is no built-in default password), the writable <c>global</c> profile, and default prefs.
/// Every step is skipped when its object already exists, so restarts change nothing.
/// </summary>
internal static class Bootstrap
{
    public const string AdminUser = "admin";
    public const string SuperuserRole = "superuser";
    private const string Principal = "underlayd";

    public static async Task RunAsync(ObjectStore store, ServerOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        if (!store.List(ModelTypes.Users).Any())
        {
            var password = PasswordHasher.GeneratePassword();
            var result = await store.CreateAsync(new User
            {
                Name = AdminUser,
                Description = "Created at first start",
                PasswordHash = PasswordHasher.Hash(password),
                Roles = [SuperuserRole],
            }, Principal, cancellationToken).ConfigureAwait(false);
            Check(result);
            var passwordFile = Path.Combine(options.SecretsDirectory, "admin-password");
            SecretFiles.Write(passwordFile, password + "\n");
            await console.WriteLineAsync($"underlayd: first start: created user '{AdminUser}' with password {password}").ConfigureAwait(false);
            await console.WriteLineAsync($"underlayd: the password is also stored (mode 0600) in {passwordFile}; it will not be shown again").ConfigureAwait(false);
        }

        if (store.Get(ModelTypes.Profiles, ParamResolver.GlobalProfile) is null)
        {
            Check(await store.CreateAsync(new Profile
            {
                Name = ParamResolver.GlobalProfile,
                Description = "Params every machine inherits",
            }, Principal, cancellationToken).ConfigureAwait(false));
        }

        (string Name, string Value)[] prefs =
        [
            ("defaultBootEnv", options.DefaultBootEnv),
            ("unknownBootEnv", options.UnknownBootEnv),
            ("defaultStage", options.DefaultStage),
            ("defaultWorkflow", options.DefaultWorkflow),
            ("knownTokenTimeout", "3600"),
            ("unknownTokenTimeout", "600"),
        ];
        foreach (var (name, value) in prefs)
        {
            if (store.Get(ModelTypes.Prefs, name) is null)
            {
                Check(await store.CreateAsync(new Pref { Name = name, Val = value }, Principal, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    private static void Check(WriteResult result)
    {
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"first-start setup failed: {result}");
        }
    }
}
