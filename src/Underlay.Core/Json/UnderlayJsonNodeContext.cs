using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Underlay.Core.Json;

/// <summary>Source-generated metadata for the DOM types used when composing and patching JSON.</summary>
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonArray))]
public sealed partial class UnderlayJsonNodeContext : JsonSerializerContext;
