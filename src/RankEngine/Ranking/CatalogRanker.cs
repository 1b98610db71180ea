using RankEngine.Catalog;

namespace RankEngine.Ranking;

/// <summary>
/// The one ranking path: fans a query out to every shard of one catalog snapshot, merges their top-k lists by the
/// one tie rule (score, then id), diversifies the merged pool with MMR when asked, and explains the items returned.
/// Nothing here scans the catalog: shards do (<see cref="ShardSearch"/>); MMR and explanations read the pool only.
/// </summary>
internal static class CatalogRanker
{
    /// <summary>What MMR compares items by besides their centred content vectors.</summary>
    public readonly record struct Diversity(float Lambda, ReadOnlyMemory<float> Centre, string? TagField);

    /// <summary>The top <paramref name="k"/> items of one catalog version for a query, diversified and explained.</summary>
    /// <param name="snapshot">The catalog version to rank (one per request).</param>
    /// <param name="factors">Per shard, the served model's item factors (null: no model term).</param>
    /// <param name="query">The shard query; its K is replaced by the MMR pool size when diversifying.</param>
    /// <param name="diversity">MMR's λ (0: off), centre and tag field.</param>
    /// <param name="k">Items to return.</param>
    /// <param name="contentSlot">Schema slot of the content vectors.</param>
    /// <param name="collabSlot">Schema slot of the collab vectors, or −1.</param>
    /// <param name="dots">Per shard, dot products a device backend computed (null entries or list: the host computes them).</param>
    public static RankedItem[] Rank(CatalogSnapshot snapshot, IReadOnlyList<ShardFactors?> factors, ShardQuery query, Diversity diversity, int k,
        int contentSlot, int collabSlot, IReadOnlyList<ShardDots?>? dots = null)
    {
        // MMR re-ranks a larger pool of the most relevant items.
        int poolK = diversity.Lambda > 0 ? Mmr.PoolSize(k) : k;
        var shardQuery = query with { K = poolK };
        var pool = new List<(int Shard, ShardHit Hit)>();
        for (int s = 0; s < snapshot.Shards.Count; s++)
            foreach (var hit in ShardSearch.Run(snapshot.Shards[s], factors[s], shardQuery, contentSlot, collabSlot, dots?[s]))
                pool.Add((s, hit));
        MergeTopK(pool, poolK);

        int d = snapshot.Schema.Vectors[contentSlot].Dimension;
        var order = Choose(pool, k, diversity, d,
            (i, destination) => snapshot.Shards[pool[i].Shard].Vector(contentSlot, pool[i].Hit.Row).CopyTo(destination),
            i => snapshot.Shards[pool[i].Shard].TagsOf(pool[i].Hit.Row, diversity.TagField!));
        var chosen = new List<(int Shard, ShardHit Hit)>(order.Length);
        foreach (int i in order) chosen.Add(pool[i]);

        // Score parts, one plan per shard for all of its returned rows.
        var items = new RankedItem[chosen.Count];
        for (int s = 0; s < snapshot.Shards.Count; s++)
        {
            var positions = new List<int>();
            for (int i = 0; i < chosen.Count; i++)
                if (chosen[i].Shard == s) positions.Add(i);
            if (positions.Count == 0) continue;
            var rows = positions.Select(i => chosen[i].Hit.Row).ToArray();
            var parts = ShardSearch.PartsOf(snapshot.Shards[s], factors[s], query, contentSlot, collabSlot, rows, dots?[s]);
            for (int j = 0; j < positions.Count; j++) items[positions[j]] = Explained(chosen[positions[j]].Hit, parts[j], query);
        }
        return items;
    }

    /// <summary>A returned hit with its score's parts (<see cref="ShardSearch.PartsOf"/>), the boosts named by the query's.</summary>
    public static RankedItem Explained(ShardHit hit, (float Content, float Second, float[] Boosts) parts, ShardQuery query)
    {
        var boostParts = new KeyValuePair<string, float>[parts.Boosts.Length];
        for (int b = 0; b < boostParts.Length; b++) boostParts[b] = new(query.Boosts[b].Key, parts.Boosts[b]);
        return new RankedItem(hit.Id, hit.Score, new ScoreParts(parts.Content, parts.Second, boostParts));
    }

    /// <summary>
    /// The merge of shard top-k lists: orders the pooled hits by the one tie rule (score, then id) and keeps the best
    /// <paramref name="k"/>, in place. Every ranking over several shards (in one process or over a cluster) cuts here.
    /// </summary>
    public static void MergeTopK(List<(int Shard, ShardHit Hit)> pool, int k)
    {
        pool.Sort((a, b) => HitOrder.Instance.Compare(a.Hit, b.Hit));
        if (pool.Count > k) pool.RemoveRange(k, pool.Count - k);
    }

