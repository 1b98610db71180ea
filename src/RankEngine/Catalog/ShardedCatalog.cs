using System.IO.Hashing;
using System.Runtime.InteropServices;
using RankEngine.Store;

namespace RankEngine.Catalog;

/// <summary>
/// The store's item catalog: items spread over <see cref="ShardCount"/> independent <see cref="CatalogShard"/>s by a
/// stable hash of their id (one shard by default). Kept in step with every item write of the store, built from the
/// store's log at open. A request takes one <see cref="CatalogSnapshot"/> (a version of every shard) and reads only it.
/// </summary>
internal sealed class ShardedCatalog
{
    private readonly CatalogShard[] _shards;

    /// <param name="schema">The vectors every item may have.</param>
    /// <param name="shardCount">Shards to spread items over.</param>
    /// <param name="quantizedSlot">A vector slot every shard keeps a quantised copy of for quantised scans, or −1.</param>
    /// <param name="quantizedFormat">That copy's format: Int8 or Fp16.</param>
    public ShardedCatalog(StoreSchema schema, int shardCount, int quantizedSlot = -1, CatalogQuantization quantizedFormat = CatalogQuantization.Int8)
    {
        if (shardCount < 1) throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, "a catalog needs at least one shard");
        Schema = schema;
        _shards = new CatalogShard[shardCount];
        for (int i = 0; i < shardCount; i++) _shards[i] = new CatalogShard(schema, quantizedSlot: quantizedSlot, quantizedFormat: quantizedFormat);
    }

    public StoreSchema Schema { get; }
    public int ShardCount => _shards.Length;
    public IReadOnlyList<CatalogShard> Shards => _shards;

    /// <summary>Count of item writes and compactions so far (a cheap staleness check): the sum of the shards' versions.</summary>
    public long ChangeCount
    {
        get
        {
            long n = 0;
            foreach (var s in _shards) n += s.Current.Version;
            return n;
        }
    }

    /// <summary>The shard an id lives in: XxHash3 of its UTF-16 code units, so the same everywhere and every run.</summary>
    public int ShardOf(string id) => ShardOf(id, _shards.Length);

    /// <summary>The shard an id lives in among <paramref name="shardCount"/> shards (the placement every node uses).</summary>
    public static int ShardOf(string id, int shardCount) =>
        shardCount == 1 ? 0 : (int)(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan())) % (ulong)shardCount);

    /// <summary>The newest version of every shard.</summary>
    public CatalogSnapshot Snapshot()
    {
        var snapshots = new ShardSnapshot[_shards.Length];
        for (int i = 0; i < snapshots.Length; i++) snapshots[i] = _shards[i].Current;
        return new CatalogSnapshot(this, snapshots);
    }

    /// <summary>Items visible now.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var s in _shards) n += s.Current.LiveCount;
            return n;
        }
    }

    /// <summary>Rows no longer showing an item (replaced or deleted), over all shards.</summary>
    public int DeadRowCount
    {
        get
        {
            int n = 0;
            foreach (var s in _shards) n += s.DeadRowCount;
            return n;
        }
    }

    /// <summary>Rows in use, visible or dead, over all shards.</summary>
    public int RowCount
    {
        get
        {
            int n = 0;
            foreach (var s in _shards) n += s.Current.RowCount;
            return n;
        }
    }

    public bool Contains(string id) => _shards[ShardOf(id)].Current.TryGetRow(id, out _);

    internal void EnsureCapacity(int rows)
    {
        foreach (var s in _shards) s.EnsureCapacity(rows / _shards.Length + 64);
    }

    internal void Upsert(string id, ReadOnlySpan<byte> value) => _shards[ShardOf(id)].Upsert(id, value);

    internal bool Remove(string id) => _shards[ShardOf(id)].Remove(id);

    /// <summary>Compacts every shard whose dead rows exceed <paramref name="deadShare"/> of its rows (and 1,024 rows); returns rows dropped.</summary>
    public int CompactSparse(double deadShare)
    {
        int dropped = 0;
        foreach (var s in _shards)
        {
            var current = s.Current;
            if (current.RowCount > 1024 && current.RowCount - current.LiveCount > deadShare * current.RowCount) dropped += s.Compact();
        }
        return dropped;
    }

    /// <summary>Compacts every shard now; returns rows dropped.</summary>
    public int Compact()
    {
        int dropped = 0;
        foreach (var s in _shards) dropped += s.Compact();
        return dropped;
    }
}

/// <summary>One version of every shard of a <see cref="ShardedCatalog"/>, held for one request; needs no release.</summary>
internal sealed class CatalogSnapshot
{
    private readonly ShardedCatalog _catalog;

    internal CatalogSnapshot(ShardedCatalog catalog, ShardSnapshot[] shards)
    {
        _catalog = catalog;
        Shards = shards;
    }

    public IReadOnlyList<ShardSnapshot> Shards { get; }

    public StoreSchema Schema => _catalog.Schema;

    public int LiveCount
    {
        get
        {
            int n = 0;
            foreach (var s in Shards) n += s.LiveCount;
            return n;
        }
    }

    /// <summary>The shard and row showing an item in this version.</summary>
    public bool TryGetRow(string id, out int shard, out int row)
    {
        shard = _catalog.ShardOf(id);
        return Shards[shard].TryGetRow(id, out row);
    }

    public bool Contains(string id) => TryGetRow(id, out _, out _);

    /// <summary>An item's vector of a schema slot, or empty when the item is absent or has none.</summary>
    public ReadOnlySpan<float> VectorOf(string id, int slot) =>
        TryGetRow(id, out int shard, out int row) ? Shards[shard].Vector(slot, row) : default;

    /// <summary>Every visible (shard, row), shard by shard in row order.</summary>
    public IEnumerable<(int Shard, int Row)> VisibleRows()
    {
        for (int s = 0; s < Shards.Count; s++)
        {
            var snapshot = Shards[s];
            for (int row = 0; row < snapshot.RowCount; row++)
                if (snapshot.IsVisible(row)) yield return (s, row);
        }
    }
}
