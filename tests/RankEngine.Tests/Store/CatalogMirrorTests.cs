using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Store;

public class CatalogMirrorTests
{
    /// <summary>Checks the mirror against an independent model: id → (content, collab or null).</summary>
    private static void AssertMirrorMatches(RankStore store, Dictionary<string, ItemRecord> model)
    {
        using var view = store.Catalog.EnterRead();
        Assert.Equal(model.Count, view.LiveCount);
        var content = view.Matrix("content");
        var collab = view.Matrix("collab");
        var collab16 = view.MatrixFp16("collab");
        Assert.Equal(view.RowCount * 8, content.Length);
        Assert.Equal(view.RowCount * 4, collab.Length);
        var seen = new HashSet<string>();
        for (int row = 0; row < view.RowCount; row++)
        {
            string? id = view.Ids[row];
            if (id is null)
            {
                Assert.False(view.IsLive(row));
                Assert.All(content.Slice(row * 8, 8).ToArray(), x => Assert.Equal(0f, x));
                Assert.All(collab.Slice(row * 4, 4).ToArray(), x => Assert.Equal(0f, x));
                continue;
            }
            Assert.True(view.IsLive(row));
            Assert.True(seen.Add(id), $"{id} appears twice");
            Assert.True(view.TryGetRow(id, out int mapped));
            Assert.Equal(row, mapped);
            var item = model[id];
            Assert.Equal(item.Vectors["content"], content.Slice(row * 8, 8).ToArray());
            if (item.Vectors.TryGetValue("collab", out var c))
            {
                Assert.True(view.HasVector(row, "collab"));
                Assert.Equal(StoreTestKit.RoundToHalf(c), collab.Slice(row * 4, 4).ToArray());
                Assert.Equal(c.Select(x => (Half)x), collab16.Slice(row * 4, 4).ToArray());
            }
            else
            {
                Assert.False(view.HasVector(row, "collab"));
                Assert.All(collab.Slice(row * 4, 4).ToArray(), x => Assert.Equal(0f, x));
            }
        }
        Assert.Equal(model.Count, seen.Count);
        // Live bits agree with the id table.
        int liveBits = 0;
        foreach (ulong word in view.LiveBits)
            liveBits += System.Numerics.BitOperations.PopCount(word);
        Assert.Equal(model.Count, liveBits);
    }

