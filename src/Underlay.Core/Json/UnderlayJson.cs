using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Underlay.Core.Models;

namespace Underlay.Core.Json;

/// <summary>
/// The serializer settings for each direction. All share the source-generated <see cref="UnderlayJsonContext"/>;
/// they differ in what leaves the server (no secrets) and how strictly input is read.
/// </summary>
public static class UnderlayJson
{
    /// <summary>Everything, for the database.</summary>
    public static readonly JsonSerializerOptions Persist = UnderlayJsonContext.Default.Options;

    /// <summary>API responses and events: secrets (password hashes, token secrets) are never written.</summary>
    public static readonly JsonSerializerOptions Output = new(UnderlayJsonContext.Default.Options)
    {
        TypeInfoResolver = UnderlayJsonContext.Default.WithAddedModifier(RemoveSecrets),
    };

    /// <summary>
    /// API request bodies: unknown fields are refused so a typo cannot silently drop data. Secrets are write-only:
    /// accepted here (rotating a machine's Secret revokes its tokens), never written back out.
    /// </summary>
    public static readonly JsonSerializerOptions StrictInput = new(UnderlayJsonContext.Default.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Content packs: fields from newer DRP versions are ignored rather than failing the whole pack.</summary>
    public static readonly JsonSerializerOptions LenientInput = new(UnderlayJsonContext.Default.Options)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    /// <summary>Pretty output for people (CLI).</summary>
    public static readonly JsonSerializerOptions Indented = new(UnderlayJsonContext.Default.Options)
    {
        WriteIndented = true,
        TypeInfoResolver = UnderlayJsonContext.Default.WithAddedModifier(RemoveSecrets),
    };

    private static void RemoveSecrets(JsonTypeInfo typeInfo)
    {
        if (typeInfo.Type == typeof(User))
        {
            Remove(typeInfo, nameof(User.PasswordHash), nameof(User.Secret));
        }
        else if (typeInfo.Type == typeof(Machine))
        {
            Remove(typeInfo, nameof(Machine.Secret));
        }
    }

    private static void Remove(JsonTypeInfo typeInfo, params string[] names)
    {
        for (var i = typeInfo.Properties.Count - 1; i >= 0; i--)
        {
            if (names.Contains(typeInfo.Properties[i].Name))
            {
                typeInfo.Properties.RemoveAt(i);
            }
        }
    }
}
