using System.Security.Cryptography;
using Underlay.Core.Models;
using Underlay.Store;

namespace Underlay.Api.Auth;

/// <summary>Gives every new user and machine a random token-signing secret (rotating it later revokes tokens).</summary>
public sealed class SecretsHook : IWriteHook
{
    public void BeforeWrite(WriteTransaction transaction, WriteOperation operation)
    {
        switch (operation.Proposed)
        {
            case User { Secret.Length: 0 } user:
                user.Secret = NewSecret();
                break;
            case Machine { Secret.Length: 0 } machine:
                machine.Secret = NewSecret();
                break;
        }
    }

    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
