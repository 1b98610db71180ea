using System.Globalization;
using System.Runtime.InteropServices;
using RankEngine.Catalog;

namespace RankEngine.Bench.Scoring;

/// <summary>
/// <c>bench quant-scan [rows] [rounds] [queries] [--int8-kernel NAME]</c>: whole-catalog top-100 over the same
/// rows × 384 catalog (1M by default; <see cref="ScoringSideBySide"/>'s uniform(−1, 1) data, each row made a unit
/// vector as the engine stores content), interleaved round by round in one process:
/// <list type="bullet">
/// <item>RankEngine, one engine per <see cref="CatalogQuantization"/> value in <see cref="Quantizations"/> (opened with
/// <see cref="RankingEngineOptions.Quantization"/>, loaded through <c>AddItems</c>), searched by the catalog scan alone
/// (<see cref="ShardSearch.Run"/> on each shard of a snapshot: content term only, no user, no model);</item>
/// <item>FAISS IndexFlatIP and IndexScalarQuantizer (QT_8bit, inner product, trained on the catalog), one
/// tools/faiss_flat_server.py process holding both, each query searched alone and (FAISS's parallel path: OpenMP
/// over the queries of one call) all the pass's queries in one call.</item>
/// </list>
/// Before timing, recall@100 of every contender against the exact fp32 top-100 of a plain brute force (dot products
/// in C#, independent of both engines' scan code) over 64 queries.
/// </summary>
internal static class QuantScanSideBySide
{
    /// <summary>Our contenders, one engine each. Another catalog quantisation is one more entry here.</summary>
    private static readonly CatalogQuantization[] Quantizations =
    [
        CatalogQuantization.None,
        CatalogQuantization.Int8,
        CatalogQuantization.Fp16,
    ];

    private const int Dim = 384, K = 100, RecallQueries = 64;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string Name(CatalogQuantization q) => q == CatalogQuantization.None ? "fp32" : q.ToString().ToLowerInvariant();

