using Underlay.Core.Models;

namespace Underlay.Core.Registry;

/// <summary>
/// Secrets never leave the server, so a client that GETs an object and PUTs it back sends them empty. An empty
/// secret in an update therefore means "unchanged", not "cleared".
/// </summary>
public static class SecretFields
{
    public static void CarryOver(ModelBase original, ModelBase proposed)
    {
        switch (proposed)
        {
            case Machine machine when original is Machine stored:
                if (machine.Secret.Length == 0)
                {
                    machine.Secret = stored.Secret;
                }

                break;
            case User user when original is User stored:
                if (user.PasswordHash.Length == 0)
                {
                    user.PasswordHash = stored.PasswordHash;
                }

                if (user.Secret.Length == 0)
                {
                    user.Secret = stored.Secret;
                }

                break;
        }
    }
}
