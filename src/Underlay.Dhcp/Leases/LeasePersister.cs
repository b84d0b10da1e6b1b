using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Dhcp.Protocol;
using Underlay.Store;

namespace Underlay.Dhcp.Leases;

/// <summary>Something to do once the lease changes queued before it are durable (send an ACK).</summary>
internal interface IAfterCommit
{
    void Run(bool committed);
}

/// <summary>
/// Persists lease changes through the store without putting the disk on the packet path. Handlers append to an
/// unbounded channel (never blocking); one writer drains everything queued, keeps the last change per address,
/// and commits it as a few store transactions of at most <see cref="ChunkSize"/> leases, started together so the
/// store's group commit writes them with one fsync. Items queued
/// after a change (ACK replies, machine address updates) run only after the batch holding it is durable, so a
/// client never holds an ACK the server could forget, and no packet waits longer than the batch in flight plus
/// its own.
/// </summary>
internal sealed partial class LeasePersister : ILeaseJournal, IAsyncDisposable
{
    /// <summary>The principal of every write DHCP makes; its own events are ignored by its change listener.</summary>
    public const string Principal = "dhcp";

    private const int MaxChangesPerBatch = 8192;

    /// <summary>
    /// Leases per store transaction. The store checks each change against the transaction's other pending changes,
    /// so one transaction of thousands of leases costs more per lease than several small ones committed together
    /// (measured with bench/dhcp/run.sh; see src/Underlay.Dhcp/README.md).
    /// </summary>
    private const int ChunkSize = 128;

    private readonly ObjectStore _store;
    private readonly ILogger _logger;
    private readonly Channel<JournalItem> _queue = Channel.CreateUnbounded<JournalItem>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly Dictionary<uint, LeaseRecord> _latest = [];
    private readonly List<uint> _order = [];
    private readonly List<IAfterCommit> _after = [];
    private readonly Dictionary<string, uint> _machineAddresses = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private long _batches;
    private long _written;

    public LeasePersister(ObjectStore store, ILogger logger)
    {
        _store = store;
        _logger = logger;
        _loop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Store transactions committed so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Lease rows written so far (after coalescing).</summary>
    public long Written => Interlocked.Read(ref _written);

    public void Record(in LeaseRecord record) => _queue.Writer.TryWrite(new JournalItem(record, null, null, 0));

    /// <summary>Runs <paramref name="action"/> after every change queued so far is committed.</summary>
    public void AfterCommit(IAfterCommit action)
    {
        if (!_queue.Writer.TryWrite(new JournalItem(default, action, null, 0)))
        {
            action.Run(committed: false);
        }
    }

    /// <summary>DRP: a lease for a machine's MAC makes the lease address the machine's Address.</summary>
    public void UpdateMachineAddress(string mac, uint address) => _queue.Writer.TryWrite(new JournalItem(default, null, mac, address));

    /// <summary>Completes once everything queued before the call is durable (tests, shutdown).</summary>
    public Task FlushAsync()
    {
        var flushed = new FlushMarker();
        AfterCommit(flushed);
        return flushed.Task;
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var count = 0;
            while (count < MaxChangesPerBatch && reader.TryRead(out var item))
            {
                count++;
                if (item.After is not null)
                {
                    _after.Add(item.After);
                }
                else if (item.MachineMac is not null)
                {
                    _machineAddresses[item.MachineMac] = item.MachineAddress;
                }
                else
                {
                    if (!_latest.ContainsKey(item.Record.Address))
                    {
                        _order.Add(item.Record.Address);
                    }

                    _latest[item.Record.Address] = item.Record;
                }
            }

            var committed = true;
            if (_order.Count > 0)
            {
                committed = await CommitLeasesAsync().ConfigureAwait(false);
                _latest.Clear();
                _order.Clear();
            }

            foreach (var after in _after)
            {
                try
                {
                    after.Run(committed);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Log.AfterCommitFailed(_logger, e);
                }
            }

            _after.Clear();
            if (_machineAddresses.Count > 0)
            {
                await UpdateMachinesAsync().ConfigureAwait(false);
                _machineAddresses.Clear();
            }
        }
    }

