using System.Numerics.Tensors;

namespace RankEngine.Ranking;

/// <summary>The query side of a ranking: vectors to match items against.</summary>
/// <param name="Content">Unit vector in the encoder space (user profile, query text, or both combined); empty for none.</param>
/// <param name="Collab">Vector in the collaborative space; empty for none.</param>
public readonly record struct RankingQuery(ReadOnlyMemory<float> Content, ReadOnlyMemory<float> Collab)
{
    /// <summary>
    /// <c>Content · e_row</c> already computed by a scoring backend, indexed by row; rows past its end are computed
    /// here. Empty: compute every dot product here.
    /// </summary>
    public ReadOnlyMemory<float> ContentScores { get; init; }
    /// <summary>Likewise for <c>Collab · c_row</c>.</summary>
    public ReadOnlyMemory<float> CollabScores { get; init; }
}

/// <summary>How an item's score was made (explainability). <c>Total = Content + Collab + Σ Boosts</c>.</summary>
public sealed record ScoreParts(float Content, float Collab, IReadOnlyList<KeyValuePair<string, float>> Boosts)
{
    public float BoostTotal
    {
        get
        {
            float s = 0;
            foreach (var b in Boosts) s += b.Value;
            return s;
        }
    }
}

/// <summary>One ranked item.</summary>
/// <param name="Id">The item id.</param>
/// <param name="Parts">The score's parts.</param>
/// <param name="Score">The hybrid relevance <c>U</c> (MMR changes the order, not this value).</param>
public sealed record RankedItem(string Id, float Score, ScoreParts Parts);

/// <summary>Which rows may be ranked.</summary>
public sealed record CandidateSet
{
    /// <summary>Rows to consider; null means the whole catalog.</summary>
    public IReadOnlyList<int>? Rows { get; init; }
    /// <summary>Rows never to return (e.g. items the user has already seen).</summary>
    public IReadOnlySet<int>? Excluded { get; init; }
    public IReadOnlyList<ItemFilter> Filters { get; init; } = Array.Empty<ItemFilter>();
}

/// <summary>
/// Hybrid scoring, selection and MMR over an <see cref="IRankingCatalog"/>. Scoring (the dot products and boosts),
/// selection (<see cref="TopKSelector"/>) and the re-ranking policy (<see cref="Mmr"/>) are separate steps.
/// </summary>
public static class HybridRanker
{
    /// <summary>Largest k a ranking may ask for.</summary>
    public const int MaxK = 4096;

    public static IReadOnlyList<RankedItem> Rank(IRankingCatalog catalog, RankingQuery query, RankingParameters parameters,
        CandidateSet candidates, int k)
    {
        if (k <= 0 || k > MaxK) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be between 1 and {MaxK}");
        parameters.Validate();
        var content = query.Content.Span;
        var collab = query.Collab.Span;
        if (!content.IsEmpty && content.Length != catalog.ContentDimension)
            throw new ArgumentException($"content query has {content.Length} dimensions, the catalog {catalog.ContentDimension}");
        if (!collab.IsEmpty && collab.Length != catalog.CollabDimension)
            throw new ArgumentException($"collab query has {collab.Length} dimensions, the catalog {catalog.CollabDimension}");

        // MMR re-ranks a larger pool of the most relevant items.
        int poolK = parameters.Diversity > 0 ? Math.Min(MaxK * 4, Math.Max(4 * k, k + 50)) : k;
        var selector = new TopKSelector(poolK, catalog);
        var boosts = parameters.Boosts.ToArray();
        var filters = candidates.Filters;
        int count = candidates.Rows?.Count ?? catalog.RowCount;
        for (int i = 0; i < count; i++)
        {
            int row = candidates.Rows is null ? i : candidates.Rows[i];
            if (!catalog.IsLive(row) || (candidates.Excluded?.Contains(row) ?? false)) continue;
            bool pass = true;
            for (int f = 0; f < filters.Count && pass; f++) pass = filters[f].Matches(catalog, row);
            if (!pass) continue;
            selector.Offer(Score(catalog, row, query, parameters, boosts), row);
        }
        var pool = selector.Drain();
        if (parameters.Diversity > 0 && pool.Length > 1)
            pool = Mmr.Select(catalog, pool, k, parameters.Diversity);
        else if (pool.Length > k)
            pool = pool[..k];

        var result = new RankedItem[pool.Length];
        for (int i = 0; i < pool.Length; i++)
            result[i] = new RankedItem(catalog.IdOf(pool[i].Row), pool[i].Score, Parts(catalog, pool[i].Row, query, parameters, boosts));
        return result;
    }

