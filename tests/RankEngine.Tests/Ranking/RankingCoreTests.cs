using RankEngine.Catalog;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Catalog;
using Xunit;

namespace RankEngine.Tests.Ranking;

/// <summary>Ranking through the one path (catalog shards → merge → MMR → parts) on small hand-made catalogs with hand-computed expectations.</summary>
public sealed class RankingCoreTests
{
    private static (string, FieldValue)[] Fields(double popularity, string genre, params string[] tags) =>
        [("popularity", FieldValue.Num(popularity)), ("genre", FieldValue.String(genre)), ("tags", FieldValue.Tags(tags))];

    /// <summary>Four items on the unit circle-ish in 2-D; collab in 1-D.</summary>
    private static ShardedCatalog Small(int shards = 1)
    {
        var c = new ShardedCatalog(CatalogKit.Schema(2, 1), shards);
        CatalogKit.Put(c, "a", [1f, 0f], [0.5f], Fields(10, "drama", "old"));
        CatalogKit.Put(c, "b", [0.6f, 0.8f], [2f], Fields(1, "comedy", "new"));
        CatalogKit.Put(c, "c", [0f, 1f], [1f], Fields(5, "drama", "new", "cult"));
        CatalogKit.Put(c, "d", [-1f, 0f], null, Fields(100, "comedy"));
        return c;
    }

    [Fact]
    public void HybridScoreAndPartsAreHandComputed()
    {
        var cat = Small();
        var p = new RankingParameters { ContentWeight = 2f, CollabWeight = 0.5f, Boosts = new Dictionary<string, float> { ["popularity"] = 0.01f } };
        var result = CatalogKit.Rank(cat, [1f, 0f], [1f], p, k: 4);
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
        var cat = new ShardedCatalog(CatalogKit.Schema(3, 0), 1);
        int n = 500;
        var ids = Enumerable.Range(0, n).Select(i => $"item{rng.Next(100000):D6}-{i}").ToArray();
        var vectors = new float[n][];
        for (int i = 0; i < n; i++)
        {
            // Few distinct directions so many items tie exactly.
            vectors[i] = new[] { (float)rng.Next(0, 3), (float)rng.Next(0, 3), 1f };
            CatalogKit.Put(cat, ids[i], vectors[i]);
        }
        var q = new[] { 0.6f, 0.8f, 0f };
        foreach (int k in new[] { 1, 7, 50, n, n + 10 })
        {
            var got = CatalogKit.Rank(cat, q, k: k).Select(r => r.Id).ToArray();
            var expected = Enumerable.Range(0, n)
                .Select(i => (id: ids[i], score: Dot(q, CatalogKit.Unit(vectors[i]))))
                .OrderByDescending(x => x.score).ThenBy(x => x.id, StringComparer.Ordinal)
                .Take(k).Select(x => x.id).ToArray();
            Assert.Equal(expected, got);
        }
    }

