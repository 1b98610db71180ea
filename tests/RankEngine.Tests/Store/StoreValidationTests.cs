using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Store;

/// <summary>Every bad input is rejected with a message that names the problem, and leaves the store exactly as it was.</summary>
public class StoreValidationTests
{
    private static ItemRecord Valid(string id = "existing") => StoreTestKit.Item(id);

    private static ItemRecord With(Action<ItemRecord> change, string id = "existing")
    {
        var item = new ItemRecord(id);
        foreach (var (name, v) in Valid().Vectors)
            item.Vectors[name] = (float[])v.Clone();
        foreach (var (name, f) in Valid().Fields)
            item.Fields[name] = f;
        change(item);
        return item;
    }

    public static TheoryData<string, Func<ItemRecord>, string> BadItems() => new()
    {
        { "dimension too small", () => With(i => i.Vectors["content"] = new float[7]), "has 7 values; the schema declares dimension 8" },
        { "dimension too large", () => With(i => i.Vectors["collab"] = new float[5]), "has 5 values; the schema declares dimension 4" },
        { "NaN", () => With(i => i.Vectors["content"][3] = float.NaN), "non-finite value (NaN) at index 3" },
        { "+infinity", () => With(i => i.Vectors["content"][0] = float.PositiveInfinity), "non-finite value" },
        { "-infinity", () => With(i => i.Vectors["collab"][2] = float.NegativeInfinity), "non-finite value" },
        { "fp16 overflow", () => With(i => i.Vectors["collab"][1] = 70000f), "exceeds the fp16 range" },
        { "unknown vector name", () => With(i => i.Vectors["image"] = new float[8]), "unknown vector name 'image'; the schema declares content(8, fp32), collab(4, fp16)" },
        { "null vector", () => With(i => i.Vectors["content"] = null!), "vector 'content' is null" },
        { "no vectors", () => With(i => i.Vectors.Clear()), "needs at least one vector" },
        { "empty id", () => With(_ => { }, id: ""), "Item id must not be empty" },
        { "null id", () => With(_ => { }, id: null!), "Item id must not be empty" },
        { "id over 256 ASCII bytes", () => With(_ => { }, id: new string('a', 257)), "too long: at most 256 UTF-8 bytes" },
        { "id over 256 UTF-8 bytes in 86 chars", () => With(_ => { }, id: new string('ж', 129)), "too long: at most 256 UTF-8 bytes are allowed (got 258)" },
        { "lone surrogate id", () => With(_ => { }, id: "bad\uD800id"), "not valid Unicode" },
        { "NaN number field", () => With(i => i.Fields["price"] = FieldValue.Num(double.NaN)), "number field 'price' is NaN" },
        { "string field too long", () => With(i => i.Fields["title"] = FieldValue.String(new string('x', StoreLimits.MaxStringFieldBytes + 1))), "field 'title' is 4097 UTF-8 bytes" },
        { "too many fields", () => With(i => { for (int f = 0; f < StoreLimits.MaxFields; f++) i.Fields["f" + f] = FieldValue.Num(f); }), "fields; at most 64" },
        { "empty field name", () => With(i => i.Fields[""] = FieldValue.Num(1)), "field name must not be empty" },
        { "empty tag", () => With(i => i.Fields["tags"] = FieldValue.Tags("ok", "")), "empty or null tag" },
        { "text too long", () => With(i => i.Text = new string('t', StoreLimits.MaxTextBytes + 1)), "text is 65537 UTF-8 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadItems))]
    public void Bad_item_is_rejected_and_store_unchanged(string caseName, Func<ItemRecord> make, string expectedMessage)
    {
        _ = caseName;
        using var dir = new TempDirectory();
        var original = Valid();
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path, checkpointOnDispose: false)))
        {
            store.UpsertItem(original);
            long walTail = store.WalTailAddress;
            long changes = store.Catalog.ChangeCount;

            var bad = make();
            var e = Assert.Throws<InvalidRecordException>(() => store.UpsertItem(bad));
            Assert.Contains(expectedMessage, e.Message);
            // The async path and the batch path reject the same way.
            Assert.Throws<InvalidRecordException>(() => store.UpsertItemAsync(bad).AsTask().GetAwaiter().GetResult());
            Assert.Throws<InvalidRecordException>(() => store.UpsertItems([Valid("batch-ok"), bad]));

            Assert.Equal(walTail, store.WalTailAddress);
            Assert.Equal(changes, store.Catalog.ChangeCount);
            Assert.Equal(1, store.ItemCount);
            Assert.False(store.ContainsItem("batch-ok"));
            Assert.True(store.TryGetItem("existing", out var got));
            StoreTestKit.AssertSameItem(original, got, StoreTestKit.Schema);
        }
        // And nothing of it comes back from the log after a restart (no checkpoint taken: everything is replayed).
        using (var store = RankStore.Open(StoreTestKit.Options(dir.Path)))
        {
            Assert.Equal(1, store.ItemCount);
            Assert.True(store.TryGetItem("existing", out var got));
            StoreTestKit.AssertSameItem(original, got, StoreTestKit.Schema);
        }
    }

    [Fact]
    public void Id_of_exactly_256_utf8_bytes_is_accepted()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        string id = new string('ж', 128); // 2 bytes each
        store.UpsertItem(With(_ => { }, id));
        Assert.True(store.TryGetItem(id, out _));
    }

    [Fact]
    public void Bad_reads_are_rejected_with_clear_errors()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        store.UpsertItem(Valid());
        var e = Assert.Throws<ArgumentException>(() => store.ReadMany(["existing"], "image", new float[8], new bool[1]));
        Assert.Contains("Unknown vector name 'image'", e.Message);
        e = Assert.Throws<ArgumentException>(() => store.ReadMany(["existing", "x"], "content", new float[15], new bool[2]));
        Assert.Contains("2 ids × dimension 8 need 16", e.Message);
        e = Assert.Throws<ArgumentException>(() => store.ReadMany(["existing", "x"], "content", new float[16], new bool[1]));
        Assert.Contains("found holds 1 flags", e.Message);
        var rows = new float[24];
        var found = new bool[3];
        // An invalid id in the middle of a batch: the error names it, and reads issued before it were completed.
        var bad = Assert.Throws<InvalidRecordException>(() => store.ReadMany(["existing", "", "existing"], "content", rows, found));
        Assert.Contains("id must not be empty", bad.Message);
        Assert.Throws<InvalidRecordException>(() => store.TryGetItem(new string('q', 300), out _));
        // The store still works.
        Assert.Equal(1, store.ReadMany(["existing"], "content", rows, found));
    }

    public static TheoryData<string, Func<UserRecord>, string> BadUsers() => new()
    {
        { "wrong dimension", () => { var u = new UserRecord("u"); u.Vectors["content"] = new float[3]; return u; }, "has 3 values" },
        { "NaN profile", () => { var u = new UserRecord("u"); u.Vectors["content"] = [1, 2, 3, float.NaN, 5, 6, 7, 8]; return u; }, "non-finite" },
        { "unknown vector", () => { var u = new UserRecord("u"); u.Vectors["nope"] = new float[8]; return u; }, "unknown vector name 'nope'" },
        { "bucket out of range", () => new UserRecord("u") { Bucket = 2 }, "A/B bucket 2 is outside 0..1" },
        { "event with empty item id", () => { var u = new UserRecord("u"); u.Events.Add(new UserEvent("", UserEventKind.Click, 1, 0)); return u; }, "item id must not be empty" },
        { "event with NaN weight", () => { var u = new UserRecord("u"); u.Events.Add(new UserEvent("i", UserEventKind.Click, float.NaN, 0)); return u; }, "weight NaN is not finite" },
        { "event with unknown kind", () => { var u = new UserRecord("u"); u.Events.Add(new UserEvent("i", (UserEventKind)99, 1, 0)); return u; }, "unknown event kind 99" },
        { "empty id", () => new UserRecord(""), "User id must not be empty" },
    };

    [Theory]
    [MemberData(nameof(BadUsers))]
    public void Bad_user_is_rejected_and_store_unchanged(string caseName, Func<UserRecord> make, string expectedMessage)
    {
        _ = caseName;
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        var original = new UserRecord("u") { Bucket = 0 };
        original.Events.Add(new UserEvent("first", UserEventKind.Like, 1, 1));
        store.UpsertUser(original);
        long walTail = store.WalTailAddress;

        var e = Assert.Throws<InvalidRecordException>(() => store.UpsertUser(make()));
        Assert.Contains(expectedMessage, e.Message);
        Assert.Equal(walTail, store.WalTailAddress);
        Assert.True(store.TryGetUser("u", out var got));
        Assert.Equal(original.Events, got.Events);
        Assert.Equal(0, got.Bucket);
    }

    [Fact]
    public void Bad_event_append_is_rejected_and_history_unchanged()
    {
        using var dir = new TempDirectory();
        using var store = RankStore.Open(StoreTestKit.Options(dir.Path));
        store.AppendUserEvent("u", new UserEvent("a", UserEventKind.Click, 1, 1));
        long walTail = store.WalTailAddress;
        Assert.Contains("not finite", Assert.Throws<InvalidRecordException>(() => store.AppendUserEvent("u", new UserEvent("b", UserEventKind.Click, float.PositiveInfinity, 2))).Message);
        Assert.Contains("too long", Assert.Throws<InvalidRecordException>(() => store.AppendUserEvent(new string('u', 257), new UserEvent("b", UserEventKind.Click, 1, 2))).Message);
        Assert.Contains("is 300 UTF-8 bytes", Assert.Throws<InvalidRecordException>(() => store.AppendUserEvent("u", new UserEvent(new string('i', 300), UserEventKind.Click, 1, 2))).Message);
        Assert.Equal(walTail, store.WalTailAddress);
        Assert.True(store.TryGetUser("u", out var got));
        Assert.Single(got.Events);
    }

    [Fact]
    public void Bad_schemas_are_rejected()
    {
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => new StoreSchema()).Message);
        Assert.Contains("declared twice", Assert.Throws<ArgumentException>(() => new StoreSchema(new VectorSpec("a", 2), new VectorSpec("a", 3))).Message);
        Assert.Contains("dimension must be", Assert.Throws<ArgumentException>(() => new StoreSchema(new VectorSpec("a", 0))).Message);
        Assert.Contains("may contain only", Assert.Throws<ArgumentException>(() => new StoreSchema(new VectorSpec("a b", 2))).Message);
    }
}
