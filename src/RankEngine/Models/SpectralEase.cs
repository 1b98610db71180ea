using RankEngine.Models.Linear;
using RankEngine.Ranking.Collaborative;

namespace RankEngine.Models;

/// <summary>
/// EASE (Steck 2019) in a form that scales: the item–item weights <c>B = I − P·diag(P)⁻¹</c> with
/// <c>P = (XᵀX + λI)⁻¹</c>, computed from the top-k eigenpairs <c>(V, Λ)</c> of the Gram matrix <c>G = XᵀX</c>
/// instead of an n × n inverse. With G ≈ VΛVᵀ, <c>P = (I − V·diag(w)·Vᵀ)/λ</c> where <c>w = Λ/(Λ + λ)</c>, so for an
/// item i the user has not seen (B's zero diagonal only touches seen items, which ranking excludes anyway):
/// <code>score(u, i) = Σ_j x_uj B_ji = (x_u·V·diag(w)/λ) · (V_i / P_ii),   P_ii = (1 − Σ_k V_ik² w_k)/λ</code>
/// — a dot product of a pooled user vector (the sum of the user's items' <see cref="Factors.Input"/> rows) with an
/// item vector (<see cref="Factors.Output"/>), which is what the catalog scorer computes. The eigenpairs come from a
/// randomized range finder with power iterations (Halko, Martinsson, Tropp 2011) over the sparse X, so memory and
/// time grow with items × k and events × k, never items². λ and the rank r ≤ k are chosen after the decomposition
/// (<see cref="FactorsFor"/>), which makes tuning them on validation nearly free.
/// </summary>
internal sealed class SpectralEase
{
    /// <summary>Items (model indexes) the decomposition covers.</summary>
    public int Items { get; }
    /// <summary>Eigenpairs kept (k).</summary>
    public int Rank { get; }
    /// <summary>Eigenvalues of XᵀX, descending (length k).</summary>
    public double[] EigenValues { get; }
    /// <summary>Eigenvectors, row-major items × k (row i holds item i's coordinates).</summary>
    public float[] EigenVectors { get; }

    private SpectralEase(int items, int rank, double[] values, float[] vectors)
    {
        Items = items;
        Rank = rank;
        EigenValues = values;
        EigenVectors = vectors;
    }

