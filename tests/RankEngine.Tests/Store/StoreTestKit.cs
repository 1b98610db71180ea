using Xunit;
using RankEngine.Store;

namespace RankEngine.Tests.Store;

/// <summary>A fresh data directory under the temp folder, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rankstore-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
    }
}

/// <summary>Small schemas, options and deterministic records shared by the store tests.</summary>
internal static class StoreTestKit
{
    public static readonly StoreSchema Schema = new(
        new VectorSpec("content", 8, VectorElementType.Float32),
        new VectorSpec("collab", 4, VectorElementType.Float16));

    public static StoreOptions Options(string directory, StoreSchema? schema = null, bool checkpointOnDispose = true, int maxUserEvents = 100) => new()
    {
        DataDirectory = directory,
        Schema = schema ?? Schema,
        CheckpointInterval = null,
        CheckpointOnDispose = checkpointOnDispose,
        LogMemoryBytes = 16L << 20,
        ExpectedRecords = 4096,
        MaxUserEvents = maxUserEvents,
    };

    /// <summary>Deterministic values from a string seed: the same id always gives the same vector.</summary>
    public static float[] VectorFor(string seed, int dimension)
    {
        var random = new Random(StableHash(seed));
        var v = new float[dimension];
        for (int i = 0; i < dimension; i++)
            v[i] = (float)(random.NextDouble() * 2 - 1);
        return v;
    }

    public static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char c in s)
                h = (h ^ c) * 16777619;
            return h;
        }
    }

    public static ItemRecord Item(string id, bool withCollab = true)
    {
        var item = new ItemRecord(id) { Text = "text of " + id };
        item.Vectors["content"] = VectorFor(id + "/content", 8);
        if (withCollab)
            item.Vectors["collab"] = VectorFor(id + "/collab", 4);
        item.Fields["title"] = FieldValue.String("Title " + id);
        item.Fields["price"] = FieldValue.Num(StableHash(id) % 1000 / 10.0);
        item.Fields["tags"] = FieldValue.Tags("a", "b-" + id);
        return item;
    }

    /// <summary>What an fp16 store returns for a float: the value rounded to the nearest binary16.</summary>
    public static float[] RoundToHalf(float[] v) => v.Select(x => (float)(Half)x).ToArray();

    public static void AssertSameItem(ItemRecord expected, ItemRecord actual, StoreSchema schema)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Vectors.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Vectors.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, v) in expected.Vectors)
        {
            var spec = schema.Vectors[schema.GetSlot(name)];
            var want = spec.ElementType == VectorElementType.Float16 ? RoundToHalf(v) : v;
            Assert.Equal(want, actual.Vectors[name]);
        }
        Assert.Equal(expected.Fields.Count, actual.Fields.Count);
        foreach (var (name, f) in expected.Fields)
            Assert.Equal(f, actual.Fields[name]);
    }
}
