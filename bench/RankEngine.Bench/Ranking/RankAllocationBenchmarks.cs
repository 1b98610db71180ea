using BenchmarkDotNet.Attributes;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Bench.Ranking;

/// <summary>
/// Allocations of one <c>RANK</c> (issue #10): <c>engine.Rank(K 10)</c> for a user with 20 likes over a catalog of
/// 384-d content and 64-d collab vectors with popularity and genres (as <c>rank-path</c>), at two catalog sizes, so
/// the Allocated column shows whether a ranking's allocations grow with the catalog (they should not: the scan's
/// buffers are pooled, only the top-k and the reply are new).
///   dotnet run -c Release --project bench/RankEngine.Bench -- --filter '*RankAllocation*' --job short
/// </summary>
[MemoryDiagnoser]
public class RankAllocationBenchmarks
{
    private const int ContentDim = 384, CollabDim = 64;
    private string _dir = null!;
    private RankingEngine _engine = null!;
    private RankRequest _k10 = null!, _filtered = null!;

    [Params(20_000, 200_000)]
    public int Items { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "rankengine-bdn-rankalloc-" + Guid.NewGuid().ToString("n"));
        _engine = RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = _dir, ContentDimension = ContentDim, CollabDimension = CollabDim, CheckpointInterval = null,
        });
        var rng = new Random(1);
        float[] Vector(int n)
        {
            var v = new float[n];
            for (int j = 0; j < n; j++) v[j] = rng.NextSingle() * 2 - 1;
            return v;
        }
        var batch = new List<ItemInput>(10_000);
        for (int i = 0; i < Items; i++)
        {
            batch.Add(new ItemInput($"i{i}")
            {
                ContentVector = Vector(ContentDim),
                CollabVector = Vector(CollabDim),
                Fields = new Dictionary<string, FieldValue>
                {
                    ["popularity"] = FieldValue.Num(rng.NextDouble() * 1000),
                    ["genres"] = FieldValue.Tags($"genre-{rng.Next(20):00}"),
                },
            });
            if (batch.Count == batch.Capacity) { _engine.AddItems(batch); batch.Clear(); }
        }
        if (batch.Count > 0) _engine.AddItems(batch);
        for (int e = 0; e < 20; e++) _engine.RecordEvent("user-0", $"i{rng.Next(Items)}", UserEventKind.Like);
        _k10 = new RankRequest { UserId = "user-0", K = 10 };
        _filtered = new RankRequest { UserId = "user-0", K = 10, ExcludeSeen = true, Filters = [ItemFilter.Parse("popularity>=500")] };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Benchmark(Baseline = true)]
    public RankResponse RankK10() => _engine.Rank(_k10);

    /// <summary>With EXCLUDE_SEEN and a range filter: the filter's row mask is the one catalog-sized buffer.</summary>
    [Benchmark]
    public RankResponse RankK10Filtered() => _engine.Rank(_filtered);
}
