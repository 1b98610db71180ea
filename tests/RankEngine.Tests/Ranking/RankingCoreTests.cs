using RankEngine.Ranking;
using Xunit;

namespace RankEngine.Tests.Ranking;

/// <summary>Ranking algorithms on small hand-made catalogs with hand-computed expectations.</summary>
public sealed class RankingCoreTests
{
    private static ItemFields Fields(double popularity, string genre, params string[] tags) => new()
    {
        Numbers = new Dictionary<string, double> { ["popularity"] = popularity },
        Strings = new Dictionary<string, string> { ["genre"] = genre },
        Tags = new Dictionary<string, IReadOnlyList<string>> { ["tags"] = tags },
    };

    /// <summary>Four items on the unit circle-ish in 2-D; collab in 1-D.</summary>
    private static ItemCatalog Small()
    {
        var c = new ItemCatalog(2, 1);
        c.Upsert("a", new[] { 1f, 0f }, new[] { 0.5f }, Fields(10, "drama", "old"));
        c.Upsert("b", new[] { 0.6f, 0.8f }, new[] { 2f }, Fields(1, "comedy", "new"));
        c.Upsert("c", new[] { 0f, 1f }, new[] { 1f }, Fields(5, "drama", "new", "cult"));
        c.Upsert("d", new[] { -1f, 0f }, ReadOnlySpan<float>.Empty, Fields(100, "comedy"));
        return c;
    }

    private static RankingQuery Query(float[] content, float[]? collab = null) => new(content, collab ?? Array.Empty<float>());

    [Fact]
    public void HybridScoreAndPartsAreHandComputed()
    {
        var cat = Small();
        var p = new RankingParameters { ContentWeight = 2f, CollabWeight = 0.5f, Boosts = new Dictionary<string, float> { ["popularity"] = 0.01f } };
        var result = HybridRanker.Rank(cat, Query(new[] { 1f, 0f }, new[] { 1f }), p, new CandidateSet(), 4);
        // a: 2·1 + 0.5·0.5 + 0.01·10 = 2.35; b: 2·0.6 + 0.5·2 + 0.01 = 2.21; c: 0 + 0.5 + 0.05 = 0.55; d: −2 + 0 + 1 = −1
        Assert.Equal(new[] { "a", "b", "c", "d" }, result.Select(r => r.Id));
        Assert.Equal(2.35f, result[0].Score, 5);
        Assert.Equal(2.21f, result[1].Score, 5);
        Assert.Equal(0.55f, result[2].Score, 5);
        Assert.Equal(-1f, result[3].Score, 5);
        Assert.Equal(2f, result[0].Parts.Content, 5);
        Assert.Equal(0.25f, result[0].Parts.Collab, 5);
        Assert.Equal(0.1f, result[0].Parts.BoostTotal, 5);
        Assert.Equal(0f, result[3].Parts.Collab); // d has no collab vector
        foreach (var r in result) Assert.Equal(r.Score, r.Parts.Content + r.Parts.Collab + r.Parts.BoostTotal, 5);
    }

    [Fact]
    public void TopKEqualsBruteForceSortWithTiesBrokenById()
    {
        var rng = new Random(7);
        var cat = new ItemCatalog(3, 0);
        int n = 500;
        var ids = Enumerable.Range(0, n).Select(i => $"item{rng.Next(100000):D6}-{i}").ToArray();
        var vectors = new float[n][];
        for (int i = 0; i < n; i++)
        {
            // Few distinct directions so many items tie exactly.
            vectors[i] = new[] { (float)rng.Next(0, 3), (float)rng.Next(0, 3), 1f };
            cat.Upsert(ids[i], vectors[i], ReadOnlySpan<float>.Empty, null);
        }
        var q = new[] { 0.6f, 0.8f, 0f };
        foreach (int k in new[] { 1, 7, 50, n, n + 10 })
        {
            var got = HybridRanker.Rank(cat, Query(q), RankingParameters.Default, new CandidateSet(), Math.Min(k, HybridRanker.MaxK)).Select(r => r.Id).ToArray();
            var expected = Enumerable.Range(0, n)
                .Select(i => (id: ids[i], score: Dot(q, Normalize(vectors[i]))))
                .OrderByDescending(x => x.score).ThenBy(x => x.id, StringComparer.Ordinal)
                .Take(k).Select(x => x.id).ToArray();
            Assert.Equal(expected, got);
        }
    }

    private static float[] Normalize(float[] v)
    {
        float n = MathF.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }

