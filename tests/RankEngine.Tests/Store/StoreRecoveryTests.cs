using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Store;

public class StoreRecoveryTests
{
    private static StoreOptions NoFinalCheckpoint(string dir) => StoreTestKit.Options(dir, checkpointOnDispose: false);

    private static void AssertItems(RankStore store, IEnumerable<string> present, IEnumerable<string> absent, Func<string, ItemRecord> expected)
    {
        foreach (string id in present)
        {
            Assert.True(store.TryGetItem(id, out var got), $"{id} should be present");
            StoreTestKit.AssertSameItem(expected(id), got, StoreTestKit.Schema);
        }
        foreach (string id in absent)
            Assert.False(store.TryGetItem(id, out _), $"{id} should be absent");
    }

    [Fact]
    public void Clean_close_checkpoints_and_reopen_replays_nothing()
    {
        using var dir = new TempDirectory();
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            for (int i = 0; i < 50; i++)
                store.UpsertItem(StoreTestKit.Item("i" + i));
            store.DeleteItem("i7");
            store.AppendUserEvent("u", new UserEvent("i1", UserEventKind.Click, 1, 10));
        }
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.True(store.Recovery.FromCheckpoint);
            Assert.Equal(0, store.Recovery.ReplayedEntries);
            Assert.Equal(49, store.Recovery.Items);
            AssertItems(store, Enumerable.Range(0, 50).Where(i => i != 7).Select(i => "i" + i), ["i7"], id => StoreTestKit.Item(id));
            Assert.True(store.TryGetUser("u", out var user));
            Assert.Single(user.Events);
        }
    }

    [Fact]
    public void Without_any_checkpoint_everything_is_replayed_from_the_log()
    {
        using var dir = new TempDirectory();
        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            for (int i = 0; i < 20; i++)
                store.UpsertItem(StoreTestKit.Item("i" + i));
            store.DeleteItem("i3");
        }
        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            Assert.False(store.Recovery.FromCheckpoint);
            Assert.Equal(21, store.Recovery.ReplayedEntries);
            AssertItems(store, Enumerable.Range(0, 20).Where(i => i != 3).Select(i => "i" + i), ["i3"], id => StoreTestKit.Item(id));
        }
    }

    [Fact]
    public void Checkpoint_then_more_writes_then_crash_recovers_checkpoint_plus_log()
    {
        using var dir = new TempDirectory();
        ItemRecord Updated(string id)
        {
            var item = StoreTestKit.Item(id);
            item.Text = "updated " + id;
            item.Vectors["content"] = StoreTestKit.VectorFor(id + "/v2", 8);
            return item;
        }

        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            for (int i = 0; i < 40; i++)
                store.UpsertItem(StoreTestKit.Item("i" + i));
            store.Checkpoint();
            // After the checkpoint: updates and deletes of checkpointed items, and new items.
            for (int i = 0; i < 10; i++)
                store.UpsertItem(Updated("i" + i));
            for (int i = 10; i < 15; i++)
                store.DeleteItem("i" + i);
            for (int i = 40; i < 45; i++)
                store.UpsertItem(StoreTestKit.Item("i" + i));
        }

        void Check(RankStore store)
        {
            AssertItems(store, Enumerable.Range(0, 10).Select(i => "i" + i), [], Updated);
            AssertItems(store, Enumerable.Range(15, 30).Select(i => "i" + i), Enumerable.Range(10, 5).Select(i => "i" + i), id => StoreTestKit.Item(id));
            Assert.Equal(40, store.ItemCount);
            var snapshot = store.Catalog.Snapshot();
            Assert.Equal(40, snapshot.LiveCount);
            Assert.Equal(Updated("i0").Vectors["content"], snapshot.VectorOf("i0", 0).ToArray());
        }

        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            Assert.True(store.Recovery.FromCheckpoint);
            Assert.Equal(20, store.Recovery.ReplayedEntries); // exactly the writes after the checkpoint
            Check(store);
        }
        // Replaying the same log suffix onto the same checkpoint again gives the same state (replay is idempotent).
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
            Check(store);
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.Equal(0, store.Recovery.ReplayedEntries);
            Check(store);
        }
    }

    [Fact]
    public void Event_appends_are_not_doubled_by_replay()
    {
        using var dir = new TempDirectory();
        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            for (int i = 0; i < 5; i++)
                store.AppendUserEvent("u", new UserEvent("a" + i, UserEventKind.Click, 1, i));
            store.Checkpoint();
            for (int i = 5; i < 8; i++)
                store.AppendUserEvent("u", new UserEvent("a" + i, UserEventKind.Click, 1, i));
        }
        for (int round = 0; round < 2; round++)
        {
            using var store = RankStore.Open(NoFinalCheckpoint(dir.Path));
            Assert.True(store.TryGetUser("u", out var user));
            Assert.Equal(Enumerable.Range(0, 8).Select(i => "a" + i), user.Events.Select(e => e.ItemId));
        }
    }

    private static void FakeIncompleteCheckpoint(string directory)
    {
        // What a kill in the middle of a checkpoint can leave: an index checkpoint without a log checkpoint.
        string index = Path.Combine(directory, "checkpoints", "index-checkpoints", Guid.NewGuid().ToString());
        Directory.CreateDirectory(index);
        File.WriteAllBytes(Path.Combine(index, "info.dat.0"), new byte[512]);
    }

    [Fact]
    public void Incomplete_first_checkpoint_is_dropped_and_the_complete_log_replayed()
    {
        using var dir = new TempDirectory();
        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            Assert.Equal(64, store.WalBeginAddress); // a never-truncated log starts at FASTER's first address
            for (int i = 0; i < 30; i++)
                store.UpsertItem(StoreTestKit.Item("i" + i));
        }
        FakeIncompleteCheckpoint(dir.Path);
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.True(store.Recovery.DiscardedIncompleteCheckpoint);
            Assert.False(store.Recovery.FromCheckpoint);
            Assert.Equal(30, store.Recovery.ReplayedEntries);
            AssertItems(store, Enumerable.Range(0, 30).Select(i => "i" + i), [], id => StoreTestKit.Item(id));
        }
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.True(store.Recovery.FromCheckpoint);
            Assert.Equal(30, store.ItemCount);
        }
    }

    [Fact]
    public void Unusable_checkpoint_after_log_truncation_is_refused_not_silently_lost()
    {
        using var dir = new TempDirectory();
        using (var store = RankStore.Open(NoFinalCheckpoint(dir.Path)))
        {
            var bigText = new string('x', 60_000);
            for (int i = 0; i < 100; i++) // ≈6 MB of log, so the checkpoint truncates a whole page
            {
                var item = StoreTestKit.Item("i" + i);
                item.Text = bigText;
                store.UpsertItem(item);
            }
            store.Checkpoint();
            Assert.True(store.WalBeginAddress > 64);
            store.UpsertItem(StoreTestKit.Item("after"));
        }
        Directory.Delete(Path.Combine(dir.Path, "checkpoints"), recursive: true);
        FakeIncompleteCheckpoint(dir.Path);
        var e = Assert.Throws<StoreCorruptException>(() => RankStore.Open(StoreTestKit.Options(dir.Path)));
        Assert.Contains("cannot be recovered", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Checkpoints_truncate_the_log()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var bigText = new string('x', 60_000);
        long begin = store.WalBeginAddress;
        for (int i = 0; i < 200; i++) // ≈12 MB of log: several 4 MiB pages
        {
            var item = StoreTestKit.Item("i" + i);
            item.Text = bigText;
            store.UpsertItem(item);
        }
        store.Checkpoint();
        Assert.True(store.WalBeginAddress > begin + (4 << 20), $"log begin {store.WalBeginAddress} should have moved past {begin} by pages");
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Timer_or_log_size_triggers_background_checkpoints(bool timer, bool logSize)
    {
        using var dir = new TempDirectory();
        var options = new StoreOptions
        {
            DataDirectory = dir.Path,
            Schema = StoreTestKit.Schema,
            LogMemoryBytes = 16L << 20,
            ExpectedRecords = 1024,
            CheckpointInterval = timer ? TimeSpan.FromMilliseconds(50) : null,
            CheckpointWalBytes = logSize ? 4 * 1024 : long.MaxValue,
        };
        using var store = RankStore.Open(options);
        for (int i = 0; i < 100; i++)
            store.UpsertItem(StoreTestKit.Item("i" + i));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (store.CheckpointCount == 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(20);
        Assert.Null(store.LastBackgroundError);
        Assert.True(store.CheckpointCount > 0);
    }

    [Fact]
    public void Reopening_with_another_schema_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        using (RankStore.Open(StoreTestKit.Options(dir.Path))) { }
        var other = new StoreSchema(new VectorSpec("content", 16), new VectorSpec("collab", 4, VectorElementType.Float16));
        var e = Assert.Throws<StoreSchemaMismatchException>(() => RankStore.Open(StoreTestKit.Options(dir.Path, other)));
        Assert.Contains("content(8, fp32), collab(4, fp16)", e.Message);
        Assert.Contains("content(16, fp32), collab(4, fp16)", e.Message);
        // The failed open released the lock: the right schema still opens.
        using (RankStore.Open(StoreTestKit.Options(dir.Path))) { }
    }

    [Fact]
    public void Second_open_of_the_same_directory_is_refused_until_the_first_closes()
    {
        using var dir = new TempDirectory();
        var first = RankStore.Open(StoreTestKit.Options(dir.Path));
        first.UpsertItem(StoreTestKit.Item("a"));
        var e = Assert.Throws<StoreLockedException>(() => RankStore.Open(StoreTestKit.Options(dir.Path)));
        Assert.Contains(Path.GetFullPath(dir.Path), e.Message);
        Assert.Contains("already open", e.Message);
        Assert.Contains($"process {Environment.ProcessId}", e.Message);
        // The refused open did not disturb the first store.
        Assert.True(first.TryGetItem("a", out _));
        first.UpsertItem(StoreTestKit.Item("b"));
        first.Dispose();
        using var second = RankStore.Open(StoreTestKit.Options(dir.Path));
        Assert.Equal(2, second.ItemCount);
    }

    [Fact]
    public void Disposed_store_refuses_calls()
    {
        using var dir = new TempDirectory();
        var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        store.Dispose();
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.UpsertItem(StoreTestKit.Item("a")));
        Assert.Throws<ObjectDisposedException>(() => store.TryGetItem("a", out _));
        Assert.Throws<ObjectDisposedException>(() => store.Checkpoint());
    }
}
