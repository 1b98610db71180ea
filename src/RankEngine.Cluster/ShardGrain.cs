using System.Buffers;
using System.Diagnostics;
using RankEngine.Catalog;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>
/// A shard grain. Two modes, by <see cref="ClusterCatalogOptions.DataRoot"/>:
/// <list type="bullet">
/// <item><b>Durable</b> (a data root): the slice lives in its own single-node <see cref="RankStore"/> under
/// <c>DataRoot/shard-index</c>, opened on activation (which recovers every acknowledged write: checkpoint plus
/// write-ahead-log replay) and disposed on deactivation. A write goes through the store's own write path and returns
/// only once its log entry is committed; searches run on the store's own catalog (one catalog shard). The directory
/// must be reachable from every silo (a shared volume), so the grain can be re-activated on any silo.</item>
/// <item><b>In memory</b> (no data root): one <see cref="CatalogShard"/>; a deactivated or lost activation loses its items.</item>
/// </list>
/// Kept alive against idle collection in both modes (a durable shard would reopen, at the cost of a recovery).
/// Orleans runs its writes one at a time.
/// </summary>
[KeepAlive, ShardPlacement]
internal sealed class ShardGrain : Grain, IShardGrain
{
    private readonly ClusterCatalogOptions _options;
    private readonly SharedModel _model;
    private readonly ShardFactorCache _factors;
    private CatalogShard? _memory;
    private RankStore? _store;

    public ShardGrain(ClusterCatalogOptions options, SharedModel model)
    {
        _options = options;
        _model = model;
        _factors = new ShardFactorCache(options.ContentSlot);
    }

    private int Index => (int)this.GetPrimaryKeyLong();