    public static void Run(int rows, int rounds, int queriesPerPass)
    {
        queriesPerPass = Math.Clamp(queriesPerPass, 1, RecallQueries);
        int threads = Environment.ProcessorCount;
        Console.WriteLine($"# Quantised catalog scans: {rows:N0} × {Dim} unit vectors, top-{K}, {threads} threads each");
        BenchMachine.Print();
        ShardSearch.ForcedInt8Kernel = Int8Kernels.Forced == Compute.Simd.Int8Kernel.Auto ? null : Int8Kernels.Forced;
        Console.WriteLine($"RankEngine int8 first-pass kernel: {ShardSearch.ForcedInt8Kernel?.ToString() ?? Compute.Simd.Int8Dots.Default + " (auto)"}; " +
            $"candidates re-scored in fp32 for k = {K}: {ShardSearch.QuantizedCandidates(K)}  ");

        var catalog = new float[(long)rows * Dim];
        var queries = new float[RecallQueries * Dim];
        ScoringSideBySide.Fill(catalog, 1);
        ScoringSideBySide.Fill(queries, 2);
        Normalize(catalog);
        Normalize(queries);

        string dir = Path.Combine(Path.GetTempPath(), "rankengine-quantscan-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var engines = new List<(CatalogQuantization Q, RankingEngine Engine)>();
        try
        {
            string catalogPath = Path.Combine(dir, "catalog.f32"), queryPath = Path.Combine(dir, "queries.f32");
            ScoringSideBySide.WriteRaw(catalogPath, catalog);
            ScoringSideBySide.WriteRaw(queryPath, queries);
            using var faiss = new FaissProcess(catalogPath, rows, Dim, queryPath, RecallQueries, threads, "flat,sq8");
            Console.WriteLine($"FAISS: {faiss.Banner}  ");
            File.Delete(catalogPath);

            var truth = BruteForce(catalog, rows, queries);
            foreach (var q in Quantizations) engines.Add((q, Load(q, catalog, rows, Path.Combine(dir, "engine-" + Name(q)))));
            catalog = null!;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            Console.WriteLine();

            // Recall against the brute force, every contender, 64 queries.
            var recall = new Dictionary<string, double>();
            foreach (var (q, engine) in engines)
                recall["RankEngine " + Name(q)] = Recall(truth, Enumerable.Range(0, RecallQueries).Select(i => Search(engine, queries, i).Select(h => int.Parse(h.Id.AsSpan(1), Inv)).ToArray()).ToArray());
            foreach (var (index, name) in new[] { ("flat", "FAISS IndexFlatIP"), ("sq8", "FAISS SQ8") })
            {
                string path = Path.Combine(dir, $"faiss-{index}.i64");
                faiss.Dump(RecallQueries, K, path, index);
                var ids = MemoryMarshal.Cast<byte, long>(File.ReadAllBytes(path)).ToArray();
                recall[name] = Recall(truth, Enumerable.Range(0, RecallQueries).Select(i => ids.AsSpan(i * K, K).ToArray().Select(x => (int)x).ToArray()).ToArray());
            }

            int nq = queriesPerPass;
            var contenders = new List<SideBySide.Contender>
            {
                new("FAISS IndexFlatIP, 1 query per call", () => faiss.Each(nq, K, "flat"), nq, "queries/s"),
                new("FAISS SQ8, 1 query per call", () => faiss.Each(nq, K, "sq8"), nq, "queries/s"),
                new($"FAISS IndexFlatIP, {nq} queries per call", () => faiss.Search(nq, K, "flat"), nq, "queries/s"),
                new($"FAISS SQ8, {nq} queries per call", () => faiss.Search(nq, K, "sq8"), nq, "queries/s"),
            };
            foreach (var (q, engine) in engines)
                contenders.Add(new($"RankEngine {Name(q)}", () => { for (int i = 0; i < nq; i++) Search(engine, queries, i); }, nq, "queries/s"));
            var results = SideBySide.RunRounds($"quant-scan: top-{K} of {rows:N0} × {Dim}, {nq} queries per pass", rounds, TimeSpan.FromSeconds(0.5), contenders.ToArray());

            Console.WriteLine("| contender | median ms per query | best ms per query | recall@100 vs exact fp32 |");
            Console.WriteLine("|---|---:|---:|---:|");
            foreach (var r in results)
            {
                string key = r.Name.StartsWith("RankEngine", StringComparison.Ordinal) ? r.Name : r.Name[..r.Name.IndexOf(',')];
                Console.WriteLine(string.Create(Inv, $"| {r.Name} | {1000 / r.Median:F1} | {1000 / r.Best:F1} | {recall[key]:F4} |"));
            }
            Console.WriteLine();
            var byName = results.ToDictionary(r => r.Name);
            var ours = results.Where(r => r.Name.StartsWith("RankEngine", StringComparison.Ordinal)).ToList();
            var fp32 = byName["RankEngine fp32"];
            void Ratio(SideBySide.Result a, SideBySide.Result b)
            {
                double speed = SideBySide.MedianRatio(a, b);
                Console.WriteLine(string.Create(Inv, $"median per-round ratio {a.Name} / {b.Name}: **{speed:F2}×** the speed (time {1 / speed:F2}×)  "));
            }
            Ratio(fp32, byName["FAISS IndexFlatIP, 1 query per call"]);
            Ratio(fp32, byName[$"FAISS IndexFlatIP, {nq} queries per call"]);
            foreach (var r in ours.Where(r => r != fp32))
            {
                Ratio(r, fp32);
                Ratio(r, byName["FAISS SQ8, 1 query per call"]);
                Ratio(r, byName[$"FAISS SQ8, {nq} queries per call"]);
            }
            Console.WriteLine($"({rounds} interleaved rounds; a pass runs each contender's {nq} queries; recall over {RecallQueries} queries)");
            Console.WriteLine();
        }
        finally
        {
            foreach (var (_, engine) in engines) engine.Dispose();
            ShardSearch.ForcedInt8Kernel = null;
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void Normalize(float[] values)
    {
        for (long r = 0; r < values.LongLength / Dim; r++)
        {
            var row = values.AsSpan((int)(r * Dim), Dim);
            System.Numerics.Tensors.TensorPrimitives.Divide(row, System.Numerics.Tensors.TensorPrimitives.Norm(row), row);
        }
    }

    private static RankingEngine Load(CatalogQuantization q, float[] catalog, int rows, string dir)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var engine = RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = dir, ContentDimension = Dim, CollabDimension = 0, CheckpointInterval = null, Quantization = q,
        });
        const int batchSize = 10_000;
        var batch = new List<ItemInput>(batchSize);
        for (int start = 0; start < rows; start += batchSize)
        {
            batch.Clear();
            for (int r = start; r < Math.Min(rows, start + batchSize); r++)
                batch.Add(new ItemInput(string.Create(Inv, $"i{r}")) { ContentVector = catalog.AsSpan(r * Dim, Dim).ToArray() });
            engine.AddItems(batch);
            Console.Error.Write(string.Create(Inv, $"\rloading {Name(q)}: {start + batch.Count:N0} / {rows:N0} items, {clock.Elapsed.TotalSeconds:F0} s   "));
        }
        Console.Error.WriteLine();
        Console.WriteLine(string.Create(Inv, $"RankEngine {Name(q)}: engine opened with Quantization = {q}, {rows:N0} items loaded in {clock.Elapsed.TotalSeconds:F0} s  "));
        return engine;
    }

