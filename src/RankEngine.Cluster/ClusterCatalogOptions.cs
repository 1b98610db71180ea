using Microsoft.Extensions.DependencyInjection;
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
    public IReadOnlyList<ClusterVector> Vectors { get; }
    public string ContentVector { get; }
    public string? CollabVector { get; }
    internal StoreSchema Schema { get; }
    internal int ContentSlot { get; }
    internal int CollabSlot { get; }
}

public static class ClusterServiceCollectionExtensions
{
    /// <summary>Registers the cluster's catalog options on a silo (the shard grains read them).</summary>
    public static IServiceCollection AddRankEngineShards(this IServiceCollection services, ClusterCatalogOptions options) =>
        services.AddSingleton(options);
}
