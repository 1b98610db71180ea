using RankEngine.Compute;
using RankEngine.Compute.Ilgpu;
using RankEngine.Compute.Simd;
using RankEngine.Model;
using Xunit;

namespace RankEngine.Tests.Kernels;

/// <summary>
/// Scoring and top-k of the SIMD backend and of the ILGPU kernels (CPU accelerator) against a brute-force sort.
/// Vectors hold small integers so every dot product is exact in float32 whatever the summation order: results must
/// then match the brute force exactly, ties included (broken by the lower row), which is what makes tie handling
/// testable. The ILGPU launcher is configured with tiny chunks and score tiles so that many block selections, several
/// tiles and the merge all run even on these small catalogs.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class TopKTests : IDisposable
{
    private readonly IlgpuBackend _gpu;
    private readonly SimdCpuBackend _simd = new();

    public TopKTests(IlgpuCpuFixture fixture)
    {
        _gpu = fixture.Backend;
        _gpu.Kernels.TopK.ChunkRows = 64;
        _gpu.Kernels.TopK.ScoreTileElements = 700;
    }

    public static TheoryData<string> Backends => new() { "simd", "ilgpu-cpu" };

    private IScoringBackend Backend(string name) => name == "simd" ? _simd : _gpu;

    /// <summary>Integers in [-range, range]: exact dot products; a small range makes many ties.</summary>
    private static float[] Ints(int count, int seed, int range)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = rng.Next(-range, range + 1);
        return v;
    }

    private static float[] BruteScores(float[] queries, float[] catalog, int dim)
    {
        int q = queries.Length / dim, n = catalog.Length / dim;
        var s = new float[q * n];
        for (int j = 0; j < q; j++)
            for (int r = 0; r < n; r++)
            {
                double acc = 0;
                for (int c = 0; c < dim; c++) acc += (double)queries[j * dim + c] * catalog[r * dim + c];
                s[j * n + r] = (float)acc;
            }
        return s;
    }

    /// <summary>Full sort by (score desc, row asc), first k, padded with −1 / −∞.</summary>
    private static (int[] Ids, float[] Scores) BruteTopK(float[] queries, float[] catalog, int dim, int k)
    {
        int q = queries.Length / dim, n = catalog.Length / dim;
        var all = BruteScores(queries, catalog, dim);
        var ids = new int[q * k];
        var scores = new float[q * k];
        for (int j = 0; j < q; j++)
        {
            var order = Enumerable.Range(0, n).OrderByDescending(r => all[j * n + r]).ThenBy(r => r).ToArray();
            for (int i = 0; i < k; i++)
            {
                ids[j * k + i] = i < n ? order[i] : -1;
                scores[j * k + i] = i < n ? all[j * n + order[i]] : float.NegativeInfinity;
            }
        }
        return (ids, scores);
    }

    private static void AssertSameTopK((int[] Ids, float[] Scores) expected, int[] ids, float[] scores, string what)
    {
        for (int i = 0; i < expected.Ids.Length; i++)
        {
            Assert.True(expected.Ids[i] == ids[i] && expected.Scores[i].Equals(scores[i]),
                $"{what}: entry {i}: expected row {expected.Ids[i]} score {expected.Scores[i]}, got row {ids[i]} score {scores[i]}");
        }
    }

    private void RunCase(string backend, int rows, int dim, int queries, int k, int range, TensorType storage, int seed)
    {
        var be = Backend(backend);
        var catalogValues = Ints(rows * dim, seed, range);
        var queryValues = Ints(queries * dim, seed + 1, range);
        using var catalog = be.CreateCatalog(dim, rows + 5, storage);
        catalog.Upload(catalogValues);
        Assert.Equal(rows, catalog.Count);
        var ids = new int[queries * k];
        var scores = new float[queries * k];
        be.TopK(queryValues, catalog, k, ids, scores);
        AssertSameTopK(BruteTopK(queryValues, catalogValues, dim, k), ids, scores, $"{backend} n={rows} d={dim} q={queries} k={k} {storage}");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void TopKMatchesBruteForceOnOddShapes(string backend)
    {
        RunCase(backend, rows: 301, dim: 13, queries: 3, k: 10, range: 4, TensorType.F32, seed: 1);
        RunCase(backend, rows: 150, dim: 7, queries: 5, k: 1, range: 3, TensorType.F32, seed: 2); // 5 queries: the GEMM path on SIMD
    }

    [Fact]
    public void IlgpuSelectionWithWiderGroups()
    {
        int saved = _gpu.Kernels.ReductionGroupSize;
        try
        {
            _gpu.Kernels.ReductionGroupSize = 16; // bitonic steps with several pairs per thread and more threads per step
            RunCase("ilgpu-cpu", rows: 500, dim: 5, queries: 2, k: 100, range: 2, TensorType.F32, seed: 22);
        }
        finally
        {
            _gpu.Kernels.ReductionGroupSize = saved;
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void HeavyTiesAreBrokenByLowerRow(string backend)
    {
        // Values in {-1, 0, 1} over 3 dimensions: only 7 distinct scores for 400 rows.
        RunCase(backend, rows: 400, dim: 3, queries: 2, k: 37, range: 1, TensorType.F32, seed: 3);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void KEqualToAndAboveTheRowCount(string backend)
    {
        RunCase(backend, rows: 37, dim: 5, queries: 2, k: 37, range: 5, TensorType.F32, seed: 4);
        RunCase(backend, rows: 37, dim: 5, queries: 2, k: 50, range: 5, TensorType.F32, seed: 5); // tail padded with −1 / −∞
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Fp16CatalogGivesTheSameExactResults(string backend)
    {
        RunCase(backend, rows: 200, dim: 9, queries: 4, k: 16, range: 8, TensorType.F16, seed: 6); // small ints are exact in fp16
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void LargestKOf4096(string backend)
    {
        // k = 4,096 takes the ILGPU global-workspace selection path.
        RunCase(backend, rows: 4500, dim: 4, queries: 1, k: 4096, range: 6, TensorType.F32, seed: 7);
    }

    [Fact]
    public void SimdLargeCatalogAllPathsMatchBruteForce()
    {
        // Enough rows for several parallel tasks (per-task heaps merged at the end), 1 query (dot loop) and 9 (GEMM).
        RunCase("simd", rows: 70_001, dim: 24, queries: 1, k: 100, range: 3, TensorType.F32, seed: 8);
        RunCase("simd", rows: 70_001, dim: 24, queries: 9, k: 100, range: 3, TensorType.F16, seed: 9);
        RunCase("simd", rows: 40_000, dim: 3, queries: 2, k: 4096, range: 2, TensorType.F32, seed: 10);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ScoreMatrixMatchesBruteForce(string backend)
    {
        var be = Backend(backend);
        const int rows = 77, dim = 11, q = 6;
        var c = Ints(rows * dim, 11, 9);
        var qs = Ints(q * dim, 12, 9);
        using var catalog = be.CreateCatalog(dim, rows);
        catalog.Upload(c);
        var scores = new float[q * rows];
        be.Score(qs, catalog, scores);
        Assert.Equal(BruteScores(qs, c, dim), scores);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void IncrementalUpdatesAndAppendsAreSeen(string backend)
    {
        var be = Backend(backend);
        const int dim = 6, k = 8;
        var values = Ints(50 * dim, 13, 5);
        using var catalog = be.CreateCatalog(dim, 60, TensorType.F32);
        catalog.Upload(values);
        // Overwrite rows 3 and 40 (row 3 twice: the last write wins), append rows 50 and 51.
        var update = Ints(5 * dim, 14, 9);
        int[] rows = { 3, 40, 50, 3, 51 };
        catalog.UpdateRows(rows, update);
        Assert.Equal(52, catalog.Count);
        var host = new float[52 * dim];
        values.CopyTo(host, 0);
        for (int i = 0; i < rows.Length; i++) update.AsSpan(i * dim, dim).CopyTo(host.AsSpan(rows[i] * dim));
        var q = Ints(2 * dim, 15, 5);
        var ids = new int[2 * k];
        var scores = new float[2 * k];
        be.TopK(q, catalog, k, ids, scores);
        AssertSameTopK(BruteTopK(q, host, dim, k), ids, scores, $"{backend} after update");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void NonFiniteValuesAndBadArgumentsAreRejectedBeforeUpload(string backend)
    {
        var be = Backend(backend);
        const int dim = 4;
        using var catalog = be.CreateCatalog(dim, 10);
        catalog.Upload(Ints(5 * dim, 16, 3));
        var before = new int[3];
        var beforeScores = new float[3];
        var q = Ints(dim, 17, 3);
        be.TopK(q, catalog, 3, before, beforeScores);

        var bad = Ints(2 * dim, 18, 3);
        bad[6] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => catalog.Upload(bad));
        Assert.Contains("row 1, column 2", e.Message);
        bad[6] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => catalog.UpdateRows(new[] { 0, 1 }, bad));
        Assert.Throws<ArgumentException>(() => catalog.UpdateRows(new[] { 7 }, Ints(dim, 19, 3))); // a hole after row 4
        Assert.Throws<ArgumentException>(() => catalog.UpdateRows(new[] { 0 }, Ints(dim + 1, 19, 3)));
        Assert.Throws<ArgumentException>(() => catalog.Upload(Ints(11 * dim, 20, 3))); // above capacity
        var nanQuery = (float[])q.Clone();
        nanQuery[0] = float.NaN;
        Assert.Throws<ArgumentException>(() => be.TopK(nanQuery, catalog, 3, before, beforeScores));
        Assert.Throws<ArgumentOutOfRangeException>(() => be.TopK(q, catalog, 0, before, beforeScores));
        Assert.Throws<ArgumentOutOfRangeException>(() => be.TopK(q, catalog, 4097, new int[4097], new float[4097]));
        Assert.Throws<ArgumentException>(() => be.TopK(q, catalog, 3, new int[2], new float[3]));

        // Nothing changed: same count, same answer.
        Assert.Equal(5, catalog.Count);
        var after = new int[3];
        var afterScores = new float[3];
        be.TopK(q, catalog, 3, after, afterScores);
        Assert.Equal(before, after);
        Assert.Equal(beforeScores, afterScores);
    }

    [Fact]
    public void RealValuedScoresAgreeAcrossBackends()
    {
        // Random floats: scores differ in the last bits between summation orders; ids must agree wherever the
        // score gap to the neighbour is clearly above that noise.
        const int rows = 500, dim = 40, q = 2, k = 20;
        var rng = new Random(21);
        var c = new float[rows * dim];
        var qs = new float[q * dim];
        for (int i = 0; i < c.Length; i++) c[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < qs.Length; i++) qs[i] = (float)(rng.NextDouble() * 2 - 1);
        var expected = BruteTopK(qs, c, dim, k);
        foreach (var name in new[] { "simd", "ilgpu-cpu" })
        {
            var be = Backend(name);
            using var catalog = be.CreateCatalog(dim, rows);
            catalog.Upload(c);
            var ids = new int[q * k];
            var scores = new float[q * k];
            be.TopK(qs, catalog, k, ids, scores);
            for (int i = 0; i < q * k; i++)
            {
                Assert.True(Math.Abs(expected.Scores[i] - scores[i]) <= 1e-5f, $"{name}: score {i}: {scores[i]} vs {expected.Scores[i]}");
                Assert.Equal(expected.Ids[i], ids[i]);
            }
        }
    }

    [Fact]
    public void KeysOrderByScoreThenLowerRow()
    {
        // Hand-checked: a higher score wins; equal scores prefer the lower row; −0 and +0 are one score apart in bits
        // but both sort above negatives and below positives.
        Assert.True(ScoreKeys.Encode(1f, 5) > ScoreKeys.Encode(0.5f, 0));
        Assert.True(ScoreKeys.Encode(0.5f, 2) > ScoreKeys.Encode(0.5f, 3));
        Assert.True(ScoreKeys.Encode(-1f, 0) > ScoreKeys.Encode(-2f, 0));
        Assert.True(ScoreKeys.Encode(float.NegativeInfinity, int.MaxValue) > ScoreKeys.Empty);
        Assert.True(ScoreKeys.Encode(0f, 0) > ScoreKeys.Encode(-1e-30f, 0));
        foreach (float s in new[] { -3.5f, -0f, 0f, 1e-38f, 7f, float.MaxValue, float.NegativeInfinity })
        {
            ulong key = ScoreKeys.Encode(s, 123);
            Assert.Equal(BitConverter.SingleToInt32Bits(s), BitConverter.SingleToInt32Bits(ScoreKeys.Score(key)));
            Assert.Equal(123, ScoreKeys.Row(key));
            Assert.Equal(key, RankEngine.Kernels.TopK.Encode(s, 123)); // the device encoding is the same
        }
        Assert.Equal(-1, ScoreKeys.Row(ScoreKeys.Empty));
    }

    public void Dispose() => _simd.Dispose();
}
