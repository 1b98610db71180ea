using Orleans.Concurrency;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>
/// One catalog slice of the cluster, keyed by its shard index (0 .. shard count − 1). It holds the items whose id the
/// single node's placement (<c>ShardedCatalog.ShardOf</c>) puts in that shard, in a single-node <c>CatalogShard</c>,
/// and searches them with the single-node <c>ShardSearch</c>. With <see cref="ClusterCatalogOptions.DataRoot"/> set the
/// slice is durable: writes complete only once committed to the shard's own store, which a re-activation recovers.
/// </summary>
public interface IShardGrain : IGrainWithIntegerKey
{
    /// <summary>Adds or replaces items of this shard; completes once the shard has applied them (a search after it sees them) and, when durable, committed them.</summary>
    Task Upsert(ClusterItem[] items);

    /// <summary>Removes an item; false when the shard had no live row for it. Completes once applied.</summary>
    Task<bool> Remove(string id);

    /// <summary>The shard's top <see cref="ClusterQuery.K"/> by the one tie rule (score descending, then id ordinal).</summary>
    /// <remarks>Read-only: searches of a published snapshot interleave with each other; writes still run one at a time.</remarks>
    [ReadOnly]
    Task<ClusterHit[]> Search(ClusterQuery query);

    /// <summary>Items visible now.</summary>
    [ReadOnly]
    Task<int> Count();

    /// <summary>The silo this activation runs on (diagnostics).</summary>
    Task<string> Silo();

    /// <summary>The address of the silo this activation runs on (<c>SiloAddress.ToParsableString</c>; tests find the host with it).</summary>
    Task<string> SiloAddress();

    /// <summary>What this activation's store recovered when it opened (durable mode; all zero in memory).</summary>
    Task<RecoveryReport> Recovery();

    /// <summary>
    /// The shard's part of a RANK: its top <see cref="ClusterQuery.K"/> with each hit's score parts, and (as the query
    /// asks) the hits' content vectors and tags for MMR, and which of its candidates it does not hold.
    /// </summary>
    [ReadOnly]
    Task<ShardRankAnswer> Rank(ClusterQuery query);

    /// <summary>The content and collab vectors of items of this shard (a user's profile rebuild reads them).</summary>
    [ReadOnly]
    Task<ClusterItemVectors[]> Vectors(string[] ids);

    /// <summary>Whether this shard holds each id.</summary>
    [ReadOnly]
    Task<bool[]> Contains(string[] ids);

    /// <summary>An item as stored (text, vectors, fields), or null. Durable shards only: in memory a shard keeps no item records.</summary>
    [ReadOnly]
    Task<ClusterItem?> Get(string id);

    /// <summary>Checkpoints the shard's store now (durable mode; nothing in memory).</summary>
    Task Checkpoint();

    /// <summary>Every visible item as training reads it.</summary>
    [ReadOnly]
    Task<ClusterTrainingItem[]> TrainingItems();
}

/// <summary>A shard's answer to <see cref="IShardGrain.Rank"/>.</summary>
[GenerateSerializer, Immutable]
public sealed class ShardRankAnswer
{
    /// <summary>The shard's top K, best first.</summary>
    [Id(0)] public ClusterHit[] Hits { get; init; } = [];
    /// <summary>Per hit: the content term, the second (collab) term and each boost's term (the single node's <c>ShardSearch.PartsOf</c>).</summary>
    [Id(1)] public float[] ContentParts { get; init; } = [];
    [Id(2)] public float[] SecondParts { get; init; } = [];
    /// <summary>Hits × boosts, row-major.</summary>
    [Id(3)] public float[] BoostParts { get; init; } = [];
    /// <summary>Hits × content dimension, row-major, when the query asked for vectors (MMR); else empty.</summary>
    [Id(4)] public float[] Vectors { get; init; } = [];
    /// <summary>Per hit, its tags of <see cref="ClusterQuery.TagField"/>, when asked; else empty.</summary>
    [Id(5)] public string[]?[] Tags { get; init; } = [];
    /// <summary>The query's candidates this shard does not hold.</summary>
    [Id(6)] public string[] UnknownCandidates { get; init; } = [];
}

/// <summary>An item's vectors for a profile rebuild: whether the shard holds it, and its content and collab vectors (empty when absent).</summary>
[GenerateSerializer, Immutable]
public readonly record struct ClusterItemVectors([property: Id(0)] bool Found, [property: Id(1)] float[] Content, [property: Id(2)] float[] Collab);

/// <summary>What a durable shard grain's store recovered on activation.</summary>
[GenerateSerializer, Immutable]
public sealed record RecoveryReport([property: Id(0)] bool Durable, [property: Id(1)] bool FromCheckpoint, [property: Id(2)] long ReplayedEntries,
    [property: Id(3)] int Items, [property: Id(4)] TimeSpan Elapsed);

