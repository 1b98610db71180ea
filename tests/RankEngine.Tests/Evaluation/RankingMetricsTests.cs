using RankEngine.Evaluation;
using RankEngine.Ranking;
using Xunit;

namespace RankEngine.Tests.Evaluation;

/// <summary>Metrics on hand-computed lists (values computed with Python's math module, see comments).</summary>
public sealed class RankingMetricsTests
{
    private static readonly HashSet<int> Relevant = new() { 1, 3, 9 };

    [Fact]
    public void NdcgMatchesHandComputedValues()
    {
        // Hits at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5) = 1.0616063; ideal of min(4, 3) = 3 hits:
        // 1 + 1/log2(3) + 1/log2(4) = 2.1309298; NDCG = 0.4981893.
        Assert.Equal(0.49818925746641285, RankingMetrics.Ndcg(new[] { 5, 1, 7, 3 }, Relevant, 4), 12);
        // k = 2: only the hit at rank 2 counts; ideal of min(2, 3) = 2 hits: 0.6309298 / 1.6309298 = 0.3868528.
        Assert.Equal(0.38685280723454163, RankingMetrics.Ndcg(new[] { 5, 1, 7, 3 }, Relevant, 2), 12);
        Assert.Equal(1.0, RankingMetrics.Ndcg(new[] { 9, 3, 1, 4 }, Relevant, 10), 12); // all relevant on top, in any order
        Assert.Equal(1.0, RankingMetrics.Ndcg(new[] { 3, 2 }, Relevant, 1), 12);         // ideal over min(k, 3) = 1
        Assert.Equal(0.0, RankingMetrics.Ndcg(new[] { 4, 5, 6 }, Relevant, 3));
    }

    [Fact]
    public void HitRateAndRecallCountTheTopK()
    {
        int[] list = { 5, 1, 7, 3 };
        Assert.Equal(1.0, RankingMetrics.HitRate(list, Relevant, 4));
        Assert.Equal(1.0, RankingMetrics.HitRate(list, Relevant, 2));
        Assert.Equal(0.0, RankingMetrics.HitRate(list, Relevant, 1));
        Assert.Equal(2.0 / 3, RankingMetrics.Recall(list, Relevant, 4), 12);
        Assert.Equal(1.0 / 3, RankingMetrics.Recall(list, Relevant, 3), 12);
        Assert.Equal(0.0, RankingMetrics.Recall(list, Relevant, 1));
        Assert.Equal(2.0 / 3, RankingMetrics.Recall(list, Relevant, 100), 12); // a short list is fine
    }

    [Fact]
    public void ContentDiversityIsTheMeanPairwiseCosineDistance()
    {
        // Rows a = (1, 0), b = (0, 3) (cosine ignores length), c = (1, 1), e = (2, 0) (the same direction as a).
        float[] content = [1f, 0f, 0f, 3f, 1f, 1f, 2f, 0f];
        // Pairs: (a,b) 1 − 0, (a,c) 1 − 1/√2, (b,c) 1 − 1/√2 → (1 + 2(1 − 0.7071068)) / 3 = 0.5285955.
        Assert.Equal(0.5285954792089683, RankingMetrics.ContentDiversity([0, 1, 2], content, 2, 10), 6);
        Assert.Equal(1.0, RankingMetrics.ContentDiversity([0, 1, 2], content, 2, 2), 6);
        Assert.Equal(0.0, RankingMetrics.ContentDiversity([0, 3], content, 2, 10), 6);
    }

    [Fact]
    public void CoverageCountsDistinctItemsInTheTopK()
    {
        var lists = new[] { new[] { 0, 1, 5 }, new[] { 1, 2, 6 } };
        Assert.Equal(5.0 / 10, RankingMetrics.CatalogCoverage(lists, 10, 3), 12); // {0, 1, 2, 5, 6}
        Assert.Equal(3.0 / 10, RankingMetrics.CatalogCoverage(lists, 10, 2), 12); // {0, 1, 2}
        Assert.Equal(2.0 / 10, RankingMetrics.CatalogCoverage(lists, 10, 1), 12); // {0, 1}
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        Assert.Contains("no relevant items", Assert.Throws<ArgumentException>(() => RankingMetrics.Ndcg(new[] { 1 }, new HashSet<int>(), 10)).Message);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => RankingMetrics.Ndcg(new[] { 1, 2, 1 }, Relevant, 10)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => RankingMetrics.HitRate(new[] { 1 }, Relevant, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RankingMetrics.CatalogCoverage(Array.Empty<int[]>(), 0, 10));
    }
}
