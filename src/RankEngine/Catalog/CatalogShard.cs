using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using RankEngine.Store;

namespace RankEngine.Catalog;

/// <summary>
/// One shard of the item catalog, the unit of ranking: the dense vector matrices, the fields as columns, and a
/// published, immutable <see cref="ShardSnapshot"/> per version. A request pins one snapshot from scoring to reply;
/// writers (serialised among themselves) append rows and publish a new version without waiting for any reader; a
/// compaction copies the visible rows into a new generation instead of renumbering a live one.
/// </summary>
/// <remarks>
/// An upsert appends a new row for the id and ends the visibility of its previous row at the same version, so a
/// reader of an older version keeps seeing the old row and its exact values. Deleted and replaced rows are dead
/// weight until <see cref="Compact"/>. The shard knows nothing of other shards.
/// </remarks>
internal sealed class CatalogShard
{
    private readonly object _writeLock = new();
    private readonly StoreSchema _schema;
    private readonly int _quantizedSlot;
    private readonly CatalogQuantization _quantizedFormat;
    private ShardGeneration _generation;
    private ShardSnapshot _current;
    private long _version;
    private int _liveCount;

    /// <param name="schema">The vectors every item may have.</param>
    /// <param name="capacity">Rows to allocate up front.</param>
    /// <param name="quantizedSlot">A vector slot to keep a quantised copy of for quantised scans, or −1.</param>
    /// <param name="quantizedFormat">That copy's format: Int8 or Fp16.</param>
    public CatalogShard(StoreSchema schema, int capacity = 1024, int quantizedSlot = -1, CatalogQuantization quantizedFormat = CatalogQuantization.Int8)
    {
        _schema = schema;
        _quantizedSlot = quantizedSlot;
        _quantizedFormat = quantizedFormat;
        _generation = new ShardGeneration(schema, 0, capacity, quantizedSlot, quantizedFormat);
        _current = ShardSnapshot.Capture(_generation, 0, 0);
    }

    /// <summary>The newest published version (readers pin it for one request).</summary>
    public ShardSnapshot Current => Volatile.Read(ref _current);

    public StoreSchema Schema => _schema;

    /// <summary>Writer: reserves rows before a bulk load.</summary>
    public void EnsureCapacity(int rows)
    {
        lock (_writeLock) _generation.EnsureRoom(rows);
    }

    /// <summary>Writer: adds or replaces an item from its stored value (the item layout of <see cref="ItemCodec"/>).</summary>
    public void Upsert(string id, ReadOnlySpan<byte> value)
    {
        var fields = ItemCodec.DecodeFields(id, value);
        lock (_writeLock)
        {
            var g = _generation;
            long version = _version + 1;
            int row = g.RowCount;
            g.EnsureRoom(row + 1);
            bool known = g.NewestRow.TryGetValue(id, out int previous);
            bool replaces = known && g.Died[previous] == long.MaxValue;
            g.Ids[row] = id;
            g.Born[row] = version;
            g.Died[row] = long.MaxValue;
            g.Previous[row] = known ? previous : -1;
            WriteVectors(g, row, value);
            g.Columns.Write(row, fields);
            g.RowCount = row + 1;
            if (replaces) g.Died[previous] = version;
            else _liveCount++;
            g.NewestRow[id] = row;
            Publish(version);
        }
    }

    /// <summary>Writer: removes an item; false when the shard has no live row for it.</summary>
    public bool Remove(string id)
    {
        lock (_writeLock)
        {
            var g = _generation;
            if (!g.NewestRow.TryGetValue(id, out int row) || g.Died[row] != long.MaxValue) return false;
            long version = _version + 1;
            g.Died[row] = version;
            _liveCount--;
            Publish(version);
            return true;
        }
    }

    /// <summary>Rows that no longer show an item (replaced or deleted) and that <see cref="Compact"/> would drop.</summary>
    public int DeadRowCount
    {
        get { var s = Current; return s.RowCount - s.LiveCount; }
    }

    /// <summary>
    /// Writer: copies the rows visible now into a new generation, densely and in their current order, and publishes
    /// it as a new version. Readers of older versions keep the old generation. Returns the rows dropped.
    /// </summary>
    public int Compact()
    {
        lock (_writeLock)
        {
            var old = _generation;
            var snapshot = _current;
            int dropped = snapshot.RowCount - snapshot.LiveCount;
            if (dropped == 0) return 0;
            long version = _version + 1;
            var g = new ShardGeneration(_schema, old.Number + 1, snapshot.LiveCount + snapshot.LiveCount / 8, _quantizedSlot, _quantizedFormat);
            var fields = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
            for (int from = 0; from < snapshot.RowCount; from++)
            {
                if (old.Died[from] != long.MaxValue) continue;
                int to = g.RowCount;
                g.Ids[to] = old.Ids[from];
                g.Born[to] = version;
                g.Died[to] = long.MaxValue;
                g.Previous[to] = -1;
                for (int s = 0; s < _schema.Count; s++)
                {
                    int dim = _schema.Vectors[s].Dimension;
                    old.Vectors[s].AsSpan(from * dim, dim).CopyTo(g.Vectors[s].AsSpan(to * dim, dim));
                    if ((old.Present[s][from >> 6] & (1UL << (from & 63))) != 0) g.Present[s][to >> 6] |= 1UL << (to & 63);
                    if (s == _quantizedSlot) g.Quantized!.Write(to, g.Vectors[s].AsSpan(to * dim, dim));
                }
                snapshot.CopyFields(from, fields);
                g.Columns.Write(to, fields);
                g.RowCount = to + 1;
                g.NewestRow[old.Ids[from]!] = to;
            }
            _generation = g;
            Publish(version);
            return dropped;
        }
    }

    private void Publish(long version)
    {
        _version = version;
        Volatile.Write(ref _current, ShardSnapshot.Capture(_generation, version, _liveCount));
    }

    private void WriteVectors(ShardGeneration g, int row, ReadOnlySpan<byte> value)
    {
        int slotCount = BinaryPrimitives.ReadUInt16LittleEndian(value[RecordLayout.SlotCountOffset..]);
        for (int s = 0; s < _schema.Count; s++)
        {
            var spec = _schema.Vectors[s];
            var target = g.Vectors[s].AsSpan(row * spec.Dimension, spec.Dimension);
            int offset = s < slotCount ? (int)BinaryPrimitives.ReadUInt32LittleEndian(value[(RecordLayout.SlotTableOffset + 4 * s)..]) : 0;
            if (offset == 0)
            {
                target.Clear();
                if (s == _quantizedSlot) g.Quantized!.Write(row, target);
                continue;
            }
            var source = value.Slice(offset, spec.StoredBytes);
            if (spec.ElementType == VectorElementType.Float32) MemoryMarshal.Cast<byte, float>(source).CopyTo(target);
            else TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), target);
            g.Present[s][row >> 6] |= 1UL << (row & 63);
            if (s == _quantizedSlot) g.Quantized!.Write(row, target);
        }
    }
}
