using RankEngine.Catalog;
using RankEngine.Compute.Simd;
using RankEngine.Ranking;
using RankEngine.Store;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Catalog;

/// <summary>
/// The int8 first pass of a catalog scan: every kernel the CPU has against the scalar reference on hand-made and
/// random cases, the quantisers on hand-computed values, and the recall of int8 + exact re-scoring against fp32.
/// </summary>
public class QuantizedScanTests(ITestOutputHelper output)
{
    private static readonly Int8Kernel[] Kernels = [Int8Kernel.AvxVnni, Int8Kernel.Avx512BW, Int8Kernel.Avx2];

    private static unsafe int[] Run(Int8Kernel kernel, byte[] query, sbyte[] rows, int stride, int n)
    {
        var result = new int[n];
        fixed (byte* q = query)
        fixed (sbyte* r = rows)
        fixed (int* o = result)
            Int8Dots.DotRows(kernel, q, r, stride, n, o);
        return result;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(384)]
    public void Every_kernel_equals_the_scalar_reference_including_the_extremes(int dimension)
    {
        int stride = Int8Dots.Stride(dimension);
        Assert.Equal(0, stride % 64);
        var random = new Random(dimension);
        const int n = 7;
        var query = new byte[stride];
        var rows = new sbyte[n * stride];
        for (int j = 0; j < dimension; j++) query[j] = (byte)(j % 3 == 0 ? 127 : random.Next(0, 128));
        for (int j = 0; j < dimension; j++)
        {
            rows[0 * stride + j] = 127;                                 // the largest products: 127 · 127 everywhere
            rows[1 * stride + j] = -127;
            rows[2 * stride + j] = 0;                                   // a zero row
            rows[3 * stride + j] = (sbyte)(j % 2 == 0 ? 127 : -127);
            for (int r = 4; r < n; r++) rows[r * stride + j] = (sbyte)random.Next(-127, 128);
        }
        var reference = new int[n];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < dimension; j++) reference[r] += query[j] * rows[r * stride + j];
        Assert.Equal(127 * Enumerable.Range(0, dimension).Sum(j => (int)query[j]), reference[0]); // by hand
        Assert.Equal(reference, Run(Int8Kernel.Scalar, query, rows, stride, n));
        foreach (var kernel in Kernels)
        {
            if (!Int8Dots.IsSupported(kernel)) { output.WriteLine($"skipped {kernel}: not on this CPU"); continue; }
            Assert.Equal(reference, Run(kernel, query, rows, stride, n));
        }
        Assert.Throws<NotSupportedException>(() => Int8Dots.Resolve((Int8Kernel)99));
    }

    [Fact]
    public void Quantisers_match_hand_computed_values()
    {
        var row = new sbyte[64];
        var (scale, sum) = Int8Dots.QuantizeRow([0.5f, -1f, 0.25f, 0f], row);
        Assert.Equal(1f / 127, scale, 6);
        Assert.Equal(new sbyte[] { 64, -127, 32, 0 }, row[..4]); // 63.5 rounds to even 64; 31.75 → 32
        Assert.Equal(64 - 127 + 32, sum);
        Assert.All(row[4..], b => Assert.Equal(0, b));
        Assert.Equal((0f, 0), Int8Dots.QuantizeRow([0f, 0f], row));

        var query = new byte[64];
        float qs = Int8Dots.QuantizeQuery([2f, -1f, 0f], query);
        Assert.Equal(2f / 63, qs, 6);
        Assert.Equal(new byte[] { 64 + 63, 64 - 32, 64 }, query[..3]); // −31.5 rounds to even −32
        Assert.All(query[3..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Int8_first_pass_with_exact_rescoring_recalls_the_fp32_top_100_and_returns_exact_scores()
    {
        const int dim = 64, items = 20_000;
        var exact = new ShardedCatalog(CatalogKit.Schema(dim, 0), 2);
        var quantized = new ShardedCatalog(CatalogKit.Schema(dim, 0), 2, quantizedSlot: 0);
        var random = new Random(4);
        for (int i = 0; i < items; i++)
        {
            var v = Enumerable.Range(0, dim).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            var item = new ItemRecord("q" + i);
            item.Vectors["content"] = CatalogKit.Unit(v);
            item.Fields["popularity"] = FieldValue.Num(random.Next(10));
            foreach (var c in new[] { exact, quantized })
            {
                var bytes = ItemCodec.Encode(item, c.Schema, out int length);
                c.Upsert(item.Id, bytes.AsSpan(0, length));
            }
        }
        double recallSum = 0;
        const int queries = 20;
        foreach (var kernel in new Int8Kernel?[] { null, Int8Kernel.Scalar })
        {
            ShardSearch.ForcedInt8Kernel = kernel;
            try
            {
                for (int q = 0; q < queries; q++)
                {
                    var query = CatalogKit.Unit(Enumerable.Range(0, dim).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());
                    var p = new RankingParameters { Boosts = new Dictionary<string, float> { ["popularity"] = 0.001f } };
                    var truth = CatalogKit.Rank(exact, query, p: p, k: 100);
                    var got = CatalogKit.Rank(quantized, query, p: p, k: 100);
                    var truthIds = truth.Select(x => x.Id).ToHashSet();
                    recallSum += got.Count(x => truthIds.Contains(x.Id)) / 100.0;
                    // Scores are the exact fp32 ones, and the order is the one rule's.
                    var exactScore = truth.ToDictionary(x => x.Id, x => x.Score);
                    foreach (var x in got.Where(x => exactScore.ContainsKey(x.Id))) Assert.Equal(exactScore[x.Id], x.Score);
                    Assert.Equal(got.OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Select(x => x.Id), got.Select(x => x.Id));
                }
            }
            finally
            {
                ShardSearch.ForcedInt8Kernel = null;
            }
        }
        double recall = recallSum / (2 * queries);
        output.WriteLine($"recall@100 of int8 + re-scoring: {recall:F4} (kernel {Int8Dots.Default})");
        Assert.True(recall >= 0.99, $"recall@100 {recall:F4}");
    }

    [Theory]
    [InlineData(CatalogQuantization.Int8)]
    [InlineData(CatalogQuantization.Fp16)]
    public void The_engine_option_serves_the_exact_lists_and_scores_from_a_quantised_first_pass(CatalogQuantization quantization)
    {
        using var dirExact = new RankEngine.Tests.Support.TempDir();
        using var dirQuantized = new RankEngine.Tests.Support.TempDir();
        RankingEngine Open(string dir, CatalogQuantization q) => RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = dir, ContentDimension = 48, CollabDimension = 0, CheckpointInterval = null, Quantization = q,
        });
        using var exact = Open(dirExact.Path, CatalogQuantization.None);
        using var quantized = Open(dirQuantized.Path, quantization);
        Assert.Equal(quantization, quantized.Store.Catalog.Shards[0].Current.QuantizedFormat);
        var random = new Random(6);
        var items = Enumerable.Range(0, 3000).Select(i => new ItemInput("x" + i)
        {
            ContentVector = Enumerable.Range(0, 48).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(),
        }).ToList();
        exact.AddItems(items);
        quantized.AddItems(items);
        // The same timestamps in both engines: profiles decay by event age, so "now" would differ between them.
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int u = 0; u < 5; u++)
            for (int n = 0; n < 6; n++)
            {
                string item = "x" + random.Next(3000);
                var when = at.AddMinutes(u * 10 + n);
                exact.RecordEvent("u" + u, item, UserEventKind.Like, timestamp: when);
                quantized.RecordEvent("u" + u, item, UserEventKind.Like, timestamp: when);
            }
        for (int u = 0; u < 5; u++)
        {
            var request = new RankRequest { UserId = "u" + u, K = 20, ExcludeSeen = true };
            Assert.Equal(exact.Rank(request).Items.Select(x => (x.Id, x.Score)), quantized.Rank(request).Items.Select(x => (x.Id, x.Score)));
        }
    }
}