    private static float Score(IRankingCatalog catalog, int row, in RankingQuery query, RankingParameters p,
        KeyValuePair<string, float>[] boosts)
    {
        float score = p.ContentWeight * Similarity(catalog, row, query.Content.Span, query.ContentScores.Span, content: true, p.ContentWeight)
            + p.CollabWeight * Similarity(catalog, row, query.Collab.Span, query.CollabScores.Span, content: false, p.CollabWeight);
        foreach (var (field, w) in boosts)
            if (catalog.TryGetNumber(row, field, out double v)) score += w * (float)v;
        return score;
    }

    /// <summary>query · item vector for one signal; 0 when either side is missing or the weight is 0.</summary>
    private static float Similarity(IRankingCatalog catalog, int row, ReadOnlySpan<float> query, ReadOnlySpan<float> precomputed,
        bool content, float weight)
    {
        if (query.IsEmpty || weight == 0) return 0f;
        var item = content ? catalog.Content(row) : catalog.Collab(row);
        if (item.IsEmpty) return 0f;
        return row < precomputed.Length ? precomputed[row] : TensorPrimitives.Dot(query, item);
    }

    private static ScoreParts Parts(IRankingCatalog catalog, int row, in RankingQuery query, RankingParameters p,
        KeyValuePair<string, float>[] boosts)
    {
        float contentPart = p.ContentWeight * Similarity(catalog, row, query.Content.Span, query.ContentScores.Span, content: true, p.ContentWeight);
        float collabPart = p.CollabWeight * Similarity(catalog, row, query.Collab.Span, query.CollabScores.Span, content: false, p.CollabWeight);
        var boostParts = new KeyValuePair<string, float>[boosts.Length];
        for (int b = 0; b < boosts.Length; b++)
            boostParts[b] = new(boosts[b].Key, catalog.TryGetNumber(row, boosts[b].Key, out double v) ? boosts[b].Value * (float)v : 0f);
        return new ScoreParts(contentPart, collabPart, boostParts);
    }
}

/// <summary>
/// Maximal marginal relevance: greedily picks the item maximising <c>(1 − λ)·rel − λ·max_j sim(i, j)</c> over the
/// items j already picked, where rel is the pool's relevance min-max scaled to [0, 1] and sim is the dot product of
/// unit content vectors, clamped at 0 (0 when an item has none): an item opposite to the picked ones is "not similar",
/// not a bonus, so anti-relevant items are never promoted for diversity. λ = 0 reproduces the relevance order.
/// </summary>
public static class Mmr
{
    public static (float Score, int Row)[] Select(IRankingCatalog catalog, (float Score, int Row)[] pool, int k, float lambda)
    {
        int n = pool.Length, take = Math.Min(k, n);
        float max = pool[0].Score, min = pool[0].Score;
        foreach (var p in pool) { max = Math.Max(max, p.Score); min = Math.Min(min, p.Score); }
        float range = max - min;
        var maxSim = new float[n]; // starts at 0: similarity is clamped below at 0
        var used = new bool[n];
        var result = new (float, int)[take];
        for (int t = 0; t < take; t++)
        {
            int best = -1;
            float bestValue = float.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                if (used[i]) continue;
                float rel = range > 0 ? (pool[i].Score - min) / range : 1f;
                float value = (1 - lambda) * rel - lambda * maxSim[i];
                if (value > bestValue) { bestValue = value; best = i; } // pool is in relevance order: ties keep it
            }
            used[best] = true;
            result[t] = pool[best];
            var chosen = catalog.Content(pool[best].Row);
            for (int i = 0; i < n; i++)
            {
                if (used[i]) continue;
                var other = catalog.Content(pool[i].Row);
                float sim = chosen.IsEmpty || other.IsEmpty ? 0f : TensorPrimitives.Dot(chosen, other);
                if (sim > maxSim[i]) maxSim[i] = sim;
            }
        }
        return result;
    }
}
