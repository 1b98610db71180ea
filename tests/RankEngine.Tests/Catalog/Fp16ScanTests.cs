using RankEngine.Catalog;
using RankEngine.Ranking;
using RankEngine.Store;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Catalog;

/// <summary>
/// The fp16 first pass of a catalog scan (<see cref="CatalogQuantization.Fp16"/>): recall and exact scores against a
/// brute-force top k computed here in double, the fp16 copy through appends, growth, deletes, compaction and restart
/// against <c>(Half)</c> of the test's own vectors, and the engine option against the exact one.
/// </summary>
public class Fp16ScanTests(ITestOutputHelper output)
{
    /// <summary>Brute force in double: content weight · (query · vector) + Σ boost weight · field, best first, ties by id.</summary>
    private static (string Id, double Score)[] BruteForce(Dictionary<string, (float[] Vector, double Popularity)> items, float[] query, float contentWeight,
        float popularityWeight, int k)
    {
        var scored = new List<(string Id, double Score)>(items.Count);
        foreach (var (id, (vector, popularity)) in items)
        {
            double dot = 0;
            for (int j = 0; j < query.Length; j++) dot += (double)query[j] * vector[j];
            scored.Add((id, contentWeight * dot + popularityWeight * popularity));
        }
        return scored.OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Take(k).ToArray();
    }

    private static float[] RandomVector(Random random, int dim) =>
        CatalogKit.Unit(Enumerable.Range(0, dim).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray());

    /// <summary>
    /// Every returned item is in the brute-force top k (or within <paramref name="tolerance"/> of its last score: a
    /// near-tie fp32 may order otherwise), its score is the brute-force one within <paramref name="tolerance"/> (fp32
    /// rounding, far below fp16's error), and the list follows the tie rule. Returns the recall.
    /// </summary>
    private static double Check(RankedItem[] got, (string Id, double Score)[] truth, double tolerance)
    {
        Assert.Equal(truth.Length, got.Length);
        var truthScore = truth.ToDictionary(x => x.Id, x => x.Score);
        double last = truth[^1].Score;
        int hits = 0;
        foreach (var x in got)
        {
            if (truthScore.TryGetValue(x.Id, out double expected))
            {
                hits++;
                Assert.True(Math.Abs(x.Score - expected) <= tolerance, $"{x.Id}: score {x.Score:R}, brute force {expected:R}");
            }
            else Assert.True(x.Score >= last - tolerance, $"{x.Id} (score {x.Score:R}) is not in the brute-force top {truth.Length} (last {last:R})");
        }
        Assert.Equal(got.OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Select(x => x.Id), got.Select(x => x.Id));
        return hits / (double)truth.Length;
    }

    [Fact]
    public void Fp16_first_pass_with_exact_rescoring_recalls_the_brute_force_top_100_with_exact_scores()
    {
        // 100 dimensions: not a multiple of 16, so the widening and the dots have tails.
        const int dim = 100, count = 20_000, k = 100;
        var catalog = new ShardedCatalog(CatalogKit.Schema(dim, 0), 2, quantizedSlot: 0, quantizedFormat: CatalogQuantization.Fp16);
        var random = new Random(16);
        var items = new Dictionary<string, (float[], double)>(count);
        for (int i = 0; i < count; i++)
        {
            var v = RandomVector(random, dim);
            int popularity = random.Next(10);
            CatalogKit.Put(catalog, "h" + i, v, null, ("popularity", FieldValue.Num(popularity)));
            items["h" + i] = (v, popularity);
        }
        Assert.All(catalog.Shards, s => Assert.Equal(CatalogQuantization.Fp16, s.Current.QuantizedFormat));
        double recallSum = 0;
        const int queries = 20;
        for (int q = 0; q < queries; q++)
        {
            var query = RandomVector(random, dim);
            var p = new RankingParameters { Boosts = new Dictionary<string, float> { ["popularity"] = 0.001f } };
            var truth = BruteForce(items, query, p.ContentWeight, 0.001f, k);
            recallSum += Check(CatalogKit.Rank(catalog, query, p: p, k: k), truth, 1e-6);
        }
        double recall = recallSum / queries;
        output.WriteLine($"recall@100 of fp16 + re-scoring vs brute force: {recall:F4}");
        Assert.Equal(1.0, recall);
    }