    /// <summary>
    /// Which of a merged pool (best first) a ranking returns, in order: with diversity, MMR over the pool's centred
    /// content vectors (and tags); without, the first <paramref name="k"/>. Every ranking chooses here, whether the
    /// pool's vectors are read from a local snapshot or came back from cluster shards.
    /// </summary>
    /// <param name="pool">The merged pool, best first.</param>
    /// <param name="k">Items to return.</param>
    /// <param name="diversity">MMR's λ (0: off), centre and tag field.</param>
    /// <param name="dimension">Width of the content vectors.</param>
    /// <param name="copyVector">Copies pool entry i's content vector into the span (read only when diversifying).</param>
    /// <param name="tagsOf">Pool entry i's tags of <see cref="Diversity.TagField"/> (read only when diversifying by tags).</param>
    public static int[] Choose(IReadOnlyList<(int Shard, ShardHit Hit)> pool, int k, Diversity diversity, int dimension,
        CopyVector copyVector, Func<int, IReadOnlyList<string>?> tagsOf)
    {
        if (!(diversity.Lambda > 0) || pool.Count <= 1)
        {
            var first = new int[Math.Min(k, pool.Count)];
            for (int i = 0; i < first.Length; i++) first[i] = i;
            return first;
        }
        var relevance = new float[pool.Count];
        var vectors = new float[pool.Count * dimension];
        IReadOnlyList<string>?[]? tags = diversity.TagField is null ? null : new IReadOnlyList<string>?[pool.Count];
        for (int i = 0; i < pool.Count; i++)
        {
            relevance[i] = pool[i].Hit.Score;
            copyVector(i, vectors.AsSpan(i * dimension, dimension));
            if (tags is not null) tags[i] = tagsOf(i);
        }
        return Mmr.Select(relevance, vectors, dimension, diversity.Centre.Span, k, diversity.Lambda, tags);
    }

    /// <summary>Copies pool entry <paramref name="index"/>'s content vector into <paramref name="destination"/>.</summary>
    public delegate void CopyVector(int index, Span<float> destination);
}

/// <summary>
/// The single node's catalog for one request: one version of its sharded catalog, the served model's item factors
/// per shard (filled on first use) and, on a device backend, the dots computed there (released on dispose).
/// </summary>
internal sealed class SnapshotRankCatalog : IRankCatalog, IDisposable
{
    private readonly CatalogSnapshot _snapshot;
    private readonly Func<int, ShardFactors?> _factorsOf;
    private readonly ShardDeviceCopy[]? _deviceCopies;
    private readonly int _contentSlot, _collabSlot;
    private ShardDots?[]? _dots;
    private float[]? _rowCopy;

    /// <param name="snapshot">The catalog version of this request.</param>
    /// <param name="factorsOf">Shard index → the served model's factors for that shard's rows (null: no model).</param>
    /// <param name="deviceCopies">Per shard, the device copy that computes dots (null: the host does).</param>
    /// <param name="contentSlot">Schema slot of the content vectors.</param>
    /// <param name="collabSlot">Schema slot of the collab vectors, or −1.</param>
    public SnapshotRankCatalog(CatalogSnapshot snapshot, Func<int, ShardFactors?> factorsOf, ShardDeviceCopy[]? deviceCopies, int contentSlot, int collabSlot)
    {
        _snapshot = snapshot;
        _factorsOf = factorsOf;
        _deviceCopies = deviceCopies;
        _contentSlot = contentSlot;
        _collabSlot = collabSlot;
    }

    public CatalogCoverage Coverage => CatalogCoverage.Full;

    public ReadOnlyMemory<float> ContentOf(string id)
    {
        var v = _snapshot.VectorOf(id, _contentSlot);
        if (v.IsEmpty) return ReadOnlyMemory<float>.Empty;
        _rowCopy ??= new float[v.Length];
        v.CopyTo(_rowCopy);
        return _rowCopy;
    }

    public RankedItem[] Rank(ShardQuery query, CatalogRanker.Diversity diversity, int k)
    {
        var factors = new ShardFactors?[_snapshot.Shards.Count];
        if (query.SecondIsModel)
            for (int s = 0; s < factors.Length; s++) factors[s] = _factorsOf(s);
        if (_deviceCopies is not null)
        {
            _dots = new ShardDots?[_snapshot.Shards.Count];
            for (int s = 0; s < _dots.Length; s++) _dots[s] = _deviceCopies[s].TryDots(_snapshot.Shards[s], factors[s], query, _contentSlot, _collabSlot);
        }
        return CatalogRanker.Rank(_snapshot, factors, query, diversity, k, _contentSlot, _collabSlot, _dots);
    }

    public List<string> UnknownCandidates(IReadOnlyList<string>? candidates)
    {
        var unknown = new List<string>();
        if (candidates is not null)
            foreach (var id in candidates)
                if (id is null || !_snapshot.Contains(id)) unknown.Add(id ?? "(null)");
        return unknown;
    }

    public void Dispose()
    {
        if (_dots is not null)
            foreach (var d in _dots) ShardDeviceCopy.Release(d);
    }
}
