using RankEngine.Catalog;
using RankEngine.Store;
using RankEngine.Tests.Store;
using Xunit;

namespace RankEngine.Tests.Catalog;

/// <summary>The store's catalog (versioned shards with field columns) against an independent model of the items.</summary>
public class CatalogShardTests
{
    /// <summary>Checks a snapshot against the model: id → item (vectors, fields), nothing else visible.</summary>
    private static void AssertCatalogMatches(CatalogSnapshot snapshot, Dictionary<string, ItemRecord> model)
    {
        Assert.Equal(model.Count, snapshot.LiveCount);
        var visible = snapshot.VisibleRows().Select(r => snapshot.Shards[r.Shard].IdOf(r.Row)).ToList();
        Assert.Equal(model.Keys.Order(StringComparer.Ordinal), visible.Order(StringComparer.Ordinal));
        foreach (var (id, item) in model)
        {
            Assert.True(snapshot.TryGetRow(id, out int shard, out int row), id);
            var s = snapshot.Shards[shard];
            Assert.Equal(item.Vectors["content"], s.Vector(0, row).ToArray());
            if (item.Vectors.TryGetValue("collab", out var c)) Assert.Equal(StoreTestKit.RoundToHalf(c), s.Vector(1, row).ToArray());
            else Assert.True(s.Vector(1, row).IsEmpty);
            foreach (var (name, value) in item.Fields)
            {
                switch (value.Kind)
                {
                    case FieldKind.Number: Assert.True(s.TryGetNumber(row, name, out double v)); Assert.Equal(value.Number, v); break;
                    case FieldKind.String: Assert.Equal(value.Text, s.StringOf(row, name)); break;
                    case FieldKind.Tags: Assert.Equal(value.TagList, s.TagsOf(row, name)); break;
                }
            }
            Assert.False(s.TryGetNumber(row, "never-set", out _));
        }
    }

    private static ItemRecord RandomItem(string id, Random random, string salt)
    {
        var item = new ItemRecord(id);
        item.Vectors["content"] = StoreTestKit.VectorFor($"{id}/{salt}", 8);
        if (random.Next(2) == 0) item.Vectors["collab"] = StoreTestKit.VectorFor($"{id}/{salt}/c", 4);
        if (random.Next(3) != 0) item.Fields["price"] = FieldValue.Num(random.Next(100) / 4.0);
        if (random.Next(3) != 0) item.Fields["genres"] = FieldValue.Tags(Enumerable.Range(0, random.Next(1, 3)).Select(_ => "g" + random.Next(5)).Distinct().ToArray());
        if (random.Next(3) != 0) item.Fields["kind"] = FieldValue.String("k" + random.Next(3));
        return item;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Catalog_stays_in_step_through_random_inserts_updates_deletes_compaction_and_restart(int shards)
    {
        using var dir = new TempDirectory();
        var options = StoreTestKit.Options(dir.Path) with { CatalogShards = shards };
        var model = new Dictionary<string, ItemRecord>();
        var random = new Random(42);
        using (var store = RankStore.Open(options))
        {
            for (int round = 0; round < 4; round++)
            {
                for (int op = 0; op < 150; op++)
                {
                    string id = "id" + random.Next(80);
                    if (random.Next(4) == 0)
                    {
                        Assert.Equal(model.Remove(id), store.DeleteItem(id));
                    }
                    else
                    {
                        var item = RandomItem(id, random, $"{round}/{op}");
                        store.UpsertItem(item);
                        model[id] = item;
                    }
                }
                AssertCatalogMatches(store.Catalog.Snapshot(), model);
                if (round % 2 == 1)
                {
                    int dead = store.Catalog.DeadRowCount;
                    Assert.True(dead > 0);
                    Assert.Equal(dead, store.Catalog.Compact());
                    Assert.Equal(0, store.Catalog.DeadRowCount);
                    Assert.Equal(model.Count, store.Catalog.RowCount);
                    AssertCatalogMatches(store.Catalog.Snapshot(), model);
                }
            }
            if (shards > 1) Assert.All(store.Catalog.Snapshot().Shards, s => Assert.True(s.LiveCount > 0));
        }
        // After a restart the catalog is rebuilt from the store alone.
        using var reopened = RankStore.Open(options);
        AssertCatalogMatches(reopened.Catalog.Snapshot(), model);
    }

    [Fact]
    public void Compaction_keeps_live_rows_in_order_and_new_items_append()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        for (int i = 0; i < 6; i++)
            store.UpsertItem(StoreTestKit.Item("r" + i));
        store.DeleteItem("r1");
        store.DeleteItem("r4");
        string[] Visible() => store.Catalog.Snapshot().VisibleRows().Select(r => store.Catalog.Snapshot().Shards[0].IdOf(r.Row)).ToArray();
        Assert.Equal(new[] { "r0", "r2", "r3", "r5" }, Visible());
        Assert.Equal(2, store.Catalog.Compact());
        Assert.Equal(4, store.Catalog.RowCount);
        Assert.Equal(new[] { "r0", "r2", "r3", "r5" }, Visible());
        Assert.Equal(0, store.Catalog.Compact());
        store.UpsertItem(StoreTestKit.Item("r6"));
        Assert.Equal(new[] { "r0", "r2", "r3", "r5", "r6" }, Visible());
    }

    [Fact]
    public void A_snapshot_keeps_showing_its_version_through_later_writes_and_compaction()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var original = StoreTestKit.Item("a");
        original.Fields["price"] = FieldValue.Num(3);
        store.UpsertItem(original);
        store.UpsertItem(StoreTestKit.Item("b"));
        var before = store.Catalog.Snapshot();

        var replaced = new ItemRecord("a");
        replaced.Vectors["content"] = StoreTestKit.VectorFor("a/new", 8);
        replaced.Fields["price"] = FieldValue.Num(7);
        store.UpsertItem(replaced);
        store.DeleteItem("b");
        store.UpsertItem(StoreTestKit.Item("c"));
        Assert.True(store.Catalog.Compact() > 0);
        for (int i = 0; i < 2000; i++) store.UpsertItem(StoreTestKit.Item("grow" + i)); // the arrays are reallocated

        Assert.True(before.TryGetRow("a", out _, out int rowA));
        Assert.Equal(original.Vectors["content"], before.Shards[0].Vector(0, rowA).ToArray());
        Assert.True(before.Shards[0].TryGetNumber(rowA, "price", out double price));
        Assert.Equal(3, price);
        Assert.True(before.Contains("b"));
        Assert.False(before.Contains("c"));
        Assert.Equal(2, before.LiveCount);

        var after = store.Catalog.Snapshot();
        Assert.Equal(replaced.Vectors["content"], after.VectorOf("a", 0).ToArray());
        Assert.False(after.Contains("b"));
        Assert.True(after.Contains("c"));
        Assert.Equal(2002, after.LiveCount);
    }

    [Fact]
    public void Catalog_grows_past_its_initial_capacity()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var model = new Dictionary<string, ItemRecord>();
        var batch = new List<ItemRecord>();
        for (int i = 0; i < 3000; i++)
        {
            var item = StoreTestKit.Item("g" + i, withCollab: i % 2 == 0);
            model[item.Id] = item;
            batch.Add(item);
        }
        store.UpsertItems(batch);
        AssertCatalogMatches(store.Catalog.Snapshot(), model);
    }

    [Fact]
    public void A_shard_count_outside_1_to_256_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ArgumentException>(() => RankStore.Open(StoreTestKit.Options(dir.Path) with { CatalogShards = 0 }));
        Assert.Contains("CatalogShards must be 1..256", e.Message);
    }
}
