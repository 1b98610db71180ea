using RankEngine.Catalog;
using RankEngine.Ranking;

namespace RankEngine.Cluster;

/// <summary>
/// The coordinator (a plain class on a client or a silo): routes writes to the owning shard grain by the single
/// node's placement, fans a search out to every shard grain and merges their top-k lists with the single node's
/// merge (<c>CatalogRanker.MergeTopK</c>: score descending, then id ordinal).
/// <see cref="SearchWithCoverageAsync"/> keeps answering while shards move: each shard call has a deadline
/// (<see cref="ShardSearchTimeout"/>), a shard that fails or misses it is left out of the merge and reported missing,
/// so the result is exactly the top K of the shards that answered, never presented as the whole catalog's.
/// <see cref="SearchAsync"/> is the full-coverage search: it throws unless every shard answered.
/// </summary>
public sealed class ClusterCatalog
{
    private readonly IGrainFactory _grains;

    public ClusterCatalog(IGrainFactory grains, int shardCount, TimeSpan? shardSearchTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        var timeout = shardSearchTimeout ?? ClusterCatalogOptions.DefaultShardSearchTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, nameof(shardSearchTimeout));
        _grains = grains;
        ShardCount = shardCount;
        ShardSearchTimeout = timeout;
    }

    /// <summary>A coordinator with the cluster's shard count and <see cref="ClusterCatalogOptions.ShardSearchTimeout"/>.</summary>
    public ClusterCatalog(IGrainFactory grains, ClusterCatalogOptions options)
        : this(grains, (options ?? throw new ArgumentNullException(nameof(options))).ShardCount, options.ShardSearchTimeout) { }

    public int ShardCount { get; }

    /// <summary>The deadline of each shard call of <see cref="SearchWithCoverageAsync"/> (and <see cref="SearchAsync"/>).</summary>
    public TimeSpan ShardSearchTimeout { get; }

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

    /// <summary>The vectors of the items the catalog holds (ids it does not hold are left out), asked of their owning shards in parallel.</summary>
    public async Task<Dictionary<string, ClusterItemVectors>> VectorsAsync(IEnumerable<string> ids)
    {
        var byShard = new Dictionary<int, List<string>>();
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            int shard = ShardOf(id);
            if (!byShard.TryGetValue(shard, out var list)) byShard[shard] = list = [];
            list.Add(id);
        }
        var asks = byShard.Select(async pair => (Ids: pair.Value, Vectors: await Shard(pair.Key).Vectors([.. pair.Value])));
        var found = new Dictionary<string, ClusterItemVectors>(StringComparer.Ordinal);
        foreach (var (shardIds, vectors) in await Task.WhenAll(asks))
            for (int i = 0; i < shardIds.Count; i++)
                if (vectors[i].Found) found[shardIds[i]] = vectors[i];
        return found;
    }

    /// <summary>
    /// The top K over every shard, full coverage only: throws <see cref="IncompleteCoverageException"/> (carrying the
    /// partial result) when a shard failed or missed <see cref="ShardSearchTimeout"/>.
    /// </summary>
    public async Task<ClusterHit[]> SearchAsync(ClusterQuery query, CancellationToken cancellationToken = default)
    {
        var result = await SearchWithCoverageAsync(query, cancellationToken);
        if (!result.IsComplete) throw new IncompleteCoverageException(result);
        return result.Hits;
    }

    /// <summary>
    /// The top K over the shards that answer within <see cref="ShardSearchTimeout"/>: each shard's top K, merged by
    /// the single node's merge; a shard whose call fails or misses the deadline is left out and listed in
    /// <see cref="ClusterSearchResult.Missing"/>. Never throws for a shard; only for a bad query or cancellation.
    /// </summary>
    public async Task<ClusterSearchResult> SearchWithCoverageAsync(ClusterQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (query.K <= 0) return new ClusterSearchResult([], ShardCount, ShardCount, [], watch.Elapsed);
        var answers = await Task.WhenAll(Enumerable.Range(0, ShardCount).Select(s => AskShard(s, g => g.Search(query), cancellationToken)));
        cancellationToken.ThrowIfCancellationRequested();
        var pool = new List<(int Shard, ShardHit Hit)>();
        var byKey = new Dictionary<(int, int), ClusterHit>();
        var missing = new List<ShardMiss>();
        for (int s = 0; s < answers.Length; s++)
        {
            var (hits, miss) = answers[s];
            if (hits is null)
            {
                missing.Add(miss!.Value);
                continue;
            }
            foreach (var h in hits)
            {
                pool.Add((h.Shard, new ShardHit(h.Row, h.Id, h.Score)));
                byKey[(h.Shard, h.Row)] = h;
            }
        }
        CatalogRanker.MergeTopK(pool, query.K);
        var result = new ClusterHit[pool.Count];
        for (int i = 0; i < result.Length; i++) result[i] = byKey[(pool[i].Shard, pool[i].Hit.Row)];
        return new ClusterSearchResult(result, ShardCount, ShardCount - missing.Count, [.. missing], watch.Elapsed);
    }

    /// <summary>
    /// Every shard's part of a RANK (<see cref="IShardGrain.Rank"/>), each with <paramref name="queryOf"/>'s query
    /// and <see cref="ShardSearchTimeout"/>: per shard its answer, or (null and) why it is missing.
    /// </summary>
    internal Task<(ShardRankAnswer? Answer, ShardMiss? Miss)[]> RankShardsAsync(Func<int, ClusterQuery> queryOf, CancellationToken cancellationToken = default) =>
        Task.WhenAll(Enumerable.Range(0, ShardCount).Select(s => AskShard(s, g => g.Rank(queryOf(s)), cancellationToken)));

    private async Task<(T? Answer, ShardMiss? Miss)> AskShard<T>(int shard, Func<IShardGrain, Task<T>> ask, CancellationToken cancellationToken) where T : class
    {
        Task<T> call;
        try
        {
            call = ask(Shard(shard));
        }
        catch (Exception e)
        {
            return (null, new ShardMiss(shard, false, $"{e.GetType().Name}: {FirstLine(e.Message)}"));
        }
        try
        {
            return (await call.WaitAsync(ShardSearchTimeout, cancellationToken), null);
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            ObserveAbandoned(call);
            return (null, new ShardMiss(shard, true, $"no answer within {ShardSearchTimeout.TotalMilliseconds:F0} ms"));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            ObserveAbandoned(call);
            return (null, new ShardMiss(shard, false, "cancelled"));
        }
        catch (Exception e)
        {
            return (null, new ShardMiss(shard, e is TimeoutException, $"{e.GetType().Name}: {FirstLine(e.Message)}"));
        }
    }

    /// <summary>A grain call given up on goes on (Orleans times it out later): observe its fault so it is not an unobserved task exception.</summary>
    internal static void ObserveAbandoned(Task call) =>
        _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private static string FirstLine(string message)
    {
        int nl = message.IndexOf('\n');
        return nl < 0 ? message : message[..nl].TrimEnd('\r');
    }

    /// <summary>Items visible now, over all shards.</summary>
    public async Task<int> CountAsync() => (await Task.WhenAll(Enumerable.Range(0, ShardCount).Select(s => Shard(s).Count()))).Sum();
}