    /// <summary>The one catalog shard searched: the store's (durable) or the grain's own (in memory).</summary>
    private CatalogShard Shard => _store is not null ? _store.Catalog.Shards[0] : _memory!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string? directory = _options.ShardDirectory(Index);
        if (directory is null)
        {
            _memory = new CatalogShard(_options.Schema);
            return;
        }
        var storeOptions = new StoreOptions
        {
            DataDirectory = directory,
            Schema = _options.Schema,
            CatalogShards = 1,
            LogMemoryBytes = _options.StoreLogMemoryBytes,
            ExpectedRecords = _options.StoreExpectedRecords,
            CheckpointInterval = _options.StoreCheckpointInterval,
            CheckpointOnDispose = _options.StoreCheckpointOnDispose,
        };
        // The previous activation (on a silo that is stopping) may still hold the directory lock for a moment; retry
        // until it lets go, then fail the activation with the store's own message (the caller sees StoreLockedException).
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                _store = await Task.Run(() => RankStore.Open(storeOptions), cancellationToken);
                return;
            }
            catch (StoreLockedException) when (watch.Elapsed < _options.StoreLockWait && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        var store = _store;
        _store = null;
        // Final checkpoint (unless turned off) and release of the directory lock, so the next activation (on any silo) can open it.
        if (store is not null) await Task.Run(store.Dispose, CancellationToken.None);
    }

    public async Task Upsert(ClusterItem[] items)
    {
        int index = Index;
        foreach (var item in items)
        {
            int owner = ShardedCatalog.ShardOf(item.Id, _options.ShardCount);
            if (owner != index) throw new ArgumentException($"item '{item.Id}' belongs to shard {owner}, not {index}");
        }
        var records = new ItemRecord[items.Length];
        for (int i = 0; i < items.Length; i++) records[i] = items[i].ToRecord();
        if (_store is { } store)
        {
            // The store validates the whole batch first (a rejected batch writes nothing) and returns once it is committed.
            await Task.Run(() => store.UpsertItems(records));
            return;
        }
        // Validate every item first, so a rejected batch changes nothing.
        var encoded = new (byte[] Buffer, int Length)[records.Length];
        int done = 0;
        try
        {
            for (; done < records.Length; done++) encoded[done].Buffer = ItemCodec.Encode(records[done], _options.Schema, out encoded[done].Length);
            for (int i = 0; i < records.Length; i++) _memory!.Upsert(records[i].Id, encoded[i].Buffer.AsSpan(0, encoded[i].Length));
        }
        finally
        {
            for (int i = 0; i < done; i++) ArrayPool<byte>.Shared.Return(encoded[i].Buffer);
        }
    }

    public async Task<bool> Remove(string id)
    {
        if (_store is { } store) return await store.DeleteItemAsync(id);
        return _memory!.Remove(id);
    }

    public Task<ClusterHit[]> Search(ClusterQuery query)
    {
        var hits = ShardSearch.Run(Shard.Current, null, ToShardQuery(query), _options.ContentSlot, _options.CollabSlot);
        int index = Index;
        var result = new ClusterHit[hits.Length];
        for (int i = 0; i < hits.Length; i++) result[i] = new ClusterHit(hits[i].Id, hits[i].Score, index, hits[i].Row);
        return Task.FromResult(result);
    }

    public Task<ShardRankAnswer> Rank(ClusterQuery query)
    {
        // One snapshot for the search, the parts and the vectors: the rows returned are the rows read.
        var snapshot = Shard.Current;
        var shardQuery = ToShardQuery(query);
        int contentSlot = _options.ContentSlot;
        ShardFactors? factors = null;
        if (query.ModelVersion != 0)
        {
            var model = ModelFor(query.ModelVersion);
            factors = _factors.For(snapshot, model);
            shardQuery = shardQuery with { SecondIsModel = true };
        }
        var hits = ShardSearch.Run(snapshot, factors, shardQuery, contentSlot, _options.CollabSlot);
        int index = Index, n = hits.Length, boosts = query.Boosts.Length;
        var result = new ClusterHit[n];
        var rows = new int[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = new ClusterHit(hits[i].Id, hits[i].Score, index, hits[i].Row);
            rows[i] = hits[i].Row;
        }
        var parts = ShardSearch.PartsOf(snapshot, factors, shardQuery, contentSlot, _options.CollabSlot, rows);
        var content = new float[n];
        var second = new float[n];
        var boostParts = new float[n * boosts];
        for (int i = 0; i < n; i++)
        {
            content[i] = parts[i].Content;
            second[i] = parts[i].Second;
            parts[i].Boosts.AsSpan().CopyTo(boostParts.AsSpan(i * boosts, boosts));
        }
        float[] vectors = [];
        if (query.WithVectors && contentSlot >= 0)
        {
            int d = _options.Schema.Vectors[contentSlot].Dimension;
            vectors = new float[n * d];
            for (int i = 0; i < n; i++) snapshot.Vector(contentSlot, rows[i]).CopyTo(vectors.AsSpan(i * d, d));
        }
        string[]?[] tags = [];
        if (query.TagField is { } field)
        {
            tags = new string[]?[n];
            for (int i = 0; i < n; i++) tags[i] = snapshot.TagsOf(rows[i], field) is { } t ? [.. t] : null;
        }
        string[] unknown = [];
        if (query.Candidates is { Length: > 0 } candidates)
        {
            var missing = new List<string>();
            foreach (var id in candidates)
                if (!snapshot.TryGetRow(id, out _)) missing.Add(id);
            unknown = [.. missing];
        }
        return Task.FromResult(new ShardRankAnswer
        {
            Hits = result, ContentParts = content, SecondParts = second, BoostParts = boostParts, Vectors = vectors, Tags = tags, UnknownCandidates = unknown,
        });
    }

    public Task<ClusterItemVectors[]> Vectors(string[] ids)
    {
        var snapshot = Shard.Current;
        int contentSlot = _options.ContentSlot, collabSlot = _options.CollabSlot;
        var result = new ClusterItemVectors[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if (!snapshot.TryGetRow(ids[i], out int row)) continue;
            float[] content = contentSlot >= 0 && snapshot.HasVector(contentSlot, row) ? snapshot.Vector(contentSlot, row).ToArray() : [];
            float[] collab = collabSlot >= 0 && snapshot.HasVector(collabSlot, row) ? snapshot.Vector(collabSlot, row).ToArray() : [];
            result[i] = new ClusterItemVectors(true, content, collab);
        }
        return Task.FromResult(result);
    }

    public Task<bool[]> Contains(string[] ids)
    {
        var snapshot = Shard.Current;
        var result = new bool[ids.Length];
        for (int i = 0; i < ids.Length; i++) result[i] = snapshot.TryGetRow(ids[i], out _);
        return Task.FromResult(result);
    }

    public Task<ClusterItem?> Get(string id)
    {
        if (_store is not { } store)
            throw new NotSupportedException("in-memory shards keep no item records (give the cluster a data root to read items back)");
        return Task.FromResult(store.TryGetItem(id, out var record) ? ClusterItem.From(record) : null);
    }

    /// <summary>The model version a query was planned with; a shard never scores with another (its factors would not match the user vector).</summary>
    private Models.RankingModel ModelFor(long version)
    {
        var model = _model.Current();
        if (model?.Description.Version != version) model = _model.Current(force: true);
        if (model?.Description.Version != version)
            throw new InvalidOperationException($"shard {Index} has model v{model?.Description.Version ?? 0}, the query was planned with v{version}");
        return model;
    }

    public Task<ClusterTrainingItem[]> TrainingItems()
    {
        var snapshot = Shard.Current;
        var items = new List<ClusterTrainingItem>(snapshot.LiveCount);
        for (int row = 0; row < snapshot.RowCount; row++)
            if (snapshot.IsVisible(row)) items.Add(ClusterTrainingItem.From(Models.TrainingInputs.ItemOf(snapshot, row, _options.ContentSlot)));
        return Task.FromResult(items.ToArray());
    }

    public async Task Checkpoint()
    {
        if (_store is { } store) await Task.Run(store.Checkpoint);
    }

    private static ShardQuery ToShardQuery(ClusterQuery query) => new()
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

    public Task<int> Count() => Task.FromResult(Shard.Current.LiveCount);

    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);

    public Task<string> SiloAddress() => Task.FromResult(GrainContext.Address.SiloAddress!.ToParsableString());

    public Task<RecoveryReport> Recovery() => Task.FromResult(_store is { } s
        ? new RecoveryReport(true, s.Recovery.FromCheckpoint, s.Recovery.ReplayedEntries, s.Recovery.Items, s.Recovery.Elapsed)
        : new RecoveryReport(false, false, 0, 0, TimeSpan.Zero));
}
