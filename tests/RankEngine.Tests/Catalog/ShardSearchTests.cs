using RankEngine.Catalog;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Store;
using Xunit;

namespace RankEngine.Tests.Catalog;

/// <summary>
/// The fused shard search against independent references: scores recomputed in double precision from the items'
/// own vectors and fields, brute-force filters, and the one tie rule (score descending, then id ordinal).
/// </summary>
public class ShardSearchTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Content = 19, Collab = 5; // odd widths: the SIMD tails are exercised too

    private static readonly string[] Genres = ["Drama", "Comedy", "Horror", "Action", "Kids"];

    private static ItemRecord MakeItem(string id, Random random, int distinctDirections = 0)
    {
        var item = new ItemRecord(id);
        var content = new float[Content];
        var collab = new float[Collab];
        for (int j = 0; j < Content; j++) content[j] = distinctDirections > 0 ? random.Next(distinctDirections) : (float)(random.NextDouble() - 0.5);
        for (int j = 0; j < Collab; j++) collab[j] = distinctDirections > 0 ? random.Next(distinctDirections) : (float)(random.NextDouble() - 0.5);
        content[0] += 0.5f; // never all zero
        item.Vectors["content"] = CatalogKit.Unit(content);
        if (random.Next(5) != 0) item.Vectors["collab"] = collab;
        if (random.Next(4) != 0) item.Fields["popularity"] = FieldValue.Num(distinctDirections > 0 ? random.Next(3) : random.Next(1000) / 10.0);
        if (random.Next(4) != 0) item.Fields["genres"] = FieldValue.Tags(Enumerable.Range(0, random.Next(1, 3)).Select(_ => Genres[random.Next(Genres.Length)]).Distinct().ToArray());
        if (random.Next(3) != 0) item.Fields["lang"] = FieldValue.String(random.Next(2) == 0 ? "en" : "fr");
        return item;
    }

    private static void Put(ShardedCatalog catalog, ItemRecord item)
    {
        var bytes = ItemCodec.Encode(item, catalog.Schema, out int length);
        catalog.Upsert(item.Id, bytes.AsSpan(0, length));
    }

    /// <summary>The fused score in double precision from an item's own vectors and fields (missing parts add 0).</summary>
    private static double Reference(ItemRecord item, float[] content, float[] collab, RankingParameters p)
    {
        double score = 0;
        if (item.Vectors.TryGetValue("content", out var c)) score += p.ContentWeight * Dot(content, c);
        if (collab.Length > 0 && item.Vectors.TryGetValue("collab", out var v)) score += p.CollabWeight * Dot(collab, v);
        foreach (var (field, w) in p.Boosts)
            if (item.Fields.TryGetValue(field, out var f) && f.Kind == FieldKind.Number) score += w * f.Number;
        return score;
    }

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }

    private static bool Passes(ItemRecord item, ItemFilter filter) => filter switch
    {
        EqualsFilter e => item.Fields.TryGetValue(e.Field, out var f) && (f.Kind == FieldKind.String
            ? string.Equals(f.Text, e.Value, StringComparison.OrdinalIgnoreCase)
            : f.Kind == FieldKind.Tags && f.TagList.Any(t => string.Equals(t, e.Value, StringComparison.OrdinalIgnoreCase))),
        RangeFilter r => item.Fields.TryGetValue(r.Field, out var f) && f.Kind == FieldKind.Number
            && (r.MinInclusive ? f.Number >= r.Min : f.Number > r.Min) && (r.MaxInclusive ? f.Number <= r.Max : f.Number < r.Max),
        _ => throw new ArgumentException(filter.ToString()),
    };

    private static float[] RandomQuery(Random random, int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();

    [Fact]
    public async Task Under_concurrent_writes_deletes_and_compactions_every_returned_score_is_the_pinned_versions_own()
    {
        using var dir = new TempDirectory();
        var schema = CatalogKit.Schema(Content, Collab);
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path, schema) with { CheckpointInterval = null });
        var seed = new Random(5);
        const int items = 20_000;
        var batch = new List<ItemRecord>();
        for (int i = 0; i < items; i++)
        {
            batch.Add(MakeItem("item" + i, seed));
            if (batch.Count == 1000) { store.UpsertItems(batch); batch.Clear(); }
        }
        Assert.True(store.Catalog.Snapshot().LiveCount == items);

        using var stop = new CancellationTokenSource();
        long writes = 0, compactions = 0;
        var writers = Enumerable.Range(0, 2).Select(t => Task.Run(() =>
        {
            var random = new Random(100 + t);
            while (!stop.IsCancellationRequested)
            {
                // Batches: each write is durable before it returns, so one at a time would be few.
                var upserts = Enumerable.Range(0, 20).Select(_ => MakeItem("item" + random.Next(items), random)).DistinctBy(x => x.Id).ToList();
                store.UpsertItems(upserts);
                store.DeleteItem("item" + random.Next(items));
                Interlocked.Add(ref writes, upserts.Count + 1);
            }
        })).ToList();
        var compactor = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (store.Catalog.Compact() > 0) Interlocked.Increment(ref compactions);
                Thread.Sleep(30);
            }
        });

        var queryRandom = new Random(9);
        int checkedItems = 0;
        var p = new RankingParameters { ContentWeight = 0.7f, CollabWeight = 1.3f, Boosts = new Dictionary<string, float> { ["popularity"] = 0.001f } };
        // Until enough writes and compactions have interleaved with the rankings (bounded: a slow machine writes slowly).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int rounds = 0;
        while ((rounds < 40 || Interlocked.Read(ref writes) < 200 || Interlocked.Read(ref compactions) < 3) && clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            rounds++;
            if (rounds % 2 == 0) await Task.Delay(1); // leave the writers some CPU on two cores
            var content = CatalogKit.Unit(RandomQuery(queryRandom, Content));
            var collab = RandomQuery(queryRandom, Collab);
            var filters = rounds % 3 == 0 ? new[] { ItemFilter.Parse("genres=" + Genres[rounds % Genres.Length]) } : [];
            var snapshot = store.Catalog.Snapshot();
            var ranked = CatalogKit.Rank(store.Catalog, content, collab, p, filters: filters, k: 20, snapshot: snapshot);
            Assert.NotEmpty(ranked);
            // Every item returned is the item the pinned version shows, with exactly its score.
            foreach (var r in ranked)
            {
                Assert.True(snapshot.TryGetRow(r.Id, out int shard, out int row), r.Id);
                var item = ItemAt(snapshot.Shards[shard], row);
                Assert.Equal(Reference(item, content, collab, p), r.Score, tolerance: 1e-4);
                Assert.All(filters, f => Assert.True(Passes(item, f)));
                checkedItems++;
            }
            // Nothing visible in that version beats the 20th by more than rounding (checked every few rounds: it is slow).
            if (rounds % 4 != 0) continue;
            double last = ranked[^1].Score;
            var returned = ranked.Select(r => r.Id).ToHashSet();
            foreach (var (shard, row) in snapshot.VisibleRows())
            {
                var item = ItemAt(snapshot.Shards[shard], row);
                if (returned.Contains(item.Id) || !filters.All(f => Passes(item, f))) continue;
                Assert.True(Reference(item, content, collab, p) <= last + 1e-4, $"{item.Id} should have been ranked");
            }
        }
        stop.Cancel();
        await Task.WhenAll([.. writers, compactor]);
        output.WriteLine($"{rounds} rankings, {checkedItems} items checked, {writes} writes, {compactions} compactions");
        Assert.True(Interlocked.Read(ref compactions) >= 1, $"{compactions} compactions ran: the test did not exercise them");
        Assert.True(Interlocked.Read(ref writes) > 100, $"only {writes} writes");
        Assert.True(checkedItems >= 40 * 10);
    }

    /// <summary>An item as the snapshot shows it, rebuilt from the snapshot's own rows and columns.</summary>
    private static ItemRecord ItemAt(ShardSnapshot snapshot, int row)
    {
        var item = new ItemRecord(snapshot.IdOf(row));
        for (int s = 0; s < snapshot.Schema.Count; s++)
            if (snapshot.HasVector(s, row)) item.Vectors[snapshot.Schema.Vectors[s].Name] = snapshot.Vector(s, row).ToArray();
        snapshot.CopyFields(row, item.Fields);
        return item;
    }

    [Fact]
    public void Many_shards_rank_exactly_like_one_shard()
    {
        var random = new Random(11);
        var one = new ShardedCatalog(CatalogKit.Schema(Content, Collab), 1);
        var four = new ShardedCatalog(CatalogKit.Schema(Content, Collab), 4);
        var all = new List<ItemRecord>();
        for (int i = 0; i < 3000; i++)
        {
            // Half the items from few distinct values, so many scores tie exactly.
            var item = MakeItem($"i{random.Next(1_000_000):D7}-{i}", random, distinctDirections: i % 2 == 0 ? 2 : 0);
            all.Add(item);
            Put(one, item);
            Put(four, item);
        }
        foreach (var item in all.Where((_, i) => i % 7 == 0)) { one.Remove(item.Id); four.Remove(item.Id); }
        Assert.All(four.Snapshot().Shards, s => Assert.InRange(s.LiveCount, 400, 900));
        for (int q = 0; q < 30; q++)
        {
            var content = CatalogKit.Unit(RandomQuery(random, Content));
            var collab = q % 4 == 0 ? null : RandomQuery(random, Collab);
            var p = new RankingParameters
            {
                ContentWeight = q % 5 == 0 ? 0 : 1,
                CollabWeight = 0.5f,
                Boosts = q % 2 == 0 ? new Dictionary<string, float> { ["popularity"] = 0.01f } : new Dictionary<string, float>(),
                Diversity = q % 6 == 0 ? 0.3f : 0,
            };
            var filters = q % 3 == 0 ? new[] { ItemFilter.Parse("lang=EN") } : q % 3 == 1 ? [ItemFilter.Parse("popularity>=1")] : [];
            var excluded = all.Take(q * 10).Select(x => x.Id).ToHashSet();
            var candidates = q % 10 == 9 ? all.Skip(100).Take(300).Select(x => x.Id).ToList() : null;
            int k = new[] { 1, 10, 100, 1000 }[q % 4];
            var a = CatalogKit.Rank(one, content, collab, p, filters, candidates, excluded, k);
            var b = CatalogKit.Rank(four, content, collab, p, filters, candidates, excluded, k);
            Assert.Equal(a.Select(x => (x.Id, x.Score)), b.Select(x => (x.Id, x.Score)));
            Assert.Equal(a.Select(x => x.Parts.Content + x.Parts.Collab + x.Parts.BoostTotal), b.Select(x => x.Parts.Content + x.Parts.Collab + x.Parts.BoostTotal));
        }
    }

    [Fact]
    public void Column_filters_equal_a_brute_force_evaluation_of_the_items()
    {
        var random = new Random(3);
        var catalog = new ShardedCatalog(CatalogKit.Schema(Content, Collab), 2);
        var live = new Dictionary<string, ItemRecord>();
        for (int i = 0; i < 2500; i++)
        {
            string id = "f" + random.Next(1800);
            if (random.Next(6) == 0) { catalog.Remove(id); live.Remove(id); continue; }
            var item = MakeItem(id, random);
            Put(catalog, item);
            live[id] = item;
        }
        string[] texts =
        [
            "genres=drama", "genres=KIDS", "genres=nothing", "lang=fr", "lang=En", "popularity>=50", "popularity>50", "popularity<=12.5",
            "popularity<12.5", "popularity>=100", "missing>=0", "missing=x",
        ];
        var filterSets = texts.Select(t => new[] { ItemFilter.Parse(t) }).ToList();
        filterSets.Add([ItemFilter.Parse("genres=comedy"), ItemFilter.Parse("popularity<30"), ItemFilter.Parse("lang=en")]);
        foreach (var filters in filterSets)
        {
            var expected = live.Values.Where(item => filters.All(f => Passes(item, f))).Select(x => x.Id).Order(StringComparer.Ordinal).ToArray();
            var got = CatalogKit.Rank(catalog, CatalogKit.Unit(RandomQuery(random, Content)), filters: filters, k: RankRequest.MaxK).Select(r => r.Id).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected, got);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Ties_are_broken_by_id_at_every_k_even_when_the_kth_score_is_shared_by_thousands(int shards)
    {
        var random = new Random(17);
        var catalog = new ShardedCatalog(CatalogKit.Schema(Content, 0), shards);
        var items = new List<ItemRecord>();
        // 40,000 rows: several scan tasks, each keeping its own heap; three score levels only.
        for (int i = 0; i < 40_000; i++)
        {
            var item = new ItemRecord($"t{random.Next(10_000_000):D8}-{i}");
            var v = new float[Content];
            v[random.Next(3)] = 1f;
            item.Vectors["content"] = v;
            items.Add(item);
            Put(catalog, item);
        }
        float[] query = CatalogKit.Unit([0.8f, 0.6f, 0.3f, .. new float[Content - 3]]);
        foreach (int k in new[] { 1, 5, 100, 4096 })
        {
            var expected = items.Select(x => (x.Id, Score: Dot(query, x.Vectors["content"])))
                .OrderByDescending(x => x.Score).ThenBy(x => x.Id, StringComparer.Ordinal).Take(k).Select(x => x.Id).ToArray();
            var got = CatalogKit.Rank(catalog, query, k: k).Select(r => r.Id).ToArray();
            Assert.Equal(expected, got);
        }
    }
}
