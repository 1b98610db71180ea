using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Store;

public class StoreRoundTripTests
{
    [Fact]
    public void Item_round_trips_vectors_fields_and_text()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var item = new ItemRecord("é-ünïcode-ид");
        item.Vectors["content"] = [1f, -2.5f, 0f, 3.25f, float.Epsilon, -0f, 1e-30f, 1e30f];
        item.Vectors["collab"] = [0.1f, 65504f, -65504f, 1e-8f];
        item.Fields["s"] = FieldValue.String("");
        item.Fields["n"] = FieldValue.Num(-0.5);
        item.Fields["t"] = FieldValue.Tags("x", "yy", "zzz");
        item.Text = "";
        store.UpsertItem(item);

        Assert.True(store.TryGetItem("é-ünïcode-ид", out var got));
        Assert.Equal(item.Vectors["content"], got.Vectors["content"]);
        // fp16 storage rounds to the nearest binary16: 0.1 → 0.0999755859375, 1e-8 → 0 (below the subnormal range).
        Assert.Equal(new[] { 0.0999755859375f, 65504f, -65504f, 0f }, got.Vectors["collab"]);
        Assert.Equal("", got.Fields["s"].Text);
        Assert.Equal(-0.5, got.Fields["n"].Number);
        Assert.Equal(new[] { "x", "yy", "zzz" }, got.Fields["t"].TagList);
        Assert.Equal("", got.Text);
    }

    [Fact]
    public void Null_text_stays_null_and_missing_vector_stays_missing()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var item = new ItemRecord("only-content");
        item.Vectors["content"] = StoreTestKit.VectorFor("c", 8);
        store.UpsertItem(item);
        Assert.True(store.TryGetItem("only-content", out var got));
        Assert.Null(got.Text);
        Assert.False(got.Vectors.ContainsKey("collab"));
        Assert.Empty(got.Fields);
        Assert.False(store.TryGetItemVector("only-content", "collab", new float[4]));
    }

    [Fact]
    public void Upsert_replaces_and_delete_removes()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        store.UpsertItem(StoreTestKit.Item("x"));
        var replacement = new ItemRecord("x") { Text = "second" };
        replacement.Vectors["content"] = StoreTestKit.VectorFor("x2", 8);
        store.UpsertItem(replacement);
        Assert.True(store.TryGetItem("x", out var got));
        StoreTestKit.AssertSameItem(replacement, got, StoreTestKit.Schema);
        Assert.Equal(1, store.ItemCount);

        Assert.True(store.DeleteItem("x"));
        Assert.False(store.TryGetItem("x", out _));
        Assert.False(store.ContainsItem("x"));
        Assert.False(store.DeleteItem("x"));
        Assert.Equal(0, store.ItemCount);
    }

    [Fact]
    public void ReadMany_matches_individual_reads_including_missing_ids_and_missing_vectors()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var random = new Random(7);
        var ids = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            string id = "item-" + i;
            store.UpsertItem(StoreTestKit.Item(id, withCollab: i % 3 != 0));
            ids.Add(id);
        }
        // Query mixes present ids (shuffled, with repeats) and ids that were never written.
        var query = Enumerable.Range(0, 500)
            .Select(_ => random.Next(4) == 0 ? "missing-" + random.Next(1000) : ids[random.Next(ids.Count)])
            .ToArray();

        foreach (string name in new[] { "content", "collab" })
        {
            int dim = name == "content" ? 8 : 4;
            var batch = new float[query.Length * dim];
            batch.AsSpan().Fill(float.NaN); // every row must be overwritten: values or zeros
            var found = new bool[query.Length];
            int count = store.ReadMany(query, name, batch, found);

            int expectedCount = 0;
            for (int i = 0; i < query.Length; i++)
            {
                var single = new float[dim];
                bool present = store.TryGetItem(query[i], out var item) && item.Vectors.ContainsKey(name);
                Assert.Equal(present, found[i]);
                if (present)
                {
                    expectedCount++;
                    Assert.Equal(item!.Vectors[name], batch.AsSpan(i * dim, dim).ToArray());
                    Assert.True(store.TryGetItemVector(query[i], name, single));
                    Assert.Equal(single, batch.AsSpan(i * dim, dim).ToArray());
                }
                else
                {
                    Assert.All(batch.AsSpan(i * dim, dim).ToArray(), x => Assert.Equal(0f, x));
                }
            }
            Assert.Equal(expectedCount, count);
        }
    }

    [Fact]
    public void ReadMany_completes_reads_of_records_evicted_to_disk()
    {
        // 384-d fp32 items (≈1.6 KB each) × 20,000 ≈ 32 MB > the 16 MiB in-memory log: early items live on disk only,
        // so their reads go pending and must be finished by the single CompletePending at the end of the batch.
        var schema = new StoreSchema(new VectorSpec("content", 384));
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path, schema));
        const int n = 20_000;
        var batch = new List<ItemRecord>();
        for (int i = 0; i < n; i++)
        {
            var item = new ItemRecord("big-" + i);
            item.Vectors["content"] = StoreTestKit.VectorFor("big-" + i, 384);
            batch.Add(item);
            if (batch.Count == 1000)
            {
                store.UpsertItems(batch);
                batch.Clear();
            }
        }
        string[] query = Enumerable.Range(0, 200).Select(i => "big-" + (i * 97 % n)).Append("nope").ToArray();
        var rows = new float[query.Length * 384];
        var found = new bool[query.Length];
        Assert.Equal(200, store.ReadMany(query, "content", rows, found));
        for (int i = 0; i < 200; i++)
            Assert.Equal(StoreTestKit.VectorFor(query[i], 384), rows.AsSpan(i * 384, 384).ToArray());
        Assert.False(found[200]);
    }

    [Fact]
    public void User_round_trip_events_are_bounded_and_bucket_is_deterministic()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path, maxUserEvents: 5));
        var user = new UserRecord("u1");
        user.Vectors["content"] = StoreTestKit.VectorFor("u1", 8);
        for (int i = 0; i < 7; i++)
            user.Events.Add(new UserEvent("item-" + i, UserEventKind.Click, 1f, 1000 + i));
        store.UpsertUser(user);

        Assert.True(store.TryGetUser("u1", out var got));
        Assert.Equal(user.Vectors["content"], got.Vectors["content"]);
        // Only the newest five survive, oldest first.
        Assert.Equal(user.Events.Skip(2), got.Events);
        Assert.Equal(AbBuckets.ForUser("u1", 2), got.Bucket);

        store.AppendUserEvent("u1", new UserEvent("item-7", UserEventKind.Purchase, 2.5f, 2000));
        Assert.True(store.TryGetUser("u1", out got));
        Assert.Equal(5, got.Events.Count);
        Assert.Equal("item-3", got.Events[0].ItemId);
        Assert.Equal(new UserEvent("item-7", UserEventKind.Purchase, 2.5f, 2000), got.Events[^1]);
        Assert.Equal(user.Vectors["content"], got.Vectors["content"]);

        var profile = new float[8];
        Assert.True(store.TryGetUserVector("u1", "content", profile));
        Assert.Equal(user.Vectors["content"], profile);
        // Users and items are separate namespaces.
        Assert.False(store.TryGetItem("u1", out _));
    }

    [Fact]
    public void Appending_to_an_unknown_user_creates_it_and_explicit_bucket_is_kept()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        store.AppendUserEvent("new-user", new UserEvent("i", UserEventKind.Like, 1f, 5));
        Assert.True(store.TryGetUser("new-user", out var got));
        Assert.Empty(got.Vectors);
        Assert.Equal([new UserEvent("i", UserEventKind.Like, 1f, 5)], got.Events);

        store.UpsertUser(new UserRecord("pinned") { Bucket = 1 });
        Assert.True(store.TryGetUser("pinned", out var pinned));
        Assert.Equal(1, pinned.Bucket);
        Assert.True(store.DeleteUser("pinned"));
        Assert.False(store.TryGetUser("pinned", out _));
    }

    [Fact]
    public void Concurrent_event_appends_to_one_user_are_all_kept()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path, maxUserEvents: 1000));
        Parallel.For(0, 4, t =>
        {
            for (int i = 0; i < 50; i++)
                store.AppendUserEvent("shared", new UserEvent($"t{t}-{i}", UserEventKind.Click, 1f, i));
        });
        Assert.True(store.TryGetUser("shared", out var got));
        Assert.Equal(200, got.Events.Count);
        for (int t = 0; t < 4; t++)
        {
            // Each thread's events appear in the order it appended them.
            var mine = got.Events.Where(e => e.ItemId.StartsWith($"t{t}-", StringComparison.Ordinal)).Select(e => e.TimestampMs).ToArray();
            Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), mine);
        }
    }

    [Fact]
    public void Default_buckets_are_the_engines_default_experiment()
    {
        foreach (var id in new[] { "abc", "foobar", "user-42", "ü" })
            Assert.Equal(RankEngine.Ranking.BucketAssigner.Assign(id, "default", 7), AbBuckets.ForUser(id, 7));
    }
}