    /// <summary>The catalog scan of one engine, alone: content term only, the shards' hits merged by the one tie rule.</summary>
    private static ShardHit[] Search(RankingEngine engine, float[] queries, int i)
    {
        var query = new ShardQuery { Content = queries.AsMemory(i * Dim, Dim), ContentWeight = 1f, K = K };
        int slot = engine.Store.Schema.GetSlot("content");
        var snapshot = engine.Store.Catalog.Snapshot();
        if (snapshot.Shards.Count == 1) return ShardSearch.Run(snapshot.Shards[0], null, query, slot, -1);
        var hits = snapshot.Shards.SelectMany(s => ShardSearch.Run(s, null, query, slot, -1)).ToList();
        hits.Sort(HitOrder.Instance);
        return hits.Take(K).ToArray();
    }

    /// <summary>Exact top-K rows of every query by plain dot products (no blocking, no shared code with either scan).</summary>
    private static int[][] BruteForce(float[] catalog, int rows, float[] queries)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int chunks = Environment.ProcessorCount * 8;
        var partial = new (float Score, int Row)[chunks][][];
        Parallel.For(0, chunks, c =>
        {
            int from = (int)((long)rows * c / chunks), to = (int)((long)rows * (c + 1) / chunks);
            var heaps = Enumerable.Range(0, RecallQueries).Select(_ => new PriorityQueue<int, float>(K + 1)).ToArray();
            for (int r = from; r < to; r++)
            {
                var row = new ReadOnlySpan<float>(catalog, r * Dim, Dim);
                for (int q = 0; q < RecallQueries; q++)
                {
                    float s = System.Numerics.Tensors.TensorPrimitives.Dot(row, new ReadOnlySpan<float>(queries, q * Dim, Dim));
                    var heap = heaps[q];
                    if (heap.Count < K) heap.Enqueue(r, s);
                    else if (heap.TryPeek(out _, out float min) && s > min) heap.EnqueueDequeue(r, s);
                }
            }
            partial[c] = heaps.Select(h => h.UnorderedItems.Select(x => (x.Priority, x.Element)).ToArray()).ToArray();
        });
        var truth = new int[RecallQueries][];
        for (int q = 0; q < RecallQueries; q++)
            truth[q] = partial.SelectMany(p => p[q]).OrderByDescending(x => x.Score).ThenBy(x => x.Row).Take(K).Select(x => x.Row).ToArray();
        Console.WriteLine(string.Create(Inv, $"exact fp32 top-{K} of {RecallQueries} queries by brute force: {clock.Elapsed.TotalSeconds:F1} s  "));
        return truth;
    }

    private static double Recall(int[][] truth, int[][] got)
    {
        double sum = 0;
        for (int q = 0; q < truth.Length; q++)
        {
            var set = truth[q].ToHashSet();
            sum += got[q].Count(set.Contains) / (double)K;
        }
        return sum / truth.Length;
    }
}
