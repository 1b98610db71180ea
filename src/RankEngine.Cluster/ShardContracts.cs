namespace RankEngine.Cluster;

/// <summary>
/// One catalog slice of the cluster, keyed by its shard index (0 .. shard count − 1). It holds the items whose id the
/// single node's placement (<c>ShardedCatalog.ShardOf</c>) puts in that shard, in a single-node <c>CatalogShard</c>,
/// and searches them with the single-node <c>ShardSearch</c>.
/// </summary>
public interface IShardGrain : IGrainWithIntegerKey
{
    /// <summary>Adds or replaces items of this shard; completes once the shard has applied them (a search after it sees them).</summary>
    Task Upsert(ClusterItem[] items);

    /// <summary>Removes an item; false when the shard had no live row for it. Completes once applied.</summary>
    Task<bool> Remove(string id);

    /// <summary>The shard's top <see cref="ClusterQuery.K"/> by the one tie rule (score descending, then id ordinal).</summary>
    Task<ClusterHit[]> Search(ClusterQuery query);

    /// <summary>Items visible now.</summary>
    Task<int> Count();

    /// <summary>The silo this activation runs on (diagnostics).</summary>
    Task<string> Silo();
}

/// <summary>An item write: its id and vectors by schema name (content vectors as the engine stores them, unit length).</summary>
[GenerateSerializer, Immutable]
public sealed class ClusterItem
{
    public ClusterItem(string id, Dictionary<string, float[]> vectors)
    {
        Id = id;
        Vectors = vectors;
    }

    [Id(0)] public string Id { get; }
    [Id(1)] public Dictionary<string, float[]> Vectors { get; }
}

/// <summary>
/// A shard query over the wire: the content and collab terms of the single node's <c>ShardQuery</c>, its candidate
/// and exclusion lists and K. (Filters, boosts and model factors are not carried yet.)
/// </summary>
[GenerateSerializer, Immutable]
public sealed class ClusterQuery
{
    /// <summary>Content-space query (unit vector); empty for none.</summary>
    [Id(0)] public float[] Content { get; init; } = [];
    [Id(1)] public float ContentWeight { get; init; }
    /// <summary>Collab-space query (against the items' collab vectors); empty for none.</summary>
    [Id(2)] public float[] Collab { get; init; } = [];
    [Id(3)] public float CollabWeight { get; init; }
    /// <summary>Score only these items; null for every item.</summary>
    [Id(4)] public string[]? Candidates { get; init; }
    /// <summary>Items never to return.</summary>
    [Id(5)] public string[]? Excluded { get; init; }
    [Id(6)] public int K { get; init; } = 10;
}

/// <summary>One scored item: its id and fused score (bit for bit the single node's), and its row in the shard searched.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ClusterHit([property: Id(0)] string Id, [property: Id(1)] float Score, [property: Id(2)] int Shard, [property: Id(3)] int Row);
