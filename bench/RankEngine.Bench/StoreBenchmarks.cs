using BenchmarkDotNet.Attributes;
using RankEngine.Store;

namespace RankEngine.Bench;

/// <summary>Shared set-up: a store of 384-d fp32 items, every record in memory.</summary>
internal static class StoreBenchData
{
    public const int Dimension = 384;

    public static RankStore OpenFilled(string directory, int items, long logMemoryBytes)
    {
        var store = RankStore.Open(new StoreOptions
        {
            DataDirectory = directory,
            Schema = new StoreSchema(new VectorSpec("content", Dimension)),
            LogMemoryBytes = logMemoryBytes,
            ExpectedRecords = items,
            CheckpointInterval = null,
            CheckpointWalBytes = long.MaxValue,
            CheckpointOnDispose = false,
        });
        var random = new Random(1);
        var batch = new List<ItemRecord>(4096);
        for (int i = 0; i < items; i++)
        {
            var item = new ItemRecord("item-" + i);
            var v = new float[Dimension];
            for (int j = 0; j < v.Length; j++)
                v[j] = (float)(random.NextDouble() * 2 - 1);
            item.Vectors["content"] = v;
            batch.Add(item);
            if (batch.Count == batch.Capacity)
            {
                store.UpsertItems(batch);
                batch.Clear();
            }
        }
        store.UpsertItems(batch);
        return store;
    }

    public static string NewDirectory() => Path.Combine(Path.GetTempPath(), "rankstore-bench", Guid.NewGuid().ToString("N"));
}

/// <summary>
/// Batched vector reads (the ranking hot path): <see cref="RankStore.ReadMany"/> of random ids, one thread. Time is
/// reported per read (OperationsPerInvoke = batch), so reads/s per core = 1 / time.
/// </summary>
[MemoryDiagnoser]
public class StoreReadManyBenchmarks
{
    private const int IdPool = 1 << 16;
    private RankStore _store = null!;
    private string _directory = null!;
    private string[] _ids = null!;
    private float[] _destination = null!;
    private bool[] _found = null!;
    private int _offset;

    /// <summary>Distinct items in the store: 1,000 fit the CPU caches (1.5 MB of vectors); 200,000 (300 MB) do not.</summary>
    [Params(1_000, 200_000)]
    public int Items { get; set; }

    /// <summary>Ids per ReadMany call.</summary>
    [Params(1000)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = StoreBenchData.NewDirectory();
        _store = StoreBenchData.OpenFilled(_directory, Items, logMemoryBytes: 1L << 30);
        var random = new Random(2);
        _ids = new string[IdPool];
        for (int i = 0; i < _ids.Length; i++)
            _ids[i] = "item-" + random.Next(Items);
        _destination = new float[Batch * StoreBenchData.Dimension];
        _found = new bool[Batch];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public int ReadMany384()
    {
        if (_offset + Batch > _ids.Length)
            _offset = 0;
        int found = _store.ReadMany(_ids.AsSpan(_offset, Batch), "content", _destination, _found);
        _offset += Batch;
        return found;
    }
}

/// <summary>
/// Start-up build of the catalog mirror from the store (FASTER iteration of live records + dense copy) for 1M
/// items of 384-d fp32: what <see cref="RankStore.Open"/> does after recovery.
/// </summary>
[MemoryDiagnoser]
public class CatalogMirrorBuildBenchmarks
{
    private RankStore _store = null!;
    private string _directory = null!;

    [Params(1_000_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = StoreBenchData.NewDirectory();
        _store = StoreBenchData.OpenFilled(_directory, Items, logMemoryBytes: 4L << 30);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public int BuildMirror1M() => _store.BuildCatalogMirrorForBenchmark().Count;
}
