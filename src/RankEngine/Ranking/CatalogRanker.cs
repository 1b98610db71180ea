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

        IReadOnlyList<(int Shard, ShardHit Hit)> chosen = pool;
        if (diversity.Lambda > 0 && pool.Count > 1) chosen = Diversify(snapshot, pool, k, diversity, contentSlot);
        else if (pool.Count > k) chosen = pool.GetRange(0, k);

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
            for (int j = 0; j < positions.Count; j++)
            {
                var (content, second, boosts) = parts[j];
                var boostParts = new KeyValuePair<string, float>[boosts.Length];
                for (int b = 0; b < boosts.Length; b++) boostParts[b] = new(query.Boosts[b].Key, boosts[b]);
                var hit = chosen[positions[j]].Hit;
                items[positions[j]] = new RankedItem(hit.Id, hit.Score, new ScoreParts(content, second, boostParts));
            }
        }
        return items;
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

    private static List<(int Shard, ShardHit Hit)> Diversify(CatalogSnapshot snapshot, List<(int Shard, ShardHit Hit)> pool, int k, Diversity diversity, int contentSlot)
    {
        int d = snapshot.Schema.Vectors[contentSlot].Dimension;
        var relevance = new float[pool.Count];
        var vectors = new float[pool.Count * d];
        IReadOnlyList<string>?[]? tags = diversity.TagField is null ? null : new IReadOnlyList<string>?[pool.Count];
        for (int i = 0; i < pool.Count; i++)
        {
            var (s, hit) = pool[i];
            relevance[i] = hit.Score;
            snapshot.Shards[s].Vector(contentSlot, hit.Row).CopyTo(vectors.AsSpan(i * d, d));
            if (tags is not null) tags[i] = snapshot.Shards[s].TagsOf(hit.Row, diversity.TagField!);
        }
        var order = Mmr.Select(relevance, vectors, d, diversity.Centre.Span, k, diversity.Lambda, tags);
        var result = new List<(int, ShardHit)>(order.Length);
        foreach (int i in order) result.Add(pool[i]);
        return result;
    }
}
