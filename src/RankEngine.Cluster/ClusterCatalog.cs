using RankEngine.Catalog;
using RankEngine.Ranking;

namespace RankEngine.Cluster;

/// <summary>
/// The coordinator (a plain class on a client or a silo): routes writes to the owning shard grain by the single
/// node's placement, fans a search out to every shard grain and merges their top-k lists with the single node's
/// merge (<c>CatalogRanker.MergeTopK</c>: score descending, then id ordinal).
/// </summary>
public sealed class ClusterCatalog
{
    private readonly IGrainFactory _grains;

    public ClusterCatalog(IGrainFactory grains, int shardCount)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        _grains = grains;
        ShardCount = shardCount;
    }

    public int ShardCount { get; }

    /// <summary>The shard an id lives in (the single node's placement).</summary>
    public int ShardOf(string id) => ShardedCatalog.ShardOf(id, ShardCount);

    public IShardGrain Shard(int index) => _grains.GetGrain<IShardGrain>(index);

    /// <summary>Writes one item; completes once its shard applied it.</summary>
    public Task UpsertAsync(ClusterItem item) => Shard(ShardOf(item.Id)).Upsert([item]);

    /// <summary>Writes items, one batch per shard (batches of at most <paramref name="batchSize"/>), in parallel over shards; completes once all applied.</summary>
    public Task UpsertManyAsync(IEnumerable<ClusterItem> items, int batchSize = 512)
    {
        var byShard = new List<ClusterItem>[ShardCount];
        for (int s = 0; s < ShardCount; s++) byShard[s] = [];
        foreach (var item in items) byShard[ShardOf(item.Id)].Add(item);
        return Task.WhenAll(Enumerable.Range(0, ShardCount).Select(async s =>
        {
            foreach (var chunk in byShard[s].Chunk(batchSize)) await Shard(s).Upsert(chunk);
        }));
    }

    public Task<bool> RemoveAsync(string id) => Shard(ShardOf(id)).Remove(id);

    /// <summary>The top K over every shard: each shard's top K, merged by the single node's merge.</summary>
    public async Task<ClusterHit[]> SearchAsync(ClusterQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.K <= 0) return [];
        var lists = await Task.WhenAll(Enumerable.Range(0, ShardCount).Select(s => Shard(s).Search(query)));
        var pool = new List<(int Shard, ShardHit Hit)>();
        var byKey = new Dictionary<(int, int), ClusterHit>();
        foreach (var list in lists)
            foreach (var h in list)
            {
                pool.Add((h.Shard, new ShardHit(h.Row, h.Id, h.Score)));
                byKey[(h.Shard, h.Row)] = h;
            }
        CatalogRanker.MergeTopK(pool, query.K);
        var result = new ClusterHit[pool.Count];
        for (int i = 0; i < result.Length; i++) result[i] = byKey[(pool[i].Shard, pool[i].Hit.Row)];
        return result;
    }

    /// <summary>Items visible now, over all shards.</summary>
    public async Task<int> CountAsync() => (await Task.WhenAll(Enumerable.Range(0, ShardCount).Select(s => Shard(s).Count()))).Sum();
}