    [Fact]
    public void The_fp16_copy_follows_appends_growth_deletes_and_compaction()
    {
        const int dim = 40;
        var catalog = new ShardedCatalog(CatalogKit.Schema(dim, 0), 2, quantizedSlot: 0, quantizedFormat: CatalogQuantization.Fp16);
        var random = new Random(7);
        var model = new Dictionary<string, (float[] Vector, double Popularity)>();
        void Put(string id)
        {
            var v = RandomVector(random, dim);
            CatalogKit.Put(catalog, id, v, null, ("popularity", FieldValue.Num(0)));
            model[id] = (v, 0);
        }
        void AssertCopyAndRanking()
        {
            var snapshot = catalog.Snapshot();
            foreach (var (id, (vector, _)) in model)
            {
                Assert.True(snapshot.TryGetRow(id, out int shard, out int row), id);
                var half = snapshot.Shards[shard].Fp16.AsSpan(row * dim, dim);
                for (int j = 0; j < dim; j++) Assert.Equal((Half)vector[j], half[j]);
            }
            for (int q = 0; q < 3; q++)
            {
                var query = RandomVector(random, dim);
                Check(CatalogKit.Rank(catalog, query, k: 25, snapshot: snapshot), BruteForce(model, query, 1f, 0f, 25), 1e-6);
            }
        }
        // Past the initial 1,024 rows per shard: the copy grows with the fp32 matrix.
        for (int i = 0; i < 3000; i++) Put("c" + i);
        AssertCopyAndRanking();
        // Replacements and deletes leave dead rows; compaction renumbers the live ones into a new generation.
        for (int i = 0; i < 3000; i += 3) Put("c" + i);
        for (int i = 1; i < 3000; i += 5) { Assert.True(catalog.Remove("c" + i)); model.Remove("c" + i); }
        AssertCopyAndRanking();
        int generation = catalog.Shards[0].Current.Generation;
        Assert.True(catalog.Compact() > 0);
        Assert.NotEqual(generation, catalog.Shards[0].Current.Generation);
        Assert.Equal(model.Count, catalog.RowCount);
        AssertCopyAndRanking();
        // Appends into the compacted generation.
        for (int i = 3000; i < 3500; i++) Put("c" + i);
        AssertCopyAndRanking();
    }

    [Fact]
    public void The_engine_keeps_the_fp16_copy_through_restart_and_serves_brute_force_scores()
    {
        using var dir = new RankEngine.Tests.Support.TempDir();
        const int dim = 48;
        RankingEngine Open() => RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = dir.Path, ContentDimension = dim, CollabDimension = 0, CheckpointInterval = null, Quantization = CatalogQuantization.Fp16,
        });
        var random = new Random(9);
        var model = new Dictionary<string, (float[] Vector, double Popularity)>();
        using (var engine = Open())
        {
            var items = Enumerable.Range(0, 2000).Select(i => new ItemInput("e" + i) { ContentVector = RandomVector(random, dim) }).ToList();
            engine.AddItems(items);
            foreach (var item in items) model[item.Id] = (item.ContentVector!, 0);
        }
        using var reopened = Open();
        var snapshot = reopened.Store.Catalog.Snapshot();
        Assert.Equal(CatalogQuantization.Fp16, snapshot.Shards[0].QuantizedFormat);
        foreach (var (id, (vector, _)) in model)
        {
            Assert.True(snapshot.TryGetRow(id, out int shard, out int row), id);
            var half = snapshot.Shards[shard].Fp16.AsSpan(row * dim, dim);
            // The engine stores unit vectors: compare against the stored fp32 row, widened from the test's own vector.
            var stored = snapshot.Shards[shard].Vector(0, row);
            for (int j = 0; j < dim; j++) Assert.True(Math.Abs(stored[j] - vector[j]) <= 1e-6f, $"{id}[{j}]");
            for (int j = 0; j < dim; j++) Assert.Equal((Half)stored[j], half[j]);
            model[id] = (stored.ToArray(), 0);
        }
        for (int q = 0; q < 3; q++)
        {
            var query = RandomVector(random, dim);
            Check(CatalogKit.Rank(reopened.Store.Catalog, query, k: 20, snapshot: snapshot), BruteForce(model, query, 1f, 0f, 20), 1e-6);
        }
    }
}
