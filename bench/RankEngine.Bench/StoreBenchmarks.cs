using BenchmarkDotNet.Attributes;
using RankEngine.Store;

namespace RankEngine.Bench;

/// <summary>Shared set-up: a store of fp32 items with one vector, every record in memory.</summary>
internal static class StoreBenchData
{
    public static RankStore OpenFilled(string directory, int items, int dimension, long logMemoryBytes)
    {
        var store = RankStore.Open(new StoreOptions
        {
            DataDirectory = directory,
            Schema = new StoreSchema(new VectorSpec("content", dimension)),
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
            var v = new float[dimension];
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
/// reported per read (OperationsPerInvoke = batch), so reads/s per core = 1 / time. 384-d is the target case; 16-d
/// shows the per-lookup cost of FASTER without the 1.5 KB copy.
/// </summary>
[MemoryDiagnoser]
public class StoreReadManyBenchmarks
{
    private const int IdPool = 1 << 16;
    private RankStore _store = null!;
    private string _directory = null!;
    private string[] _ids = null!;
    private int[] _rows = null!;
    private float[] _matrix = null!;
    private float[] _destination = null!;
    private bool[] _found = null!;
    private int _offset;

    /// <summary>Distinct items in the store: 1,000 fit the CPU caches (1.5 MB of vectors); 200,000 (300 MB) do not.</summary>
    [Params(1_000, 200_000)]
    public int Items { get; set; }

    /// <summary>Vector dimension (fp32).</summary>
    [Params(384, 16)]
    public int Dimension { get; set; }

    private const int Batch = 1000;

    [GlobalSetup]
    public void Setup()
    {
        _directory = StoreBenchData.NewDirectory();
        _store = StoreBenchData.OpenFilled(_directory, Items, Dimension, logMemoryBytes: 1L << 30);
        var random = new Random(2);
        _ids = new string[IdPool];
        _rows = new int[IdPool];
        for (int i = 0; i < _ids.Length; i++)
        {
            _rows[i] = random.Next(Items);
            _ids[i] = "item-" + _rows[i];
        }
        _matrix = new float[(long)Items * Dimension];
        new Random(3).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_matrix.AsSpan()));
        _destination = new float[Batch * Dimension];
        _found = new bool[Batch];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>
    /// The memory roofline for the same access pattern: copy the same random 384-float rows out of a dense
    /// matrix with no lookup at all. No key-value store can beat this on this machine.
    /// </summary>
    [Benchmark(OperationsPerInvoke = 1000, Baseline = true)]
    public int RowCopyRoofline()
    {
        if (_offset + Batch > _ids.Length)
            _offset = 0;
        var rows = _rows.AsSpan(_offset, Batch);
        for (int i = 0; i < rows.Length; i++)
            _matrix.AsSpan(rows[i] * Dimension, Dimension).CopyTo(_destination.AsSpan(i * Dimension));
        _offset += Batch;
        return rows.Length;
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public int ReadMany()
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
        _store = StoreBenchData.OpenFilled(_directory, Items, 384, logMemoryBytes: 4L << 30);
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
