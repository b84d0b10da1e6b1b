namespace Underlay.Store.Persistence;

/// <summary>What a write does to one stored row.</summary>
public enum ChangeKind
{
    Upsert,
    Delete,
}

/// <summary>One row change: an object (<see cref="Prefix"/> = its type) or a content pack (<see cref="ContentPrefix"/>).</summary>
public readonly record struct PersistedChange(ChangeKind Kind, string Prefix, string Key, long Version, byte[]? Body)
{
    /// <summary>The pseudo-prefix under which uploaded content packs are persisted.</summary>
    public const string ContentPrefix = "contents";
}

/// <summary>One stored row as read back at start.</summary>
public sealed record PersistedRow(string Prefix, string Key, long Version, byte[] Body);

/// <summary>
/// The one persistence seam. The store keeps every object in memory and only writes through this interface
/// (one transaction per call) and reads it once at start. SQLite implements it for one node; a PostgreSQL
/// provider implements the same contract for several nodes sharing one database.
/// </summary>
public interface IStorePersistence : IAsyncDisposable
{
    /// <summary>A human-readable location such as <c>sqlite:/var/lib/underlay/underlay.db</c>.</summary>
    string Description { get; }

    /// <summary>Creates or migrates the schema.</summary>
    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Every stored row (objects and content packs).</summary>
    Task<IReadOnlyList<PersistedRow>> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Applies the changes in one transaction; returns once they are durable.</summary>
    Task CommitAsync(IReadOnlyList<PersistedChange> changes, CancellationToken cancellationToken);
}

/// <summary>Keeps nothing: for tests and throw-away servers (<c>--store memory:</c>).</summary>
public sealed class MemoryPersistence : IStorePersistence
{
    private readonly Dictionary<(string, string), PersistedRow> _rows = [];

    public string Description => "memory:";

    public Task OpenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<PersistedRow>> LoadAsync(CancellationToken cancellationToken)
    {
        lock (_rows)
        {
            return Task.FromResult<IReadOnlyList<PersistedRow>>([.. _rows.Values]);
        }
    }

    public Task CommitAsync(IReadOnlyList<PersistedChange> changes, CancellationToken cancellationToken)
    {
        lock (_rows)
        {
            foreach (var change in changes)
            {
                if (change.Kind == ChangeKind.Delete)
                {
                    _rows.Remove((change.Prefix, change.Key));
                }
                else
                {
                    _rows[(change.Prefix, change.Key)] = new PersistedRow(change.Prefix, change.Key, change.Version, change.Body!);
                }
            }
        }

        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
