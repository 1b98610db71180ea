using System.Diagnostics;
using RankEngine.Store;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Store;

/// <summary>
/// Hybrid-log compaction: overwritten data is given back to the disk while reads and writes go on, and nothing
/// live is lost. The long version (1,000,000 events, the disk curve) is tools/event-flood.sh.
/// </summary>
public class StoreCompactionTests(ITestOutputHelper output)
{
    private const long Segment = 4L << 20;

    private static StoreOptions SmallLogs(string dir) => StoreTestKit.Options(dir) with
    {
        SegmentBytes = Segment,
        CompactionMinBytes = 4L << 20,
        CompactionRatio = 2,
        CheckpointWalBytes = 256L << 10,
    };

    /// <summary>Bytes of every file under the directory.</summary>
    internal static long DirectoryBytes(string path) =>
        new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Exists ? f.Length : 0);

    [Fact]
    public void Event_flood_over_fixed_users_keeps_the_directory_within_the_bound()
    {
        using var dir = new TempDirectory();
        var options = SmallLogs(dir.Path);
        // 40,000 events over 200 users: with a checkpoint every ~120 events (as time passes in production), nearly
        // every event rewrites its user's whole record at the tail.
        const int users = 200, items = 20, threads = 8, eventsPerThread = 5_000;
        var sizes = new List<(long Events, long Bytes)>();
        long live, appended;
        using (var store = RankStore.Open(options))
        {
            for (int i = 0; i < items; i++)
                store.UpsertItem(StoreTestKit.Item("item-" + i));
            long done = 0;
            var clock = Stopwatch.StartNew();
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                int thread = t;
                workers[t] = new Thread(() =>
                {
                    // Each thread owns users t, t+threads, …: their event order is known.
                    for (int n = 0; n < eventsPerThread; n++)
                    {
                        int user = thread + threads * (n % (users / threads));
                        store.AppendUserEvent("user-" + user, new UserEvent("item-" + n % items, UserEventKind.Click, 1, n));
                        Interlocked.Increment(ref done);
                    }
                });
                workers[t].Start();
            }
            while (workers.Any(w => w.IsAlive))
            {
                Thread.Sleep(100);
                sizes.Add((Interlocked.Read(ref done), DirectoryBytes(dir.Path)));
            }
            foreach (var w in workers)
                w.Join();
            sizes.Add((done, DirectoryBytes(dir.Path)));
            output.WriteLine($"{done} events in {clock.Elapsed.TotalSeconds:F1} s, {store.CompactionCount} compactions, {store.CheckpointCount} checkpoints");
            live = LiveBytes(store, users, items);
            Assert.True(store.CompactionCount >= 3, $"only {store.CompactionCount} compactions: the flood did not exercise them");
            Assert.Null(store.LastBackgroundError);
            // What the log would hold without compaction: every byte appended, less the compactions' own copies.
            appended = store.KvTailAddress - store.CompactionCopiedBytes;
        }

        // Fixed allowance: the compaction floor, a WAL between checkpoints, a partly used and a not yet deleted
        // segment of each log, and the checkpoint files.
        long allowance = options.CompactionMinBytes + options.CheckpointWalBytes + 4 * Segment + (2L << 20);
        long bound = 3 * live + allowance;
        foreach (var (events, bytes) in sizes.Where((_, i) => i % Math.Max(1, sizes.Count / 20) == 0))
            output.WriteLine($"{events,7} events: {bytes / 1048576.0,6:F1} MiB");
        long peak = sizes.Max(s => s.Bytes);
        output.WriteLine($"live {live / 1024.0:F0} KiB, bound {bound / 1048576.0:F1} MiB, peak {peak / 1048576.0:F1} MiB, appended {appended / 1048576.0:F0} MiB");
        Assert.True(appended > 2 * bound, $"the flood appended {appended} bytes, not far above the bound {bound}: the test would mean little");
        Assert.True(peak <= bound, $"data directory peaked at {peak} bytes, above 3 × live ({live}) + {allowance}");

        // Nothing live was lost: each user holds its newest events in order.
        using (var store = RankStore.Open(options))
        {
            for (int u = 0; u < users; u++)
            {
                Assert.True(store.TryGetUser("user-" + u, out var user));
                Assert.Equal(Math.Min(100, eventsPerThread / (users / threads)), user.Events.Count);
                var times = user.Events.Select(e => e.TimestampMs).ToList();
                Assert.Equal(times.OrderBy(x => x), times);
                long last = times[^1];
                Assert.True(last >= eventsPerThread - users / threads, $"user-{u}: newest event {last} is not among the last ones written");
            }
            Assert.Equal(items, store.ItemCount);
        }
    }

    /// <summary>Encoded bytes of the live records (key + value), what the log must at least hold.</summary>
    private static long LiveBytes(RankStore store, int users, int items)
    {
        long bytes = 0;
        for (int u = 0; u < users; u++)
        {
            Assert.True(store.TryGetUser("user-" + u, out var user));
            byte[] value = UserCodec.Encode(user, store.Schema, 100, 2, out int length);
            System.Buffers.ArrayPool<byte>.Shared.Return(value);
            bytes += length + 16 + user.Id.Length;
        }
        for (int i = 0; i < items; i++)
        {
            Assert.True(store.TryGetItem("item-" + i, out var item));
            byte[] value = ItemCodec.Encode(item, store.Schema, out int length);
            System.Buffers.ArrayPool<byte>.Shared.Return(value);
            bytes += length + 16 + item.Id.Length;
        }
        return bytes;
    }

    [Fact]
    public void Compaction_keeps_live_records_drops_deleted_ones_and_gives_segments_back()
    {
        using var dir = new TempDirectory();
        var options = SmallLogs(dir.Path) with { CompactionMinBytes = long.MaxValue / 4 }; // only explicit compactions
        using (var store = RankStore.Open(options))
        {
            // ~12 MiB of overwrites of 200 items: three segments of garbage. The checkpoint before each round makes the
            // records read-only, so the round appends instead of updating in place.
            for (int round = 0; round < 60; round++)
            {
                store.Checkpoint();
                var batch = new List<ItemRecord>(200);
                for (int i = 0; i < 200; i++)
                {
                    var item = StoreTestKit.Item("i" + i);
                    item.Text = $"round {round} " + new string('t', 1000);
                    batch.Add(item);
                }
                store.UpsertItems(batch);
            }
            for (int i = 0; i < 200; i += 4)
                store.DeleteItem("i" + i);
            store.AppendUserEvent("u", new UserEvent("i1", UserEventKind.Like, 1, 5));
            long before = DirectoryBytes(Path.Combine(dir.Path, "kv"));
            long beginBefore = store.KvBeginAddress;
            Assert.True(store.Compact());
            // FASTER deletes the segment files asynchronously after the checkpoint: give it a moment.
            string kv = Path.Combine(dir.Path, "kv");
            SpinWait.SpinUntil(() => DirectoryBytes(kv) <= 2 * Segment, TimeSpan.FromSeconds(5));
            long after = DirectoryBytes(kv);
            foreach (var f in new DirectoryInfo(kv).EnumerateFiles("*", SearchOption.AllDirectories))
                output.WriteLine($"{f.Name} {f.Length}");
            output.WriteLine($"kv: {before / 1048576.0:F1} MiB → {after / 1048576.0:F1} MiB; live after compaction {store.LiveBytesAfterCompaction} bytes");
            Assert.True(store.KvBeginAddress > beginBefore);
            Assert.True(before > 3 * Segment, $"kv directory only {before} bytes before compaction: the test wrote too little");
            Assert.True(after <= 2 * Segment, $"kv directory {before} → {after} bytes: the segments below the new begin address were not deleted");
            Assert.True(store.LiveBytesAfterCompaction is > 150 * 1000 and < 1_000_000, $"live after compaction: {store.LiveBytesAfterCompaction}");
            // Still readable and writable after compaction, before any reopen.
            Assert.True(store.TryGetItem("i1", out var i1));
            Assert.StartsWith("round 59 ", i1.Text);
            Assert.False(store.TryGetItem("i0", out _));
            Assert.Equal(150, store.ItemCount);
            store.UpsertItem(StoreTestKit.Item("late"));
        }
        using (var store = RankStore.Open(options))
        {
            Assert.Equal(151, store.ItemCount); // the mirror, rebuilt by scanning from the new begin address
            for (int i = 0; i < 200; i++)
            {
                bool present = store.TryGetItem("i" + i, out var item);
                Assert.Equal(i % 4 != 0, present);
                if (present)
                    Assert.StartsWith("round 59 ", item!.Text);
            }
            Assert.True(store.TryGetItem("late", out _));
            Assert.True(store.TryGetUser("u", out var user));
            Assert.Single(user.Events);
        }
    }

    [Fact]
    public void Reads_and_writes_during_back_to_back_compactions_never_see_a_live_record_missing()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(SmallLogs(dir.Path) with { CompactionMinBytes = long.MaxValue / 4 });
        for (int i = 0; i < 200; i++)
            store.UpsertItem(StoreTestKit.Item("i" + i));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        long reads = 0, misses = 0, events = 0;
        var reader = new Thread(() =>
        {
            var random = new Random(1);
            while (!stop.IsCancellationRequested)
            {
                if (!store.ContainsItem("i" + random.Next(200)))
                    Interlocked.Increment(ref misses);
                Interlocked.Increment(ref reads);
            }
        });
        var writer = new Thread(() =>
        {
            // Read-modify-write through the store: a miss would restart the user's history.
            while (!stop.IsCancellationRequested)
                store.AppendUserEvent("u", new UserEvent("i1", UserEventKind.Click, 1, Interlocked.Increment(ref events)));
        });
        reader.Start();
        writer.Start();
        int compactions = 0;
        while (!stop.IsCancellationRequested)
        {
            store.Compact();
            compactions++;
        }
        reader.Join();
        writer.Join();
        output.WriteLine($"{compactions} compactions, {reads} reads, {events} events");
        Assert.True(compactions >= 3, $"only {compactions} compactions ran");
        Assert.Equal(0, misses);
        Assert.True(store.TryGetUser("u", out var user));
        Assert.Equal(Math.Min(100, events), user.Events.Count);
        Assert.Equal(events, user.Events[^1].TimestampMs);
    }

    [Fact]
    public void A_new_directory_records_its_segment_size_and_a_legacy_one_keeps_1_GiB()
    {
        using var dir = new TempDirectory();
        using (RankStore.Open(SmallLogs(dir.Path))) { }
        byte[] layout = File.ReadAllBytes(Path.Combine(dir.Path, "layout.bin"));
        Assert.Equal(Convert.FromHexString("524B4C5901001616"), layout); // "RKLY", v1, 2^22 and 2^22
        // Reopening with another SegmentBytes keeps the directory's own.
        using (RankStore.Open(SmallLogs(dir.Path) with { SegmentBytes = 64L << 20 })) { }
        Assert.Equal(layout, File.ReadAllBytes(Path.Combine(dir.Path, "layout.bin")));
        Assert.Equal(StoreLayout.Legacy, StoreLayout.ReadOrCreate(dir.Path + "-none", isNew: false, 32L << 20));
    }

    [Theory]
    [InlineData(1.0, 0L, 32L << 20)]
    [InlineData(double.NaN, 0L, 32L << 20)]
    [InlineData(2.0, -1L, 32L << 20)]
    [InlineData(2.0, 0L, 3L << 20)]
    [InlineData(2.0, 0L, 48L << 20)]
    public void Bad_compaction_options_are_refused(double ratio, long minBytes, long segment)
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ArgumentException>(() => RankStore.Open(StoreTestKit.Options(dir.Path) with { CompactionRatio = ratio, CompactionMinBytes = minBytes, SegmentBytes = segment }));
        Assert.Contains("StoreOptions.", e.Message);
    }

    [Fact]
    public void A_failing_background_checkpoint_is_reported_until_one_succeeds()
    {
        using var dir = new TempDirectory();
        var failures = new List<Exception>();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path) with { CheckpointInterval = TimeSpan.FromMilliseconds(50) });
        store.BackgroundFailed += e => { lock (failures) failures.Add(e); };
        store.InjectBackgroundFault = new IOException("disk full (injected)");
        store.UpsertItem(StoreTestKit.Item("a"));
        Assert.True(SpinWait.SpinUntil(() => store.BackgroundFailing, TimeSpan.FromSeconds(10)), "the injected failure was never reported");
        Assert.Equal("disk full (injected)", store.LastBackgroundError!.Message);
        Assert.NotNull(store.LastBackgroundErrorAt);
        Assert.True(store.BackgroundErrorCount >= 1);
        // The handler runs just after the failing flag is set, on the checkpoint thread: wait for it too.
        Assert.True(SpinWait.SpinUntil(() => { lock (failures) return failures.Count > 0; }, TimeSpan.FromSeconds(10)), "BackgroundFailed was never raised");
        store.InjectBackgroundFault = null;
        Assert.True(SpinWait.SpinUntil(() => !store.BackgroundFailing, TimeSpan.FromSeconds(10)), "a later successful checkpoint did not clear the failure");
        Assert.True(store.CheckpointCount >= 1);
    }
}
