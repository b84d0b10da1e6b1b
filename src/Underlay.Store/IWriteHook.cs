using Underlay.Core.Models;
using Underlay.Core.Registry;

namespace Underlay.Store;

public enum WriteAction
{
    Create,
    Save,
    Update,
    Delete,
}

/// <summary>One object write inside a transaction, as hooks see it.</summary>
public sealed class WriteOperation
{
    internal WriteOperation(WriteAction action, ModelType type, ModelBase? proposed, ModelBase? original)
    {
        Action = action;
        Type = type;
        Proposed = proposed;
        Original = original;
    }

    public WriteAction Action { get; }

    public ModelType Type { get; }

    /// <summary>The new state (null for deletes). Hooks may change it: defaults, expanded task lists.</summary>
    public ModelBase? Proposed { get; }

    /// <summary>The stored state being replaced or deleted (null for creates).</summary>
    public ModelBase? Original { get; }

    /// <summary>Set by a hook to refuse the write.</summary>
    public WriteResult? Refusal { get; private set; }

    public void Refuse(int code, params string[] messages) =>
        Refusal = WriteResult.Failed(code, Type.Prefix, (Proposed ?? Original)?.Key ?? "", messages);
}

/// <summary>
/// Business rules that run inside a write transaction, before validation (workflow expansion, defaults from
/// prefs, refusing to delete objects in use). The store calls hooks; it holds no rules itself.
/// </summary>
public interface IWriteHook
{
    void BeforeWrite(WriteTransaction transaction, WriteOperation operation);
}
