using Underlay.Core.Models;
using Underlay.Core.Registry;
using Underlay.Core.Validation;
using Underlay.Store.Content;
using Underlay.Store.Events;

namespace Underlay.Store;

public sealed partial class ObjectStore
{
    /// <summary>
    /// Validates objects of <paramref name="type"/> again and stores the outcome wherever <c>Validated</c>,
    /// <c>Available</c> or <c>Errors</c> changed. For facts validation reads outside the store: a boot environment
    /// becomes available when its kernel appears in the file root (an ISO was exploded), and rules added after the
    /// built-in packs loaded apply to them too.
    /// <para>
    /// Writable objects are saved again (hooks run, the version increases). Objects of content layers are read-only
    /// and their availability is derived, not stored: the layer is rebuilt with revalidated copies and swapped in
    /// with the transaction, and an <c>update</c> event announces each changed object. A writable object that
    /// would now fail validation is left as it is (a write must never turn a stored object invalid).
    /// </para>
    /// </summary>
    /// <param name="type">The object type to revalidate.</param>
    /// <param name="select">Which objects to look at; null for all of the type.</param>
    /// <param name="principal">Recorded on the events.</param>
    /// <param name="cancellationToken">Cancels waiting for the write lock.</param>
    /// <returns>How many objects changed.</returns>
    public async Task<int> RevalidateAsync(ModelType type, Func<ModelBase, bool>? select, string principal, CancellationToken cancellationToken = default)
    {
        var changed = 0;
        await WriteAsync(tx =>
        {
            changed = 0;
            foreach (var entry in _tables[type].Entries.Values.ToList())
            {
                var original = entry.Object;
                if (select is not null && !select(original))
                {
                    continue;
                }

                var probe = type.Clone(original);
                Validator.Validate(probe, tx, ValidationMode.Write, original);
                if (SameOutcome(original, probe) || !probe.Validated)
                {
                    continue;
                }

                if (tx.Save(type.Clone(original), null, WriteAction.Update).IsSuccess)
                {
                    changed++;
                }
            }

            var layers = Volatile.Read(ref _layers);
            var rebuilt = new ContentLayer[layers.Length];
            var anyLayer = false;
            for (var i = 0; i < layers.Length; i++)
            {
                var layer = layers[i];
                rebuilt[i] = layer;
                if (!layer.Objects.TryGetValue(type, out var byKey))
                {
                    continue;
                }

                Dictionary<string, ModelBase>? replaced = null;
                foreach (var (key, original) in byKey)
                {
                    if (select is not null && !select(original))
                    {
                        continue;
                    }

                    var copy = type.Clone(original);
                    Validator.Validate(copy, tx, ValidationMode.Content);
                    if (SameOutcome(original, copy))
                    {
                        continue;
                    }

                    copy.ReadOnly = true;
                    copy.Bundle = layer.Name;
                    replaced ??= new Dictionary<string, ModelBase>(byKey, StringComparer.Ordinal);
                    replaced[key] = copy;
                    tx.Publish(new StoreEvent(tx.Now, type.Prefix, "update", key, principal, copy, original));
                    changed++;
                }

                if (replaced is null)
                {
                    continue;
                }

                var objects = new Dictionary<ModelType, Dictionary<string, ModelBase>>(layer.Objects) { [type] = replaced };
                rebuilt[i] = new ContentLayer(layer.Meta, layer.BuiltIn, objects, [.. layer.Warnings], layer.Version);
                anyLayer = true;
            }

            if (anyLayer)
            {
                tx.LayerChange = new LayerChange(rebuilt, []);
            }

            return new WriteResult(200, type.Prefix, "", null, 0, []);
        }, principal, cancellationToken).ConfigureAwait(false);
        return changed;
    }

    private static bool SameOutcome(ModelBase a, ModelBase b) =>
        a.Validated == b.Validated && a.Available == b.Available && a.Errors.SequenceEqual(b.Errors, StringComparer.Ordinal);
}
