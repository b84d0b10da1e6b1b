using System.Text.Json;
using System.Text.Json.Serialization;

namespace Underlay.Core.Models;

/// <summary>The error body of every failed API call (DRP <c>models.Error</c>).</summary>
public sealed class ApiError
{
    public string Model { get; set; } = "";

    public string Key { get; set; } = "";

    public string Type { get; set; } = "API_ERROR";

    public int Code { get; set; }

    public List<string> Messages { get; set; } = [];

    public override string ToString() =>
        $"{Code} {Type}{(Model.Length > 0 ? $" {Model}" : "")}{(Key.Length > 0 ? $":{Key}" : "")}: {string.Join("; ", Messages)}";
}

/// <summary>A change notification (DRP <c>models.Event</c>), as sent on the websocket.</summary>
public sealed class Event
{
    public DateTime Time { get; set; }

    /// <summary>The object prefix (<c>machines</c>) or an event family (<c>tftp</c>, <c>static</c>, <c>dhcp</c>).</summary>
    public string Type { get; set; } = "";

    /// <summary><c>create</c>, <c>update</c>, <c>save</c>, <c>delete</c>, or a family-specific verb.</summary>
    public string Action { get; set; } = "";

    public string Key { get; set; } = "";

    public string Principal { get; set; } = "";

    public JsonElement? Object { get; set; }

    public JsonElement? Original { get; set; }
}

/// <summary>Content pack metadata (DRP <c>models.ContentMetaData</c>).</summary>
public sealed class ContentMeta
{
    public string Name { get; set; } = "";

    public string Version { get; set; } = "";

    public string Description { get; set; } = "";

    public string Documentation { get; set; } = "";

    public string DisplayName { get; set; } = "";

    public string Source { get; set; } = "";

    public string CodeSource { get; set; } = "";

    public string DocUrl { get; set; } = "";

    public string Author { get; set; } = "";

    public string Copyright { get; set; } = "";

    public string License { get; set; } = "";

    public string Icon { get; set; } = "";

    public string Color { get; set; } = "";

    public string Order { get; set; } = "";

    public string Tags { get; set; } = "";

    /// <summary>Comma-separated <c>name: semver-range</c> list of packs this one needs.</summary>
    public string Prerequisites { get; set; } = "";

    public string RequiredFeatures { get; set; } = "";

    public string Type { get; set; } = "";

    public bool Writable { get; set; }

    public bool Overwritable { get; set; }
}

/// <summary>A content pack in DRP's bundled format: <c>{meta, sections: {prefix: {key: object}}}</c>.</summary>
public sealed class ContentPack
{
    [JsonPropertyName("meta")]
    public ContentMeta Meta { get; set; } = new();

    [JsonPropertyName("sections")]
    public Dictionary<string, Dictionary<string, JsonElement>> Sections { get; set; } = [];
}

/// <summary>What <c>GET /api/v3/contents</c> lists for each pack.</summary>
public sealed class ContentSummary
{
    [JsonPropertyName("meta")]
    public ContentMeta Meta { get; set; } = new();

    public Dictionary<string, int> Counts { get; set; } = [];

    public List<string> Warnings { get; set; } = [];
}

/// <summary>Server facts (DRP <c>models.Info</c>).</summary>
public sealed class Info
{
    public string Version { get; set; } = "";

    public string Id { get; set; } = "";

    public string Address { get; set; } = "";

    public int ApiPort { get; set; }

    public int FilePort { get; set; }

    public int TftpPort { get; set; }

    public int DhcpPort { get; set; }

    public int BinlPort { get; set; }

    public bool TftpEnabled { get; set; }

    public bool DhcpEnabled { get; set; }

    public bool BinlEnabled { get; set; }

    public bool ProvisionerEnabled { get; set; }

    public string Arch { get; set; } = "";

    public string Os { get; set; } = "";

    public string Store { get; set; } = "";

    public DateTime StartedAt { get; set; }

    public List<string> Features { get; set; } = [];

    public Dictionary<string, int> Stats { get; set; } = [];

    public List<string> Errors { get; set; } = [];
}

/// <summary>The answer of <c>GET /api/v3/users/&lt;name&gt;/token</c> and <c>/machines/&lt;id&gt;/token</c>.</summary>
public sealed class UserToken
{
    public string Token { get; set; } = "";

    public string Info { get; set; } = "";

    public DateTime ExpiresAt { get; set; }
}
