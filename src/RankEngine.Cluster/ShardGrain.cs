using System.Buffers;
using RankEngine.Catalog;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>
/// A shard grain: one single-node <see cref="CatalogShard"/> in memory (nothing durable yet: a deactivated or lost
/// activation loses its items, so it is kept alive against idle collection). Orleans runs its calls one at a time.
/// </summary>
[KeepAlive]
internal sealed class ShardGrain : Grain, IShardGrain
{
    private readonly ClusterCatalogOptions _options;
    private readonly CatalogShard _shard;

    public ShardGrain(ClusterCatalogOptions options)
    {
        _options = options;
        _shard = new CatalogShard(options.Schema);
    }

    private int Index => (int)this.GetPrimaryKeyLong();

    public Task Upsert(ClusterItem[] items)
    {
        int index = Index;
        // Validate every item first, so a rejected batch changes nothing.
        var encoded = new (string Id, byte[] Buffer, int Length)[items.Length];
        int done = 0;
        try
        {
            foreach (var item in items)
            {
                int owner = ShardedCatalog.ShardOf(item.Id, _options.ShardCount);
                if (owner != index) throw new ArgumentException($"item '{item.Id}' belongs to shard {owner}, not {index}");
                var record = new ItemRecord(item.Id);
                foreach (var (name, vector) in item.Vectors) record.Vectors[name] = vector;
                foreach (var (name, field) in item.Fields) record.Fields[name] = field.ToFieldValue();
                var buffer = ItemCodec.Encode(record, _options.Schema, out int length);
                encoded[done++] = (item.Id, buffer, length);
            }
            foreach (var (id, buffer, length) in encoded) _shard.Upsert(id, buffer.AsSpan(0, length));
        }
        finally
        {
            for (int i = 0; i < done; i++) ArrayPool<byte>.Shared.Return(encoded[i].Buffer);
        }
        return Task.CompletedTask;
    }

    public Task<bool> Remove(string id) => Task.FromResult(_shard.Remove(id));

    public Task<ClusterHit[]> Search(ClusterQuery query)
    {
        var shardQuery = new ShardQuery
        {
            Content = query.Content,
            ContentWeight = query.ContentWeight,
            Second = query.Collab,
            SecondWeight = query.CollabWeight,
            SecondIsModel = false,
            Candidates = query.Candidates,
            Excluded = query.Excluded,
            Boosts = [.. query.Boosts.Select(b => new KeyValuePair<string, float>(b.Field, b.Weight))],
            Filters = [.. query.Filters.Select(f => f.ToItemFilter())],
            K = query.K,
        };
        var hits = ShardSearch.Run(_shard.Current, null, shardQuery, _options.ContentSlot, _options.CollabSlot);
        int index = Index;
        var result = new ClusterHit[hits.Length];
        for (int i = 0; i < hits.Length; i++) result[i] = new ClusterHit(hits[i].Id, hits[i].Score, index, hits[i].Row);
        return Task.FromResult(result);
    }

    public Task<int> Count() => Task.FromResult(_shard.Current.LiveCount);

    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);
}
