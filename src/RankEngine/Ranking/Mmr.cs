using System.Numerics.Tensors;

namespace RankEngine.Ranking;

/// <summary>
/// Maximal marginal relevance: greedily picks the item maximising <c>(1 − λ)·rel − λ·max_j sim(i, j)</c> over the
/// items j already picked, where rel is the pool's relevance min-max scaled to [0, 1] and sim is the cosine of the
/// items' content vectors after subtracting the catalog's mean content vector (raw encoder vectors of short texts
/// all point into one narrow cone, so their raw cosines are 0.85–0.9 for everything and MMR could not tell similar
/// from different), clamped at 0: an opposite item is "not similar", never a bonus. λ = 0 keeps the relevance order.
/// Non-finite relevance (which validation prevents) counts as the pool's minimum.
/// </summary>
internal static class Mmr
{
    /// <summary>Re-ranks a pool in relevance order; returns pool indexes of the chosen items, best first.</summary>
    /// <param name="relevance">Pool relevance, descending.</param>
    /// <param name="vectors">Pool content vectors, row-major pool × dimension (empty rows allowed: similarity 0).</param>
    /// <param name="dimension">Width of each content vector.</param>
    /// <param name="centre">Vector subtracted before the cosine (empty: none).</param>
    /// <param name="k">How many items to choose.</param>
    /// <param name="lambda">MMR λ in [0, 1]: 0 is relevance only, larger trades relevance for diversity.</param>
    /// <param name="tags">Per pool item, its tag set in the catalog's main tag field (genres, categories), or null: the
    /// similarity is then the larger of the centred content cosine and the tags' Jaccard index, so lists differ in what
    /// a person sees as well as in text.</param>
    public static int[] Select(ReadOnlySpan<float> relevance, ReadOnlySpan<float> vectors, int dimension, ReadOnlySpan<float> centre, int k, float lambda,
        IReadOnlyList<IReadOnlyList<string>?>? tags = null)
    {
        int n = relevance.Length, take = Math.Min(k, n);
        var result = new int[take];
        if (take == 0) return result;
        float max = float.NegativeInfinity, min = float.PositiveInfinity;
        foreach (float s in relevance)
            if (float.IsFinite(s)) { max = Math.Max(max, s); min = Math.Min(min, s); }
        if (!float.IsFinite(max)) { max = 0; min = 0; }
        float range = max - min;
        var unit = new float[n * dimension];
        var hasVector = new bool[n];
        for (int i = 0; i < n; i++)
        {
            var src = vectors.Slice(i * dimension, dimension);
            var dst = unit.AsSpan(i * dimension, dimension);
            if (centre.Length == dimension) TensorPrimitives.Subtract(src, centre, dst);
            else src.CopyTo(dst);
            float norm = TensorPrimitives.Norm(dst);
            if (norm > 1e-12f && float.IsFinite(norm)) { TensorPrimitives.Multiply(dst, 1f / norm, dst); hasVector[i] = true; }
            else dst.Clear();
        }
        var rel = new float[n];
        for (int i = 0; i < n; i++)
            rel[i] = !float.IsFinite(relevance[i]) ? 0f : range > 0 ? (relevance[i] - min) / range : 1f;
        var maxSim = new float[n];
        var used = new bool[n];
        for (int t = 0; t < take; t++)
        {
            int best = -1;
            float bestValue = float.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                if (used[i]) continue;
                float value = (1 - lambda) * rel[i] - lambda * maxSim[i];
                if (best < 0 || value > bestValue) { bestValue = value; best = i; } // pool order breaks ties
            }
            used[best] = true;
            result[t] = best;
            if (!hasVector[best] && tags is null) continue;
            var chosen = unit.AsSpan(best * dimension, dimension);
            for (int i = 0; i < n; i++)
            {
                if (used[i] || (!hasVector[i] && tags is null)) continue;
                float sim = Math.Max(0f, TensorPrimitives.Dot(chosen, unit.AsSpan(i * dimension, dimension)));
                if (tags is not null) sim = Math.Max(sim, Jaccard(tags[best], tags[i]));
                if (sim > maxSim[i]) maxSim[i] = sim;
            }
        }
        return result;
    }

    /// <summary>|a ∩ b| / |a ∪ b| of two small tag sets (0 when either is missing or both are empty).</summary>
    public static float Jaccard(IReadOnlyList<string>? a, IReadOnlyList<string>? b)
    {
        if (a is null || b is null || a.Count + b.Count == 0) return 0f;
        int common = 0;
        foreach (var x in a)
            foreach (var y in b)
                if (string.Equals(x, y, StringComparison.Ordinal)) { common++; break; }
        return (float)common / (a.Count + b.Count - common);
    }

    /// <summary>Pool size MMR re-ranks for a list of k: enough alternatives to diversify, bounded so cost stays predictable.</summary>
    public static int PoolSize(int k) => Math.Min(Math.Max(4 * k, k + 50), Math.Max(k, 2048));
}
