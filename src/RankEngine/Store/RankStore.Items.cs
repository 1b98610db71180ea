using System.Diagnostics.CodeAnalysis;
using FASTER.core;

namespace RankEngine.Store;

internal sealed partial class RankStore
{
    /// <summary>
    /// Inserts or replaces an item and returns once the write is durable. The item is validated first (id, vector
    /// names, dimensions, finite values, field and text limits); a rejected item changes nothing.
    /// </summary>
    /// <exception cref="InvalidRecordException">The item breaks a schema rule or a <see cref="StoreLimits"/> limit.</exception>
    public void UpsertItem(ItemRecord item) => WaitDurable(PutItem(item));

    /// <summary>Asynchronous <see cref="UpsertItem"/>: the returned task completes when the write is durable.</summary>
    public ValueTask UpsertItemAsync(ItemRecord item, CancellationToken cancellationToken = default) =>
        WaitDurableAsync(PutItem(item), cancellationToken);

    /// <summary>
    /// Inserts or replaces several items and returns once all are durable (one commit for the batch). All items are
    /// validated before any is written: if one is rejected, none is written.
    /// </summary>
    /// <exception cref="InvalidRecordException">An item breaks a rule; the message names it.</exception>
    public void UpsertItems(IReadOnlyList<ItemRecord> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var encoded = new (byte[] Buffer, int Length)[items.Count];
        int made = 0;
        var session = RentSession();
        try
        {
            for (; made < items.Count; made++)
            {
                var item = items[made] ?? throw new InvalidRecordException($"Item {made} of the batch is null.");
                StoreKeys.Encode(RecordKind.Item, item.Id, session.KeyScratch);
                encoded[made].Buffer = ItemCodec.Encode(item, _schema, out encoded[made].Length);
            }
            long last = -1;
            for (int i = 0; i < items.Count; i++)
            {
                int keyLength = StoreKeys.Encode(RecordKind.Item, items[i].Id, session.KeyScratch);
                last = Math.Max(last, ApplyPut(session, keyLength, WalOp.PutItem, items[i].Id, encoded[i].Buffer, encoded[i].Length));
            }
            ReturnSession(session);
            session = null;
            WaitDurable(last);
        }
        finally
        {
            if (session is not null)
                ReturnSession(session);
            for (int i = 0; i < made; i++)
                Return(encoded[i].Buffer);
        }
    }

    /// <summary>Deletes an item; returns false (and logs nothing) when it does not exist. Returns once the delete is durable.</summary>
    /// <exception cref="InvalidRecordException">The id is empty, too long or not valid Unicode.</exception>
    public bool DeleteItem(string id)
    {
        long address = RemoveItem(id);
        WaitDurable(address);
        return address >= 0;
    }

    /// <summary>Asynchronous <see cref="DeleteItem"/>.</summary>
    public async ValueTask<bool> DeleteItemAsync(string id, CancellationToken cancellationToken = default)
    {
        long address = RemoveItem(id);
        await WaitDurableAsync(address, cancellationToken).ConfigureAwait(false);
        return address >= 0;
    }

    /// <summary>Reads an item; false when it does not exist. The record is a new instance the caller owns.</summary>
    /// <exception cref="InvalidRecordException">The id is empty, too long or not valid Unicode.</exception>
    public bool TryGetItem(string id, [NotNullWhen(true)] out ItemRecord? item)
    {
        var session = RentSession();
        try
        {
            int keyLength = StoreKeys.Encode(RecordKind.Item, id, session.KeyScratch);
            byte[]? value = ReadValue(session, keyLength);
            item = value is null ? null : ItemCodec.Decode(id, value, _schema);
            return item is not null;
        }
        finally
        {
            ReturnSession(session);
        }
    }

    /// <summary>True when an item with this id exists.</summary>
    public bool ContainsItem(string id)
    {
        var session = RentSession();
        try
        {
            return Exists(session, StoreKeys.Encode(RecordKind.Item, id, session.KeyScratch));
        }
        finally
        {
            ReturnSession(session);
        }
    }

