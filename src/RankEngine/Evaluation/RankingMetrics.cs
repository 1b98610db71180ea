using System.Numerics.Tensors;
using RankEngine.Ranking;

namespace RankEngine.Evaluation;

/// <summary>
/// Top-k quality measures for one ranked list against the user's held-out relevant items (binary relevance), and
/// list-level diversity/coverage. A ranked list holds distinct item rows, best first; only its first k entries count.
/// </summary>
internal static class RankingMetrics
{
    /// <summary>HR@k: 1 when at least one relevant item is in the top k, else 0.</summary>
    public static double HitRate(ReadOnlySpan<int> ranked, IReadOnlySet<int> relevant, int k) =>
        Hits(ranked, relevant, k) > 0 ? 1 : 0;

    /// <summary>Recall@k: relevant items in the top k divided by the number of relevant items.</summary>
    public static double Recall(ReadOnlySpan<int> ranked, IReadOnlySet<int> relevant, int k) =>
        (double)Hits(ranked, relevant, k) / CheckRelevant(relevant);

    /// <summary>
    /// NDCG@k with binary relevance: DCG = Σ_{r ≤ k, item r relevant} 1 / log2(r + 1) (r from 1), divided by the
    /// ideal DCG of min(k, |relevant|) relevant items at the top.
    /// </summary>
    public static double Ndcg(ReadOnlySpan<int> ranked, IReadOnlySet<int> relevant, int k)
    {
        int n = CheckRelevant(relevant);
        CheckK(k);
        CheckDistinct(ranked, k);
        double dcg = 0, ideal = 0;
        int top = Math.Min(k, ranked.Length);
        for (int r = 0; r < top; r++)
            if (relevant.Contains(ranked[r])) dcg += 1 / Math.Log2(r + 2);
        for (int r = 0; r < Math.Min(k, n); r++) ideal += 1 / Math.Log2(r + 2);
        return dcg / ideal;
    }

    /// <summary>
    /// Intra-list diversity over a row-major content matrix: the mean over pairs of the top k of 1 − cosine of the
    /// items' vectors (0 for lists shorter than 2).
    /// </summary>
    public static double ContentDiversity(ReadOnlySpan<int> ranked, ReadOnlySpan<float> content, int dimension, int k)
    {
        CheckK(k);
        int top = Math.Min(k, ranked.Length);
        double sum = 0;
        int pairs = 0;
        for (int a = 0; a < top; a++)
            for (int b = a + 1; b < top; b++)
            {
                sum += 1 - Cosine(content.Slice(ranked[a] * dimension, dimension), content.Slice(ranked[b] * dimension, dimension));
                pairs++;
            }
        return pairs == 0 ? 0 : sum / pairs;
    }

    /// <summary>
    /// Intra-list diversity of what a person sees: the mean over pairs of the top k of 1 − Jaccard of the items' tag
    /// sets (genres); two items that both have no tags count as alike (0). 0 for lists shorter than 2.
    /// </summary>
    public static double TagDiversity(ReadOnlySpan<int> ranked, IReadOnlyList<IReadOnlyList<string>?> tags, int k)
    {
        CheckK(k);
        int top = Math.Min(k, ranked.Length);
        double sum = 0;
        int pairs = 0;
        for (int a = 0; a < top; a++)
            for (int b = a + 1; b < top; b++)
            {
                var x = tags[ranked[a]];
                var y = tags[ranked[b]];
                bool bothEmpty = (x?.Count ?? 0) == 0 && (y?.Count ?? 0) == 0;
                sum += bothEmpty ? 0 : 1 - Mmr.Jaccard(x, y);
                pairs++;
            }
        return pairs == 0 ? 0 : sum / pairs;
    }

    /// <summary>Catalog coverage: distinct items appearing in the top k of any list, divided by the catalog size.</summary>
    public static double CatalogCoverage(IEnumerable<int[]> lists, int catalogSize, int k)
    {
        if (catalogSize <= 0) throw new ArgumentOutOfRangeException(nameof(catalogSize), "the catalog is empty");
        CheckK(k);
        var seen = new HashSet<int>();
        foreach (var list in lists)
            for (int r = 0; r < Math.Min(k, list.Length); r++) seen.Add(list[r]);
        return (double)seen.Count / catalogSize;
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double na = TensorPrimitives.Norm(a), nb = TensorPrimitives.Norm(b);
        if (na == 0 || nb == 0) return 0; // a zero vector is similar to nothing
        return TensorPrimitives.Dot(a, b) / (na * nb);
    }

    private static int Hits(ReadOnlySpan<int> ranked, IReadOnlySet<int> relevant, int k)
    {
        CheckRelevant(relevant);
        CheckK(k);
        CheckDistinct(ranked, k);
        int hits = 0;
        for (int r = 0; r < Math.Min(k, ranked.Length); r++)
            if (relevant.Contains(ranked[r])) hits++;
        return hits;
    }

    private static int CheckRelevant(IReadOnlySet<int> relevant)
    {
        ArgumentNullException.ThrowIfNull(relevant);
        if (relevant.Count == 0) throw new ArgumentException("a user with no relevant items cannot be evaluated");
        return relevant.Count;
    }

    private static void CheckK(int k)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive");
    }

    private static void CheckDistinct(ReadOnlySpan<int> ranked, int k)
    {
        int top = Math.Min(k, ranked.Length);
        for (int a = 1; a < top; a++)
            for (int b = 0; b < a; b++)
                if (ranked[a] == ranked[b]) throw new ArgumentException($"item {ranked[a]} appears twice in the ranked list (positions {b + 1} and {a + 1})");
    }
}
