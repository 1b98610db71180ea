namespace RankEngine.Ranking;

/// <summary>A ranking request to <c>RankingEngine.Rank</c>.</summary>
public sealed record RankRequest
{
    /// <summary>Largest k a ranking may ask for.</summary>
    public const int MaxK = 4096;

    /// <summary>The user to personalise for; null or unknown means cold start.</summary>
    public string? UserId { get; init; }
    /// <summary>Free text to match (encoded with the engine's model); combined with the user's profile when both exist.</summary>
    public string? QueryText { get; init; }
    /// <summary>How many items to return, 1..<see cref="MaxK"/>.</summary>
    public int K { get; init; } = 10;
    /// <summary>Rank only these item ids; null ranks the whole catalog. Unknown ids are reported, not fatal.</summary>
    public IReadOnlyList<string>? Candidates { get; init; }
    /// <summary>Conditions every returned item meets.</summary>
    public IReadOnlyList<ItemFilter> Filters { get; init; } = Array.Empty<ItemFilter>();
    /// <summary>Leave out items in the user's event history.</summary>
    public bool ExcludeSeen { get; init; }
    /// <summary>Override of the bucket's content weight; null keeps the bucket's value.</summary>
    public float? ContentWeight { get; init; }
    /// <summary>Override of the bucket's collaborative weight; null keeps the bucket's value.</summary>
    public float? CollabWeight { get; init; }
    /// <summary>Override of the bucket's MMR diversity λ in [0, 1]; null keeps the bucket's value.</summary>
    public float? Diversity { get; init; }
    /// <summary>Extra or replaced boost weights by numeric field.</summary>
    public IReadOnlyDictionary<string, float>? Boosts { get; init; }
}

/// <summary>How a ranking was personalised.</summary>
public enum RankStrategy
{
    /// <summary>From the user's profile (and the query text, if any).</summary>
    Personalized,
    /// <summary>Cold start with a query: the query text alone.</summary>
    QueryOnly,
    /// <summary>Cold start without a query: by the <c>popularity</c> field.</summary>
    Popularity,
}

/// <summary>The answer to a <see cref="RankRequest"/>.</summary>
public sealed record RankResponse
{
    /// <summary>The ranked items, best first.</summary>
    public required IReadOnlyList<RankedItem> Items { get; init; }
    /// <summary>How the ranking was personalised.</summary>
    public required RankStrategy Strategy { get; init; }
    /// <summary>Why this strategy (e.g. "unknown user: cold start, ranked by popularity").</summary>
    public required string Explanation { get; init; }
    /// <summary>The user's A/B bucket name, when an experiment runs and a user id was given.</summary>
    public string? Bucket { get; init; }
    /// <summary>Candidate ids that are not in the catalog (skipped).</summary>
    public IReadOnlyList<string> UnknownCandidates { get; init; } = Array.Empty<string>();
    /// <summary>How much of the catalog was ranked: always all of it on one node; on a cluster, less while a shard moves.</summary>
    public CatalogCoverage Coverage { get; init; } = CatalogCoverage.Full;
}

/// <summary>
/// How much of the catalog a ranking covered: <see cref="ShardsAnswered"/> of <see cref="ShardsAsked"/> shards, and
/// which did not answer. Items of a missing shard are never in the answer, so a partial ranking is exactly the top
/// of the shards that answered.
/// </summary>
public sealed record CatalogCoverage(int ShardsAsked, int ShardsAnswered, IReadOnlyList<int> MissingShards)
{
    /// <summary>Every shard answered (a single node always does).</summary>
    public static readonly CatalogCoverage Full = new(1, 1, Array.Empty<int>());

    /// <summary>Shards answered / shards asked.</summary>
    public double Fraction => ShardsAsked == 0 ? 1 : (double)ShardsAnswered / ShardsAsked;

    /// <summary>Whether the whole catalog was ranked.</summary>
    public bool IsComplete => ShardsAnswered == ShardsAsked;
}
