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
    /// <summary>
    /// Likewise for the collaborative part. With an empty <see cref="Collab"/> vector these scores are the whole
    /// collaborative part (a trained model's scores, computed by the engine), and rows past their end score 0.
    /// </summary>
    public ReadOnlyMemory<float> CollabScores { get; init; }
    /// <summary>Vector subtracted from content vectors before MMR's cosine (the catalog mean); empty for none.</summary>
    public ReadOnlyMemory<float> DiversityCentre { get; init; }
    /// <summary>Tag field MMR also compares items by (Jaccard of their tags); null for content only.</summary>
    public string? DiversityTagField { get; init; }
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
        int poolK = parameters.Diversity > 0 ? Mmr.PoolSize(k) : k;
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
            pool = Diversify(catalog, pool, k, parameters.Diversity, query.DiversityCentre.Span, query.DiversityTagField);
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
            + CollabPart(catalog, row, query, p.CollabWeight);
        foreach (var (field, w) in boosts)
            if (catalog.TryGetNumber(row, field, out double v)) score += Finite(w * (float)v);
        // Overflowing arithmetic (huge boosts) must not put NaN or ∞ into a list: clamp to the float range.
        return Finite(score);
    }

    /// <summary>query · item vector for one signal; 0 when either side is missing or the weight is 0.</summary>
    private static float Similarity(IRankingCatalog catalog, int row, ReadOnlySpan<float> query, ReadOnlySpan<float> precomputed,
        bool content, float weight)
    {
        if (query.IsEmpty || weight == 0) return 0f;
        var item = content ? catalog.Content(row) : catalog.Collab(row);
        if (item.IsEmpty) return 0f;
        float value = row < precomputed.Length ? precomputed[row] : TensorPrimitives.Dot(query, item);
        return float.IsFinite(value) ? value : 0f;
    }

    private static float Finite(float value) => float.IsNaN(value) ? 0f : Math.Clamp(value, -float.MaxValue, float.MaxValue);

    /// <summary>The collaborative part: precomputed model scores when the query has no collab vector.</summary>
    private static float CollabPart(IRankingCatalog catalog, int row, in RankingQuery query, float weight)
    {
        if (weight == 0) return 0f;
        if (query.Collab.IsEmpty)
        {
            var scores = query.CollabScores.Span;
            return row < scores.Length && float.IsFinite(scores[row]) ? weight * scores[row] : 0f;
        }
        return weight * Similarity(catalog, row, query.Collab.Span, query.CollabScores.Span, content: false, weight);
    }

    private static (float Score, int Row)[] Diversify(IRankingCatalog catalog, (float Score, int Row)[] pool, int k, float lambda, ReadOnlySpan<float> centre,
        string? tagField)
    {
        IReadOnlyList<string>?[]? tags = null;
        if (tagField is not null)
        {
            tags = new IReadOnlyList<string>?[pool.Length];
            for (int i = 0; i < pool.Length; i++) tags[i] = catalog.TagsOf(pool[i].Row, tagField);
        }
        int d = catalog.ContentDimension;
        var relevance = new float[pool.Length];
        var vectors = new float[pool.Length * d];
        for (int i = 0; i < pool.Length; i++)
        {
            relevance[i] = pool[i].Score;
            catalog.Content(pool[i].Row).CopyTo(vectors.AsSpan(i * d, d));
        }
        var order = Mmr.Select(relevance, vectors, d, centre, k, lambda, tags);
        var result = new (float, int)[order.Length];
        for (int i = 0; i < order.Length; i++) result[i] = pool[order[i]];
        return result;
    }

    private static ScoreParts Parts(IRankingCatalog catalog, int row, in RankingQuery query, RankingParameters p,
        KeyValuePair<string, float>[] boosts)
    {
        float contentPart = p.ContentWeight * Similarity(catalog, row, query.Content.Span, query.ContentScores.Span, content: true, p.ContentWeight);
        float collabPart = CollabPart(catalog, row, query, p.CollabWeight);
        var boostParts = new KeyValuePair<string, float>[boosts.Length];
        for (int b = 0; b < boosts.Length; b++)
            boostParts[b] = new(boosts[b].Key, catalog.TryGetNumber(row, boosts[b].Key, out double v) ? Finite(boosts[b].Value * (float)v) : 0f);
        return new ScoreParts(contentPart, collabPart, boostParts);
    }
}
