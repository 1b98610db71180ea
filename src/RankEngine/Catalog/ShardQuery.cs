using RankEngine.Ranking;

namespace RankEngine.Catalog;

/// <summary>
/// What one shard is asked: the fused score <c>w_c·(q_c·content_r) + w_s·(q_s·second_r) + Σ_f b_f·x_{r,f}</c> over the
/// rows that pass the filters and are not excluded, cut to the best <see cref="K"/> by the one tie rule (score
/// descending, then item id ordinal ascending). Plain values only, so a query can cross a process boundary.
/// </summary>
internal sealed record ShardQuery
{
    /// <summary>Content-space query (unit vector); empty for none.</summary>
    public ReadOnlyMemory<float> Content { get; init; }
    public float ContentWeight { get; init; }
    /// <summary>Second term's query: the model's user vector (against the model factors) or a collab vector; empty for none.</summary>
    public ReadOnlyMemory<float> Second { get; init; }
    public float SecondWeight { get; init; }
    /// <summary>True: the second term scores against the served model's item factors; false: against the collab vectors.</summary>
    public bool SecondIsModel { get; init; }
    /// <summary>Numeric fields added as weight × value (a missing value adds nothing).</summary>
    public IReadOnlyList<KeyValuePair<string, float>> Boosts { get; init; } = [];
    public IReadOnlyList<ItemFilter> Filters { get; init; } = [];
    /// <summary>Score only these items (ids; unknown ones are skipped); null for the whole shard.</summary>
    public IReadOnlyList<string>? Candidates { get; init; }
    /// <summary>Items never to return.</summary>
    public IReadOnlyCollection<string>? Excluded { get; init; }
    public int K { get; init; } = 10;
}

/// <summary>One scored item of a shard: its row in the snapshot that was searched, its id and fused score.</summary>
internal readonly record struct ShardHit(int Row, string Id, float Score);

/// <summary>The one tie rule of every ranking: higher score first, then the smaller item id (ordinal).</summary>
internal sealed class HitOrder : IComparer<ShardHit>
{
    public static readonly HitOrder Instance = new();

    public int Compare(ShardHit a, ShardHit b)
    {
        int byScore = b.Score.CompareTo(a.Score);
        return byScore != 0 ? byScore : string.CompareOrdinal(a.Id, b.Id);
    }
}
