using RankEngine.Catalog;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Kernels;
using Xunit;

namespace RankEngine.Tests.Catalog;

/// <summary>
/// The shard search with its dot products computed on an ILGPU device (the CPU accelerator here; CUDA under
/// tools/gpu-check.sh) ranks exactly like the host scan and like a brute-force reference, ties by id, through
/// appends, deletes, a compaction and the model-factor term.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public class ShardDeviceSearchTests(IlgpuCpuFixture fixture)
{
    private const int Content = 9, Collab = 3, Rank = 4;

    private static void Put(ShardedCatalog catalog, string id, Random random)
    {
        // Small integers: every dot product is exact in any summation order, so device and host must agree bit for bit.
        var item = new ItemRecord(id);
        item.Vectors["content"] = Enumerable.Range(0, Content).Select(_ => (float)random.Next(-1, 2)).ToArray();
        if (random.Next(4) != 0) item.Vectors["collab"] = Enumerable.Range(0, Collab).Select(_ => (float)random.Next(0, 2)).ToArray();
        if (random.Next(2) == 0) item.Fields["popularity"] = FieldValue.Num(random.Next(3));
        var bytes = ItemCodec.Encode(item, catalog.Schema, out int length);
        catalog.Upsert(id, bytes.AsSpan(0, length));
    }

    private static ShardFactors Factors(ShardSnapshot snapshot)
    {
        var matrix = new float[Math.Max(1, snapshot.RowCount) * Rank];
        for (int row = 0; row < snapshot.RowCount; row++)
            for (int j = 0; j < Rank; j++) matrix[row * Rank + j] = (snapshot.IdOf(row).Length + row * (j + 1)) % 3 - 1;
        return new ShardFactors(matrix, Rank, snapshot.RowCount);
    }

    [Fact]
    public void Device_dots_rank_like_the_host_scan_and_the_reference_through_appends_deletes_and_compaction()
    {
        var random = new Random(8);
        var catalog = new ShardedCatalog(CatalogKit.Schema(Content, Collab), 2);
        var copies = Enumerable.Range(0, 2).Select(_ => new ShardDeviceCopy(fixture.Backend, catalog.Schema.Count)).ToArray();
        try
        {
            for (int i = 0; i < 300; i++) Put(catalog, $"d{random.Next(100_000):D5}-{i}", random);
            CatalogSnapshot? beforeCompaction = null;
            for (int phase = 0; phase < 3; phase++)
            {
                if (phase == 1)
                {
                    for (int i = 0; i < 120; i++) Put(catalog, $"e{i}", random);
                    foreach (var (shard, row) in catalog.Snapshot().VisibleRows().Where((_, n) => n % 5 == 0).ToList())
                        catalog.Remove(catalog.Snapshot().Shards[shard].IdOf(row));
                    beforeCompaction = catalog.Snapshot();
                }
                if (phase == 2) Assert.True(catalog.Compact() > 0);
                var snapshot = catalog.Snapshot();
                for (int q = 0; q < 6; q++)
                {
                    bool model = q % 2 == 1;
                    var content = Enumerable.Range(0, Content).Select(_ => (float)random.Next(-1, 2)).ToArray();
                    var second = Enumerable.Range(0, model ? Rank : Collab).Select(_ => (float)random.Next(0, 3)).ToArray();
                    var query = new ShardQuery
                    {
                        Content = content, ContentWeight = 1, Second = second, SecondWeight = 0.5f, SecondIsModel = model,
                        Boosts = q % 3 == 0 ? [new("popularity", 0.25f)] : [],
                        Filters = q == 4 ? [ItemFilter.Parse("popularity>=1")] : [],
                        K = 40,
                    };
                    var factors = snapshot.Shards.Select(s => model ? Factors(s) : null).ToArray();
                    var dots = snapshot.Shards.Select((s, i) => copies[i].TryDots(s, factors[i], query, 0, 1)).ToArray();
                    Assert.All(dots, d => Assert.NotNull(d));
                    try
                    {
                        var device = CatalogRanker.Rank(snapshot, factors, query, default, 40, 0, 1, dots);
                        var host = CatalogRanker.Rank(snapshot, factors, query, default, 40, 0, 1);
                        Assert.Equal(host.Select(x => (x.Id, x.Score)), device.Select(x => (x.Id, x.Score)));
                        Assert.Equal(Reference(snapshot, factors, query).Take(40), device.Select(x => x.Id));
                    }
                    finally
                    {
                        foreach (var d in dots) ShardDeviceCopy.Release(d);
                    }
                }
            }
            // A request still holding the generation before the compaction is scanned on the host.
            var old = beforeCompaction!.Shards[0];
            Assert.Null(copies[0].TryDots(old, null, new ShardQuery { Content = new float[Content], ContentWeight = 1 }, 0, 1));
        }
        finally
        {
            foreach (var c in copies) c.Dispose();
        }
    }

    /// <summary>Brute force over every visible row in double precision, ties by id.</summary>
    private static IEnumerable<string> Reference(CatalogSnapshot snapshot, ShardFactors?[] factors, ShardQuery query)
    {
        var scored = new List<(string Id, double Score)>();
        foreach (var (s, row) in snapshot.VisibleRows())
        {
            var shard = snapshot.Shards[s];
            if (query.Filters.Any(f => !(shard.TryGetNumber(row, "popularity", out double p) && p >= 1))) continue;
            double score = Dot(query.Content.Span, shard.Vector(0, row));
            var second = query.SecondIsModel ? factors[s]!.Matrix.AsSpan(row * Rank, Rank) : shard.Vector(1, row);
            score += query.SecondWeight * Dot(query.Second.Span, second);
            foreach (var (field, w) in query.Boosts)
                if (shard.TryGetNumber(row, field, out double v)) score += w * v;
            scored.Add((shard.IdOf(row), score));
        }
        return scored.OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Select(x => x.Id);
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (b.IsEmpty) return 0;
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}
