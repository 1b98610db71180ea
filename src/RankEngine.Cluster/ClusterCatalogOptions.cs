using Microsoft.Extensions.DependencyInjection;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>A vector every item may have: name and dimension (float32).</summary>
public sealed record ClusterVector(string Name, int Dimension);

/// <summary>What every silo and client of one cluster agrees on: the shard count and the item schema.</summary>
public sealed class ClusterCatalogOptions
{
    public ClusterCatalogOptions(int shardCount, IReadOnlyList<ClusterVector> vectors, string contentVector = "content", string? collabVector = "collab")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ShardCount = shardCount;
        Vectors = vectors;
        ContentVector = contentVector;
        CollabVector = collabVector;
        Schema = new StoreSchema(vectors.Select(v => new VectorSpec(v.Name, v.Dimension)));
        ContentSlot = Schema.TryGetSlot(contentVector, out int c) ? c : -1;
        CollabSlot = collabVector is not null && Schema.TryGetSlot(collabVector, out int s) ? s : -1;
    }

    public int ShardCount { get; }

    /// <summary>The default <see cref="ShardSearchTimeout"/>: 3 s.</summary>
    public static readonly TimeSpan DefaultShardSearchTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The deadline of each shard call of a coordinator's search (<c>ClusterCatalog.SearchWithCoverageAsync</c>), far
    /// below Orleans' 30 s response timeout: a shard that has not answered by then (its silo is going, its grain is
    /// re-activating) is left out of the merge and reported missing. Default 3 s.
    /// </summary>
    public TimeSpan ShardSearchTimeout { get; init; } = DefaultShardSearchTimeout;

    /// <summary>
    /// Where the shard grains keep their items durably: shard i in its own single-node store (RankStore: FASTER KV
    /// and a write-ahead log committed before every acknowledgement) under <c>DataRoot/shard-i</c>. It must be a
    /// directory every silo reaches (a shared volume), so a shard re-activated on another silo reopens and recovers
    /// the same store. Null (default): the shard grains keep their items in memory only, lost with their activation.
    /// </summary>
    public string? DataRoot { get; init; }

    /// <summary>How long an activating shard grain retries opening its store while the directory lock is still held
    /// (the previous activation's silo is still closing it). Default 30 s.</summary>
    public TimeSpan StoreLockWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>In-memory part of each shard store's FASTER log, in bytes (at least 16 MiB). Default 64 MiB.</summary>
    public long StoreLogMemoryBytes { get; init; } = 64L << 20;

    /// <summary>Expected items per shard (sizes each store's hash index). Default 1,000,000.</summary>
    public long StoreExpectedRecords { get; init; } = 1_000_000;

    /// <summary>Period of each shard store's automatic checkpoints (null or zero: off). Default 60 s.</summary>
    public TimeSpan? StoreCheckpointInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Whether a deactivating shard grain checkpoints its store before closing it (so the next activation replays nothing). Default true.</summary>
    public bool StoreCheckpointOnDispose { get; init; } = true;

    /// <summary>How event kinds weigh in user profiles (the single node's <c>RankingEngineOptions.EventWeights</c>).</summary>
    public EventWeights EventWeights { get; init; } = EventWeights.Default;

    /// <summary>Time for an event's influence on a user profile to halve. Default 30 days, as on one node.</summary>
    public TimeSpan ProfileHalfLife { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Newest events kept per user. Default 2,000, as on one node.</summary>
    public int MaxUserEvents { get; init; } = 2000;

    /// <summary>Width of content vectors (the schema's content vector).</summary>
    public int ContentDimension => ContentSlot >= 0 ? Schema.Vectors[ContentSlot].Dimension : 0;

    /// <summary>Width of collab vectors (0: none).</summary>
    public int CollabDimension => CollabSlot >= 0 ? Schema.Vectors[CollabSlot].Dimension : 0;

    /// <summary>The store directory of one shard (null without a <see cref="DataRoot"/>).</summary>
    public string? ShardDirectory(int index) => DataRoot is null ? null : Path.Combine(DataRoot, $"shard-{index}");

    public IReadOnlyList<ClusterVector> Vectors { get; }
    public string ContentVector { get; }
    public string? CollabVector { get; }
    internal StoreSchema Schema { get; }
    internal int ContentSlot { get; }
    internal int CollabSlot { get; }
}

public static class ClusterServiceCollectionExtensions
{
    /// <summary>Registers the cluster's catalog options, its model view and the shard placement on a silo (the shard grains read them).</summary>
    public static IServiceCollection AddRankEngineShards(this IServiceCollection services, ClusterCatalogOptions options)
    {
        services.AddSingleton(options).AddSingleton(_ => new SharedModel(options.DataRoot));
        services.AddPlacementDirector<ShardPlacementStrategy, ShardPlacementDirector>();
        return services;
    }
}