/// <summary>An item write: its id, vectors by schema name (content vectors as the engine stores them, unit length) and typed fields.</summary>
[GenerateSerializer, Immutable]
public sealed class ClusterItem
{
    public ClusterItem(string id, Dictionary<string, float[]> vectors, Dictionary<string, ClusterField>? fields = null, string? text = null)
    {
        Id = id;
        Vectors = vectors;
        Fields = fields ?? [];
        Text = text;
    }

    [Id(0)] public string Id { get; }
    [Id(1)] public Dictionary<string, float[]> Vectors { get; }
    [Id(2)] public Dictionary<string, ClusterField> Fields { get; }
    /// <summary>The item's text, kept with it (durable shards), or null.</summary>
    [Id(3)] public string? Text { get; }

    /// <summary>The wire form of a stored record.</summary>
    public static ClusterItem From(ItemRecord record)
    {
        var fields = new Dictionary<string, ClusterField>(record.Fields.Count, StringComparer.Ordinal);
        foreach (var (name, value) in record.Fields) fields[name] = ClusterField.From(value);
        return new ClusterItem(record.Id, new Dictionary<string, float[]>(record.Vectors, StringComparer.Ordinal), fields, record.Text);
    }

    /// <summary>The record a shard stores.</summary>
    public ItemRecord ToRecord()
    {
        var record = new ItemRecord(Id) { Text = Text };
        foreach (var (name, vector) in Vectors) record.Vectors[name] = vector;
        foreach (var (name, field) in Fields) record.Fields[name] = field.ToFieldValue();
        return record;
    }
}

/// <summary>A typed item field over the wire (the single node's <see cref="FieldValue"/>).</summary>
[GenerateSerializer, Immutable]
public sealed record ClusterField([property: Id(0)] FieldKind Kind, [property: Id(1)] string? Text, [property: Id(2)] double Number, [property: Id(3)] string[] Tags)
{
    public static ClusterField From(FieldValue value) => new(value.Kind, value.Text, value.Number, [.. value.TagList]);

    public FieldValue ToFieldValue() => Kind switch
    {
        FieldKind.String => FieldValue.String(Text ?? ""),
        FieldKind.Number => FieldValue.Num(Number),
        FieldKind.Tags => FieldValue.Tags(Tags),
        _ => throw new ArgumentException($"unknown field kind {Kind}"),
    };
}

/// <summary>A filter over the wire: the single node's <see cref="EqualsFilter"/> (Value set) or <see cref="RangeFilter"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record ClusterFilter(
    [property: Id(0)] string Field, [property: Id(1)] string? Value,
    [property: Id(2)] double Min, [property: Id(3)] double Max, [property: Id(4)] bool MinInclusive, [property: Id(5)] bool MaxInclusive)
{
    public static ClusterFilter From(ItemFilter filter) => filter switch
    {
        EqualsFilter e => new(e.Field, e.Value, 0, 0, false, false),
        RangeFilter r => new(r.Field, null, r.Min, r.Max, r.MinInclusive, r.MaxInclusive),
        _ => throw new NotSupportedException($"filter {filter.GetType().Name} cannot cross the cluster yet"),
    };

    public ItemFilter ToItemFilter() => Value is not null ? new EqualsFilter(Field, Value) : new RangeFilter(Field, Min, Max, MinInclusive, MaxInclusive);
}

/// <summary>A numeric field added to the score as weight × value.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ClusterBoost([property: Id(0)] string Field, [property: Id(1)] float Weight);

/// <summary>
/// A shard query over the wire: the single node's <c>ShardQuery</c> without the model term (content and collab
/// terms, boosts, filters, candidate and exclusion lists, K).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ClusterQuery
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
    [Id(7)] public ClusterBoost[] Boosts { get; init; } = [];
    [Id(8)] public ClusterFilter[] Filters { get; init; } = [];
    /// <summary>Rank only: return the hits' content vectors (the front end diversifies with MMR).</summary>
    [Id(9)] public bool WithVectors { get; init; }
    /// <summary>Rank only: return the hits' tags of this field (MMR by metadata), or null.</summary>
    [Id(10)] public string? TagField { get; init; }
    /// <summary>Non-zero: <see cref="Collab"/> is this model version's user vector, scored against the model's item factors (the shard loads that version from the data root).</summary>
    [Id(11)] public long ModelVersion { get; init; }
}

/// <summary>One scored item: its id and fused score (bit for bit the single node's), and its row in the shard searched.</summary>
[GenerateSerializer, Immutable]
public readonly record struct ClusterHit([property: Id(0)] string Id, [property: Id(1)] float Score, [property: Id(2)] int Shard, [property: Id(3)] int Row);