    private async Task<bool> CommitLeasesAsync()
    {
        // Several store transactions of at most ChunkSize leases, started together: the store runs their bodies
        // one after another and commits them to the database as one group, while each transaction stays small
        // (its validation and uniqueness checks look at the transaction's other pending changes).
        var chunks = new List<Task<(WriteResult Result, int Count, int Refused, string? Problem)>>((_order.Count / ChunkSize) + 1);
        for (var start = 0; start < _order.Count; start += ChunkSize)
        {
            chunks.Add(CommitChunkAsync(start, Math.Min(ChunkSize, _order.Count - start)));
        }

        var ok = true;
        var written = 0;
        foreach (var chunk in chunks)
        {
            try
            {
                var (result, count, refused, problem) = await chunk.ConfigureAwait(false);
                if (refused > 0)
                {
                    Log.LeaseRefused(_logger, refused, problem ?? "");
                }

                if (result.IsSuccess)
                {
                    written += count - refused;
                }
                else
                {
                    Log.LeaseCommitFailed(_logger, count, result.ToString());
                    ok = false;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // CommitChunkAsync's body ran or will run under the store's lock; only the outcome is unknown.
                Log.LeaseCommitFailed(_logger, ChunkSize, e.Message);
                ok = false;
            }
        }

        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _written, written);
        return ok;
    }

    private async Task<(WriteResult Result, int Count, int Refused, string? Problem)> CommitChunkAsync(int start, int count)
    {
        var refused = 0;
        string? lastProblem = null;
        var result = await _store.WriteAsync(tx =>
        {
            var last = WriteResult.Failed(204, ModelTypes.Leases.Prefix, "", "nothing written");
            for (var i = start; i < start + count; i++)
            {
                var record = _latest[_order[i]];
                var key = OptionValues.FormatAddress(record.Address);
                var exists = tx.GetEntry(ModelTypes.Leases, key) is not null;
                if (record.Deleted)
                {
                    if (exists)
                    {
                        tx.Delete(ModelTypes.Leases, key);
                    }

                    continue;
                }

                var lease = new Lease
                {
                    Addr = key,
                    Token = record.Token,
                    Strategy = "MAC",
                    State = LeaseRecord.StateName(record.State),
                    ExpireTime = DateTimeOffset.FromUnixTimeMilliseconds(record.ExpiresMs).UtcDateTime,
                    Via = record.Via == 0 ? "" : OptionValues.FormatAddress(record.Via),
                    Duration = record.Duration,
                };
                var written = exists ? tx.Save(lease, null) : tx.Create(lease);
                if (written.IsSuccess)
                {
                    last = written;
                }
                else
                {
                    refused++;
                    lastProblem = written.ToString();
                }
            }

            // A transaction with only deletes still commits: the store applies what the transaction holds.
            return last.IsSuccess ? last : WriteResult.Success(new Lease { Addr = "0.0.0.0" }, 0);
        }, Principal).ConfigureAwait(false);
        return (result, count, refused, lastProblem);
    }

    private async Task UpdateMachinesAsync()
    {
        foreach (var (mac, address) in _machineAddresses)
        {
            if (_store.FindMachineByMac(mac) is not { } machine)
            {
                continue;
            }

            var text = OptionValues.FormatAddress(address);
            if (machine.Address == text)
            {
                continue;
            }

            try
            {
                var result = await _store.WriteAsync(tx =>
                {
                    // DRP: any other machine recorded with this address loses it.
                    foreach (var other in tx.List(ModelTypes.Machines))
                    {
                        if (other is Machine { } m && m.Address == text && m.Uuid != machine.Uuid)
                        {
                            tx.Update(ModelTypes.Machines, m.Key, (copy, _) => { ((Machine)copy).Address = ""; return null; });
                        }
                    }

                    return tx.Update(ModelTypes.Machines, machine.Key, (copy, _) => { ((Machine)copy).Address = text; return null; });
                }, Principal).ConfigureAwait(false);
                if (result.IsSuccess)
                {
                    Log.MachineAddressUpdated(_logger, machine.Name, mac, text);
                }
                else
                {
                    Log.MachineAddressNotUpdated(_logger, machine.Name, result.ToString());
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.MachineAddressNotUpdated(_logger, machine.Name, e.Message);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private readonly record struct JournalItem(LeaseRecord Record, IAfterCommit? After, string? MachineMac, uint MachineAddress);

    private sealed class FlushMarker : IAfterCommit
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => _done.Task;

        public void Run(bool committed) => _done.TrySetResult();
    }
}