    private static float Dot(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.Dot(a, b);

    [Fact]
    public void FiltersAndExclusionsRemoveItems()
    {
        var cat = Small();
        string[] Rank(IReadOnlyList<ItemFilter>? filters = null, IReadOnlyList<string>? candidates = null, IReadOnlyCollection<string>? excluded = null) =>
            CatalogKit.Rank(cat, [1f, 0f], filters: filters, candidates: candidates, excluded: excluded).Select(r => r.Id).ToArray();
        Assert.Equal(new[] { "a", "c" }, Rank([ItemFilter.Parse("genre=Drama")]));
        Assert.Equal(new[] { "b", "c" }, Rank([ItemFilter.Parse("tags=new")]));
        Assert.Equal(new[] { "a", "c" }, Rank([ItemFilter.Parse("popularity>=5"), ItemFilter.Parse("popularity<100")]));
        Assert.Empty(Rank([ItemFilter.Parse("nosuchfield>=1")]));
        Assert.Empty(Rank([ItemFilter.Parse("genre=western")]));
        Assert.Equal(new[] { "b", "c", "d" }, Rank(excluded: ["a"]));
        Assert.Equal(new[] { "c", "d" }, Rank(candidates: ["d", "c", "c", "unknown"]));
        Assert.Equal(new[] { "c" }, Rank(candidates: ["d", "c"], filters: [ItemFilter.Parse("genre=drama")]));
        Assert.Throws<ArgumentException>(() => ItemFilter.Parse("popularity>=lots"));
        Assert.Throws<ArgumentException>(() => ItemFilter.Parse("nofilter"));
    }

    [Fact]
    public void DeletedAndReplacedItemsAreNotRankedAndCompactionKeepsTheRest()
    {
        var cat = Small();
        Assert.True(cat.Remove("a"));
        Assert.False(cat.Remove("a"));
        Assert.Equal(new[] { "b", "c", "d" }, CatalogKit.Rank(cat, [1f, 0f]).Select(r => r.Id));
        // A replaced item shows only its new vector: c now points along x and leads.
        CatalogKit.Put(cat, "c", [1f, 0f], [1f], Fields(5, "drama"));
        var before = cat.Snapshot();
        Assert.Equal(new[] { "c", "b", "d" }, CatalogKit.Rank(cat, [1f, 0f]).Select(r => r.Id));
        Assert.Equal(2, cat.Compact());
        Assert.Equal(3, cat.RowCount);
        Assert.Equal(new[] { "c", "b", "d" }, CatalogKit.Rank(cat, [1f, 0f]).Select(r => r.Id));
        Assert.True(cat.Snapshot().TryGetRow("c", out int shard, out int row));
        Assert.Equal(new[] { 1f, 0f }, cat.Snapshot().Shards[shard].Vector(0, row).ToArray());
        // A snapshot taken before the compaction still ranks what it saw.
        Assert.Equal(new[] { "c", "b", "d" }, CatalogKit.Rank(cat, [1f, 0f], snapshot: before).Select(r => r.Id));
        Assert.Equal(0, cat.Compact());
    }

    [Fact]
    public void MmrPicksTheDiverseItemOnAHandMadeExample()
    {
        // x1 and x2 are near-duplicates (both relevant); y is less relevant but orthogonal to them.
        var cat = new ShardedCatalog(CatalogKit.Schema(2, 0), 1);
        CatalogKit.Put(cat, "x1", [1f, 0.05f]);
        CatalogKit.Put(cat, "x2", [1f, 0.06f]);
        CatalogKit.Put(cat, "y", [0.6f, 0.8f]);
        CatalogKit.Put(cat, "z", [-1f, 0f]);
        var plain = CatalogKit.Rank(cat, [1f, 0f], k: 2).Select(r => r.Id);
        Assert.Equal(new[] { "x1", "x2" }, plain);
        // λ = 0.5: after x1, rel(x2) ≈ 1, sim(x1, x2) ≈ 1 → 0.5·1 − 0.5·1 ≈ 0;
        // rel(y) = (0.6 + 1)/(1 + 1) ≈ 0.8 scaled, sim(x1, y) ≈ 0.64 → 0.5·0.8 − 0.5·0.64 ≈ 0.08 > 0: y wins.
        var diverse = CatalogKit.Rank(cat, [1f, 0f], p: new RankingParameters { Diversity = 0.5f }, k: 2).Select(r => r.Id);
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
    public void AQueryOfTheWrongWidthIsAClearError()
    {
        var cat = Small();
        Assert.Contains("dimensions", Assert.Throws<ArgumentException>(() => CatalogKit.Rank(cat, [1f, 0f, 0f])).Message);
        Assert.Contains("dimensions", Assert.Throws<ArgumentException>(() => CatalogKit.Rank(cat, [1f, 0f], [1f, 2f])).Message);
    }
}

/// <summary>How a request is personalised when the trained defaults weigh the profile's content at 0.</summary>
public sealed class RankStrategyChooserTests
{
    private static readonly float[] Query = [0f, 1f];

    [Fact]
    public void A_query_counts_even_when_the_tuned_content_weight_is_zero_unless_the_request_sets_it()
    {
        var tuned = new RankingParameters { ContentWeight = 0, CollabWeight = 1 };
        var cold = RankStrategyChooser.Choose(null, false, null, null, null, Query, tuned);
        Assert.Equal(RankStrategy.QueryOnly, cold.Strategy);
        Assert.Equal(1f, cold.Parameters.ContentWeight);
        Assert.Equal(Query, cold.Content);
        var personal = RankStrategyChooser.Choose("u", true, null, null, [0.5f], Query, tuned);
        Assert.Equal(RankStrategy.Personalized, personal.Strategy);
        Assert.Equal(1f, personal.Parameters.ContentWeight);
        // Asked for explicitly, a weight of 0 stays 0; without a query the tuned 0 stays too.
        Assert.Equal(0f, RankStrategyChooser.Choose(null, false, null, null, null, Query, tuned, contentWeightGiven: true).Parameters.ContentWeight);
        Assert.Equal(0f, RankStrategyChooser.Choose("u", true, null, null, [0.5f], null, tuned).Parameters.ContentWeight);
        // Cold start without a query: popularity.
        var popular = RankStrategyChooser.Choose("x", false, null, null, null, null, tuned);
        Assert.Equal(RankStrategy.Popularity, popular.Strategy);
        Assert.Equal(1f, popular.Parameters.Boosts["popularity"]);
        Assert.Contains("unknown user 'x'", popular.Explanation);
    }
}