    private static float Dot(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

    [Fact]
    public void FiltersAndExclusionsRemoveItems()
    {
        var cat = Small();
        RankedItem[] Rank(CandidateSet set) => HybridRanker.Rank(cat, Query(new[] { 1f, 0f }), RankingParameters.Default, set, 10).ToArray();
        Assert.Equal(new[] { "a", "c" }, Rank(new CandidateSet { Filters = new[] { ItemFilter.Parse("genre=Drama") } }).Select(r => r.Id));
        Assert.Equal(new[] { "b", "c" }, Rank(new CandidateSet { Filters = new[] { ItemFilter.Parse("tags=new") } }).Select(r => r.Id));
        Assert.Equal(new[] { "a", "c" }, Rank(new CandidateSet { Filters = new[] { ItemFilter.Parse("popularity>=5"), ItemFilter.Parse("popularity<100") } }).Select(r => r.Id));
        cat.TryGetRow("a", out int rowA);
        Assert.Equal(new[] { "b", "c", "d" }, Rank(new CandidateSet { Excluded = new HashSet<int> { rowA } }).Select(r => r.Id));
        cat.TryGetRow("c", out int rowC);
        cat.TryGetRow("d", out int rowD);
        Assert.Equal(new[] { "c", "d" }, Rank(new CandidateSet { Rows = new[] { rowD, rowC } }).Select(r => r.Id));
        Assert.Throws<ArgumentException>(() => ItemFilter.Parse("popularity>=lots"));
        Assert.Throws<ArgumentException>(() => ItemFilter.Parse("nofilter"));
    }

    [Fact]
    public void DeletedItemsAreNotRankedAndCompactionKeepsTheRest()
    {
        var cat = Small();
        Assert.True(cat.Delete("a"));
        Assert.False(cat.Delete("a"));
        Assert.Equal(new[] { "b", "c", "d" }, HybridRanker.Rank(cat, Query(new[] { 1f, 0f }), RankingParameters.Default, new CandidateSet(), 10).Select(r => r.Id));
        cat.Compact();
        Assert.Equal(3, cat.RowCount);
        Assert.Equal(new[] { "b", "c", "d" }, HybridRanker.Rank(cat, Query(new[] { 1f, 0f }), RankingParameters.Default, new CandidateSet(), 10).Select(r => r.Id));
        Assert.True(cat.TryGetRow("c", out int row));
        Assert.Equal(new[] { 0f, 1f }, cat.Content(row).ToArray());
    }

    [Fact]
    public void MmrPicksTheDiverseItemOnAHandMadeExample()
    {
        // x1 and x2 are near-duplicates (both relevant); y is less relevant but orthogonal to them.
        var cat = new ItemCatalog(2, 0);
        cat.Upsert("x1", new[] { 1f, 0.05f }, ReadOnlySpan<float>.Empty, null);
        cat.Upsert("x2", new[] { 1f, 0.06f }, ReadOnlySpan<float>.Empty, null);
        cat.Upsert("y", new[] { 0.6f, 0.8f }, ReadOnlySpan<float>.Empty, null);
        cat.Upsert("z", new[] { -1f, 0f }, ReadOnlySpan<float>.Empty, null);
        var q = Query(new[] { 1f, 0f });
        var plain = HybridRanker.Rank(cat, q, RankingParameters.Default, new CandidateSet(), 2).Select(r => r.Id);
        Assert.Equal(new[] { "x1", "x2" }, plain);
        // λ = 0.5: after x1, rel(x2) ≈ 1, sim(x1, x2) ≈ 1 → 0.5·1 − 0.5·1 ≈ 0;
        // rel(y) = (0.6 + 1)/(1 + 1) ≈ 0.8 scaled, sim(x1, y) ≈ 0.64 → 0.5·0.8 − 0.5·0.64 ≈ 0.08 > 0: y wins.
        var diverse = HybridRanker.Rank(cat, q, new RankingParameters { Diversity = 0.5f }, new CandidateSet(), 2).Select(r => r.Id);
        Assert.Equal(new[] { "x1", "y" }, diverse);
        // λ = 0 through the MMR path is the relevance order.
        Assert.Equal(new[] { 0, 1 }, Mmr.Select([0.9f, 0.8f, 0.5f], [1f, 0.05f, 1f, 0.06f, 0.6f, 0.8f], 2, default, 2, 0f));
    }

    [Fact]
    public void MmrCentresSimilaritiesOnTheCatalogMean()
    {
        // Raw vectors lie in one narrow cone (raw cosines ≥ 0.98): at λ = 0.6 uncentred MMR keeps the relevance order
        // (after item 0, relevance min-max scaled to (1, 0.5, 0): item 1 scores 0.4·0.5 − 0.6·0.99995 ≈ −0.40, item 2
        // 0.4·0 − 0.6·0.98 ≈ −0.59). Around the mean (1, 0.1) items 0 and 1 point the same way (cosine 1) and item 2 the
        // opposite way (cosine −1, clamped to 0): item 1 scores −0.40, item 2 scores 0, so item 2 is picked.
        float[] vectors = [1f, 0.2f, 1f, 0.19f, 1f, 0f];
        float[] relevance = [1f, 0.95f, 0.9f];
        Assert.Equal(new[] { 0, 1 }, Mmr.Select(relevance, vectors, 2, default, 2, 0.6f));
        Assert.Equal(new[] { 0, 2 }, Mmr.Select(relevance, vectors, 2, [1f, 0.1f], 2, 0.6f));
    }

    [Fact]
    public void BadArgumentsAreClearErrors()
    {
        var cat = Small();
        var q = Query(new[] { 1f, 0f });
        Assert.Throws<ArgumentOutOfRangeException>(() => HybridRanker.Rank(cat, q, RankingParameters.Default, new CandidateSet(), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => HybridRanker.Rank(cat, q, RankingParameters.Default, new CandidateSet(), HybridRanker.MaxK + 1));
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => HybridRanker.Rank(cat, q, new RankingParameters { ContentWeight = float.NaN }, new CandidateSet(), 3)).Message);
        Assert.Contains("popularity", Assert.Throws<ArgumentException>(() => HybridRanker.Rank(cat, q,
            new RankingParameters { Boosts = new Dictionary<string, float> { ["popularity"] = float.PositiveInfinity } }, new CandidateSet(), 3)).Message);
        Assert.Contains("λ", Assert.Throws<ArgumentException>(() => HybridRanker.Rank(cat, q, new RankingParameters { Diversity = 1.5f }, new CandidateSet(), 3)).Message);
        Assert.Contains("dimensions", Assert.Throws<ArgumentException>(() => HybridRanker.Rank(cat, Query(new[] { 1f, 0f, 0f }), RankingParameters.Default, new CandidateSet(), 3)).Message);
    }
}