    /// <summary>
    /// Batched vector read, the ranking hot path: for each id, copies the item's <paramref name="vectorName"/> vector
    /// (as fp32) into row i of <paramref name="destination"/> (row-major, <c>ids.Length × dimension</c>) and sets
    /// <c>found[i]</c>. Rows of missing items, or items without that vector, are zero with <c>found[i] = false</c>.
    /// All reads are issued in one FASTER session under one epoch entry, and pending (on-disk) reads are completed
    /// once at the end. Allocates nothing.
    /// </summary>
    /// <returns>The number of ids found.</returns>
    /// <exception cref="ArgumentException">Unknown vector name, or a buffer too small.</exception>
    /// <exception cref="InvalidRecordException">An id is empty, too long or not valid Unicode (reads already issued are completed first).</exception>
    public int ReadMany(ReadOnlySpan<string> ids, string vectorName, Span<float> destination, Span<bool> found) =>
        ReadVectors(RecordKind.Item, ids, vectorName, destination, found);

    /// <summary>Reads one item vector into <paramref name="destination"/> (length ≥ dimension); false when absent.</summary>
    public bool TryGetItemVector(string id, string vectorName, Span<float> destination)
    {
        bool found = false;
        ReadVectors(RecordKind.Item, new ReadOnlySpan<string>(ref id), vectorName, destination, new Span<bool>(ref found));
        return found;
    }

    private long PutItem(ItemRecord item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var session = RentSession();
        byte[]? value = null;
        try
        {
            int keyLength = StoreKeys.Encode(RecordKind.Item, item.Id, session.KeyScratch);
            value = ItemCodec.Encode(item, _schema, out int length);
            return ApplyPut(session, keyLength, WalOp.PutItem, item.Id, value, length);
        }
        finally
        {
            if (value is not null)
                Return(value);
            ReturnSession(session);
        }
    }

    private long RemoveItem(string id)
    {
        var session = RentSession();
        try
        {
            int keyLength = StoreKeys.Encode(RecordKind.Item, id, session.KeyScratch);
            return ApplyDelete(session, keyLength, WalOp.DeleteItem, id);
        }
        finally
        {
            ReturnSession(session);
        }
    }

    private int ReadVectors(RecordKind kind, ReadOnlySpan<string> ids, string vectorName, Span<float> destination, Span<bool> found)
    {
        for (int attempt = 0; ; attempt++)
        {
            long seq = Volatile.Read(ref _compactionSeq);
            int count = ReadVectorsOnce(kind, ids, vectorName, destination, found);
            if (count == ids.Length || attempt == 3 || !CompactionRaced(seq))
                return count;
        }
    }

    private unsafe int ReadVectorsOnce(RecordKind kind, ReadOnlySpan<string> ids, string vectorName, Span<float> destination, Span<bool> found)
    {
        int slot = _schema.GetSlot(vectorName);
        var spec = _schema.Vectors[slot];
        int dim = spec.Dimension;
        if (destination.Length < (long)ids.Length * dim)
            throw new ArgumentException($"destination holds {destination.Length} floats; {ids.Length} ids × dimension {dim} need {(long)ids.Length * dim}.", nameof(destination));
        if (found.Length < ids.Length)
            throw new ArgumentException($"found holds {found.Length} flags; {ids.Length} ids need as many.", nameof(found));
        found[..ids.Length].Clear();
        if (ids.IsEmpty)
            return 0;

        var session = RentSession();
        try
        {
            fixed (float* rows = destination)
            fixed (bool* flags = found)
            {
                var context = session.Session.UnsafeContext;
                SpanByte input = default;
                var output = new StoreOutput { Mode = ReadMode.Vector, Slot = slot, Dimension = dim, ElementType = spec.ElementType };
                bool anyPending = false;
                context.BeginUnsafe();
                try
                {
                    for (int i = 0; i < ids.Length; i++)
                    {
                        var key = session.Key(StoreKeys.Encode(kind, ids[i], session.KeyScratch));
                        output.Destination = rows + (long)i * dim;
                        output.Found = flags + i;
                        anyPending |= context.Read(ref key, ref input, ref output, Empty.Default).IsPending;
                    }
                }
                finally
                {
                    // Pending reads hold pointers into the pinned buffers: finish them before leaving `fixed`.
                    if (anyPending)
                        context.CompletePending(wait: true);
                    context.EndUnsafe();
                }
            }
        }
        finally
        {
            ReturnSession(session);
        }

        int count = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (found[i])
                count++;
            else
                destination.Slice(i * dim, dim).Clear();
        }
        return count;
    }
}
