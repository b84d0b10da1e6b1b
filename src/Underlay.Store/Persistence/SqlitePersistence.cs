using Microsoft.Data.Sqlite;

namespace Underlay.Store.Persistence;

/// <summary>
/// The embedded default: one SQLite file in WAL mode. A single connection does every write (SQLite serialises
/// writers anyway); <c>synchronous=FULL</c> makes each committed transaction survive power loss, and the store's
/// group commit keeps that affordable under load.
/// </summary>
public sealed class SqlitePersistence : IStorePersistence
{
    // Each entry upgrades the schema by one version. Never edit a shipped entry; append a new one.
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE objects (
            prefix  TEXT    NOT NULL,
            key     TEXT    NOT NULL,
            version INTEGER NOT NULL,
            body    BLOB    NOT NULL,
            PRIMARY KEY (prefix, key)
        ) WITHOUT ROWID;
        """,
    ];

    private readonly string _path;
    private SqliteConnection? _connection;

    public SqlitePersistence(string path) => _path = Path.GetFullPath(path);

    public string Description => $"sqlite:{_path}";

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var builder = new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
        _connection = new SqliteConnection(builder.ConnectionString);
        await _connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;", cancellationToken).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            // The database holds password hashes and token secrets.
            File.SetUnixFileMode(_path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        await using var versionCommand = _connection.CreateCommand();
        versionCommand.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(await versionCommand.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        if (version > Migrations.Length)
        {
            throw new InvalidOperationException($"{_path} has schema version {version}, newer than this build understands ({Migrations.Length}); refusing to touch it");
        }

        for (var next = version; next < Migrations.Length; next++)
        {
            await using var transaction = (SqliteTransaction)await _connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[next] + $"\nPRAGMA user_version = {next + 1};";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<PersistedRow>> LoadAsync(CancellationToken cancellationToken)
    {
        var rows = new List<PersistedRow>();
        await using var command = Connection.CreateCommand();
        command.CommandText = "SELECT prefix, key, version, body FROM objects;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new PersistedRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), (byte[])reader.GetValue(3)));
        }

        return rows;
    }

    public async Task CommitAsync(IReadOnlyList<PersistedChange> changes, CancellationToken cancellationToken)
    {
        await using var transaction = (SqliteTransaction)await Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var upsert = Connection.CreateCommand();
        upsert.Transaction = transaction;
        upsert.CommandText = "INSERT INTO objects (prefix, key, version, body) VALUES ($p, $k, $v, $b) " +
                             "ON CONFLICT (prefix, key) DO UPDATE SET version = excluded.version, body = excluded.body;";
        var upsertPrefix = upsert.Parameters.Add("$p", SqliteType.Text);
        var upsertKey = upsert.Parameters.Add("$k", SqliteType.Text);
        var upsertVersion = upsert.Parameters.Add("$v", SqliteType.Integer);
        var upsertBody = upsert.Parameters.Add("$b", SqliteType.Blob);
        await using var delete = Connection.CreateCommand();
        delete.Transaction = transaction;
        delete.CommandText = "DELETE FROM objects WHERE prefix = $p AND key = $k;";
        var deletePrefix = delete.Parameters.Add("$p", SqliteType.Text);
        var deleteKey = delete.Parameters.Add("$k", SqliteType.Text);
        foreach (var change in changes)
        {
            if (change.Kind == ChangeKind.Delete)
            {
                deletePrefix.Value = change.Prefix;
                deleteKey.Value = change.Key;
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                upsertPrefix.Value = change.Prefix;
                upsertKey.Value = change.Key;
                upsertVersion.Value = change.Version;
                upsertBody.Value = change.Body;
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }

    private SqliteConnection Connection => _connection ?? throw new InvalidOperationException("the SQLite store is not open");

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = Connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