    [Fact]
    public void Mirror_stays_in_step_through_random_inserts_updates_deletes_and_compaction()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var model = new Dictionary<string, ItemRecord>();
        var random = new Random(42);
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
                    var item = new ItemRecord(id);
                    item.Vectors["content"] = StoreTestKit.VectorFor($"{id}/{round}/{op}", 8);
                    if (random.Next(2) == 0)
                        item.Vectors["collab"] = StoreTestKit.VectorFor($"{id}/{round}/{op}/c", 4);
                    store.UpsertItem(item);
                    model[id] = item;
                }
            }
            AssertMirrorMatches(store, model);
            if (round % 2 == 1)
            {
                long version = store.Catalog.Version;
                int tombstones = store.Catalog.TombstoneCount;
                Assert.Equal(tombstones, store.Catalog.Compact());
                Assert.Equal(0, store.Catalog.TombstoneCount);
                Assert.Equal(model.Count, store.Catalog.RowCount);
                Assert.Equal(tombstones > 0 ? version + 1 : version, store.Catalog.Version);
                AssertMirrorMatches(store, model);
            }
        }
        // After a restart the mirror is rebuilt from the store alone.
        store.Dispose();
        using var reopened = RankStore.Open(StoreTestKit.Options(dir.Path));
        AssertMirrorMatches(reopened, model);
    }

    [Fact]
    public void Compaction_keeps_live_rows_in_order()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        for (int i = 0; i < 6; i++)
            store.UpsertItem(StoreTestKit.Item("r" + i));
        store.DeleteItem("r1");
        store.DeleteItem("r4");
        using (var view = store.Catalog.EnterRead())
            Assert.Equal(new string?[] { "r0", null, "r2", "r3", null, "r5" }, view.Ids.ToArray());
        Assert.Equal(2, store.Catalog.Compact());
        using (var view = store.Catalog.EnterRead())
            Assert.Equal(new string?[] { "r0", "r2", "r3", "r5" }, view.Ids.ToArray());
        Assert.Equal(0, store.Catalog.Compact());
        // New items append after the compacted rows.
        store.UpsertItem(StoreTestKit.Item("r6"));
        using (var view = store.Catalog.EnterRead())
            Assert.Equal(new string?[] { "r0", "r2", "r3", "r5", "r6" }, view.Ids.ToArray());
    }

    [Fact]
    public void TakeChanges_reports_full_reload_then_exact_dirty_rows()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        for (int i = 0; i < 5; i++)
            store.UpsertItem(StoreTestKit.Item("c" + i));
        var first = store.Catalog.TakeChanges();
        Assert.True(first.FullReload);
        Assert.Empty(first.DirtyRows);
        Assert.Equal(5, first.RowCount);

        var none = store.Catalog.TakeChanges();
        Assert.False(none.FullReload);
        Assert.Empty(none.DirtyRows);

        store.UpsertItem(StoreTestKit.Item("c3"));  // row 3 updated
        store.UpsertItem(StoreTestKit.Item("c5"));  // row 5 appended
        store.DeleteItem("c1");                     // row 1 tombstoned
        store.UpsertItem(StoreTestKit.Item("c3"));  // row 3 again: reported once
        var changes = store.Catalog.TakeChanges();
        Assert.False(changes.FullReload);
        Assert.Equal(new[] { 3, 5, 1 }, changes.DirtyRows);
        Assert.Equal(6, changes.RowCount);
        Assert.Equal(first.Version, changes.Version);

        store.Catalog.Compact();
        var afterCompaction = store.Catalog.TakeChanges();
        Assert.True(afterCompaction.FullReload);
        Assert.Equal(first.Version + 1, afterCompaction.Version);
        Assert.Equal(5, afterCompaction.RowCount);
    }

    [Fact]
    public void Fp16_copy_of_fp32_vectors_when_requested()
    {
        using var dir = new TempDirectory();
        var options = new StoreOptions
        {
            DataDirectory = dir.Path,
            Schema = StoreTestKit.Schema,
            CheckpointInterval = null,
            LogMemoryBytes = 16L << 20,
            ExpectedRecords = 1024,
            MirrorFp16 = true,
        };
        using var store = RankStore.Open(options);
        var item = StoreTestKit.Item("h");
        store.UpsertItem(item);
        using var view = store.Catalog.EnterRead();
        Assert.True(view.HasFp16("content"));
        Assert.Equal(item.Vectors["content"].Select(x => (Half)x), view.MatrixFp16("content").ToArray());
    }

    [Fact]
    public void Fp32_vector_without_fp16_copy_says_how_to_get_one()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        using var view = store.Catalog.EnterRead();
        Assert.False(view.HasFp16("content"));
        bool threw = false;
        try
        {
            view.MatrixFp16("content");
        }
        catch (InvalidOperationException e)
        {
            threw = e.Message.Contains("MirrorFp16", StringComparison.Ordinal);
        }
        Assert.True(threw);
    }

    [Fact]
    public void Mirror_grows_past_its_initial_capacity()
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
        AssertMirrorMatches(store, model);
    }

    [Fact]
    public void Writing_while_holding_a_view_on_the_same_thread_is_refused_before_anything_changes()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        store.UpsertItem(StoreTestKit.Item("a"));
        using (store.Catalog.EnterRead())
        {
            Assert.Throws<InvalidOperationException>(() => store.UpsertItem(StoreTestKit.Item("b")));
            Assert.Throws<InvalidOperationException>(() => store.DeleteItem("a"));
        }
        Assert.False(store.ContainsItem("b"));
        Assert.True(store.ContainsItem("a"));
        Assert.Equal(1, store.Catalog.Count);
    }
}