    /// <summary>Decomposes XᵀX for a users × items interaction matrix, keeping <paramref name="rank"/> eigenpairs.</summary>
    /// <param name="x">The users × items interaction matrix.</param>
    /// <param name="rank">Eigenpairs to keep.</param>
    /// <param name="seed">Seed of the random sketch.</param>
    /// <param name="oversampling">Extra sketch columns (accuracy of the last kept eigenpairs).</param>
    /// <param name="powerIterations">Power iterations (each multiplies by XᵀX once).</param>
    /// <param name="progress">Receives progress lines, or null.</param>
    public static SpectralEase Fit(InteractionMatrix x, int rank, int seed = 42, int oversampling = 16, int powerIterations = 3,
        Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        int n = x.Items;
        if (n == 0) throw new ArgumentException("the interaction matrix has no items");
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "rank must be positive");
        // XᵀX has rank at most min(users, items with an interaction): a wider sketch would hold exactly dependent
        // columns, which no orthonormalisation can make finite. A small store then gets a smaller model.
        int itemsWithEvents = 0;
        for (int i = 0; i < n; i++)
            if (!x.RowIndices(byUser: false, i).IsEmpty) itemsWithEvents++;
        int k = Math.Min(Math.Min(n, rank + oversampling), Math.Max(1, Math.Min(x.Users, itemsWithEvents)));
        var random = new Random(seed);
        var q = new float[n * k];
        for (int i = 0; i < q.Length; i++) q[i] = (float)Gaussian(random);
        progress?.Invoke("sketch");
        q = MultiplyGram(x, q, k);
        DenseOps.Orthonormalize(ref q, n, k);
        for (int it = 0; it < powerIterations; it++)
        {
            progress?.Invoke($"power iteration {it + 1}/{powerIterations}");
            q = MultiplyGram(x, q, k);
            DenseOps.Orthonormalize(ref q, n, k);
        }
        // T = Qᵀ G Q = (XQ)ᵀ(XQ): a k × k eigenproblem whose eigenvectors rotate Q onto G's eigenvectors.
        progress?.Invoke("eigen-decomposition");
        var z = MultiplyX(x, q, k);
        var t = DenseOps.Gram(z, x.Users, k);
        var (values, vectors) = DenseOps.SymmetricEigen(t, k);
        var v = DenseOps.MultiplySmall(q, n, k, vectors, k);
        int keep = Math.Min(rank, k);
        var kept = new float[n * keep];
        for (int i = 0; i < n; i++) v.AsSpan(i * k, keep).CopyTo(kept.AsSpan(i * keep, keep));
        var keptValues = new double[keep];
        for (int j = 0; j < keep; j++) keptValues[j] = Math.Max(0, values[j]);
        return new SpectralEase(n, keep, keptValues, kept);
    }

    /// <summary>The input and output item factors for regularisation λ and rank r (≤ <see cref="Rank"/>).</summary>
    public Factors FactorsFor(double lambda, int rank)
    {
        if (!(lambda > 0)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be positive");
        int r = Math.Clamp(rank, 1, Rank);
        var w = new double[r];
        for (int j = 0; j < r; j++) w[j] = EigenValues[j] / (EigenValues[j] + lambda);
        var input = new float[Items * r];
        var output = new float[Items * r];
        Parallel.For(0, Items, i =>
        {
            var row = EigenVectors.AsSpan(i * Rank, r);
            double shrunk = 0;
            for (int j = 0; j < r; j++) shrunk += row[j] * (double)row[j] * w[j];
            // P_ii·λ = 1 − Σ V²w ∈ (0, 1]; floored so an item fully inside the kept subspace stays finite.
            double pii = Math.Max(1 - shrunk, 1e-6) / lambda;
            for (int j = 0; j < r; j++)
            {
                input[i * r + j] = (float)(row[j] * w[j] / lambda);
                output[i * r + j] = (float)(row[j] / pii);
            }
        });
        return new Factors(Items, r, input, output);
    }

    /// <summary>Item factors of a pooled model: <c>score(u, i) = (Σ_j x_uj·Input_j) · Output_i</c>.</summary>
    public sealed record Factors(int Items, int Rank, float[] Input, float[] Output);

    /// <summary>Y = XᵀX·M for a row-major items × k matrix M (two sparse passes: by user, then by item).</summary>
    internal static float[] MultiplyGram(InteractionMatrix x, float[] m, int k) => MultiplyXTransposed(x, MultiplyX(x, m, k), k);

    /// <summary>Z = X·M: users × k.</summary>
    internal static float[] MultiplyX(InteractionMatrix x, float[] m, int k) => MultiplySparse(x, byUser: true, m, k);

    /// <summary>Y = Xᵀ·Z: items × k.</summary>
    internal static float[] MultiplyXTransposed(InteractionMatrix x, float[] z, int k) => MultiplySparse(x, byUser: false, z, k);

    /// <summary>Row r of the result = Σ over the non-zeros (r, c, v) of X (or Xᵀ) of v · M[c]; one row per task.</summary>
    private static float[] MultiplySparse(InteractionMatrix x, bool byUser, float[] m, int k)
    {
        int rows = byUser ? x.Users : x.Items;
        var result = new float[rows * k];
        Parallel.For(0, rows, r =>
        {
            var columns = x.RowIndices(byUser, r);
            var values = x.RowValues(byUser, r);
            var dst = result.AsSpan(r * k, k);
            for (int p = 0; p < columns.Length; p++)
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(m.AsSpan(columns[p] * k, k), values[p], dst, dst);
        });
        return result;
    }

    private static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
