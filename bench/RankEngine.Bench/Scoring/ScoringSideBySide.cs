using System.Diagnostics;
using System.Runtime.InteropServices;
using RankEngine.Compute;
using RankEngine.Compute.Ilgpu;
using RankEngine.Compute.Simd;
using RankEngine.Model;

namespace RankEngine.Bench.Scoring;

/// <summary>
/// <c>bench scoring [rows] [rounds]</c>: exact scoring + top-k (k = 100) of 1 and 64 queries over a rows × 384 fp32
/// catalog (1M by default), RankEngine's SIMD backend against FAISS IndexFlatIP (Debian python3-faiss, run as a
/// subprocess on the same data files), interleaved round by round in one run (see <see cref="SideBySide"/>). With a
/// CUDA device, the ILGPU backend (fp32 and fp16 catalogs) joins. Before timing, the harness checks that FAISS and
/// RankEngine return the same ids, and measures this machine's read bandwidth and GEMM rate as the yardsticks of
/// DESIGN §5's targets.
/// </summary>
internal static class ScoringSideBySide
{
    private const int Dim = 384, K = 100, ManyQueries = 64;

    public static void Run(int rows, int rounds)
    {
        Console.WriteLine($"# Scoring + top-k: {rows:N0} × {Dim} fp32 catalog, k = {K}, {Environment.ProcessorCount} threads each");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.ProcessArchitecture}, {RuntimeInformation.OSDescription}, .NET {Environment.Version}\n");

        var catalog = new float[(long)rows * Dim];
        var queries = new float[ManyQueries * Dim];
        Fill(catalog, 1);
        Fill(queries, 2);

        string dir = Path.Combine(Path.GetTempPath(), "rankengine-scoring-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            string catalogPath = Path.Combine(dir, "catalog.f32"), queryPath = Path.Combine(dir, "queries.f32");
            WriteRaw(catalogPath, catalog);
            WriteRaw(queryPath, queries);
            using var faiss = new FaissProcess(catalogPath, rows, Dim, queryPath, ManyQueries, Environment.ProcessorCount);
            Console.WriteLine($"FAISS: {faiss.Banner}");
            File.Delete(catalogPath); // FAISS holds its own copy now

            using var simd = new SimdCpuBackend();
            using var simdCatalog = simd.CreateCatalog(Dim, rows);
            simdCatalog.Upload(catalog);
            Console.WriteLine($"RankEngine SIMD: {simd.DeviceDescription}");

            IlgpuBackend? cuda = IlgpuDevices.HasCuda() ? IlgpuBackend.Create(IlgpuDeviceKind.Cuda) : null;
            ICatalogMatrix? cuda32 = null, cuda16 = null;
            if (cuda is not null)
            {
                cuda32 = cuda.CreateCatalog(Dim, rows, TensorType.F32);
                cuda32.Upload(catalog);
                cuda16 = cuda.CreateCatalog(Dim, rows, TensorType.F16);
                cuda16.Upload(catalog);
                Console.WriteLine($"RankEngine CUDA: {cuda.DeviceDescription}");
            }
            else
            {
                Console.WriteLine("RankEngine CUDA: no CUDA device here (GPU figures need a GPU machine)");
            }
            Console.WriteLine();

            Agreement(faiss, simd, simdCatalog, queries, dir, "SIMD");
            if (cuda is not null) Agreement(faiss, cuda, cuda32!, queries, dir, "CUDA fp32");
            Yardsticks(catalog);

            var ids = new int[ManyQueries * K];
            var scores = new float[ManyQueries * K];
            double bytes = (double)rows * Dim * sizeof(float);
            foreach (int nq in new[] { 1, ManyQueries })
            {
                var q = queries.AsSpan(0, nq * Dim).ToArray();
                bool one = nq == 1;
                double work = one ? bytes / 1e6 : 2.0 * rows * Dim * nq / 1e6;
                string unit = one ? "MB/s (catalog read)" : "MFLOP/s";
                var contenders = new List<SideBySide.Contender>
                {
                    new("FAISS IndexFlatIP", () => faiss.Search(nq, K), work, unit),
                    new("RankEngine SIMD", () => simd.TopK(q, simdCatalog, K, ids, scores), work, unit),
                };
                if (cuda is not null)
                {
                    contenders.Add(new("RankEngine CUDA fp32", () => cuda.TopK(q, cuda32!, K, ids, scores), work, unit));
                    contenders.Add(new("RankEngine CUDA fp16", () => cuda.TopK(q, cuda16!, K, ids, scores), one ? work / 2 : work, unit));
                }
                var results = SideBySide.Run($"{nq} quer{(one ? "y" : "ies")}, k = {K}", rounds, TimeSpan.FromSeconds(0.5), contenders.ToArray());
                foreach (var (name, median, _) in results)
                    Console.WriteLine($"- {name}: median {work / median * 1000:F1} ms per search" +
                        (one ? $", {median / 1000:F2} GB/s" : $", {median / 1000:F1} GFLOP/s"));
                Console.WriteLine();
            }
            cuda32?.Dispose();
            cuda16?.Dispose();
            cuda?.Dispose();
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Top-100 ids of FAISS and RankEngine for all 64 queries: identical except where scores tie to float noise.</summary>
    private static void Agreement(FaissProcess faiss, IScoringBackend backend, ICatalogMatrix catalog, float[] queries, string dir, string name)
    {
        string path = Path.Combine(dir, "faiss-ids.i64");
        faiss.Dump(ManyQueries, K, path);
        var faissIds = MemoryMarshal.Cast<byte, long>(File.ReadAllBytes(path)).ToArray();
        var ids = new int[ManyQueries * K];
        var scores = new float[ManyQueries * K];
        backend.TopK(queries, catalog, K, ids, scores);
        int same = 0, sameSet = 0;
        for (int q = 0; q < ManyQueries; q++)
        {
            var set = new HashSet<long>();
            for (int i = 0; i < K; i++) set.Add(faissIds[q * K + i]);
            for (int i = 0; i < K; i++)
            {
                if (faissIds[q * K + i] == ids[q * K + i]) same++;
                if (set.Contains(ids[q * K + i])) sameSet++;
            }
        }
        Console.WriteLine($"agreement {name} vs FAISS over {ManyQueries} × top-{K}: same id at the same rank {100.0 * same / ids.Length:F2}%, same top-{K} set {100.0 * sameSet / ids.Length:F2}%");
    }

    /// <summary>This machine's parallel read bandwidth (sum over the catalog) and GEMM rate (our SIMD GEMM, 1024³).</summary>
    private static unsafe void Yardsticks(float[] catalog)
    {
        int threads = Environment.ProcessorCount;
        double best = 0;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            long chunk = catalog.LongLength / threads;
            Parallel.For(0, threads, t =>
            {
                var span = catalog.AsSpan((int)(t * chunk), (int)chunk);
                System.Numerics.Tensors.TensorPrimitives.Sum(span);
            });
            best = Math.Max(best, catalog.LongLength * 4.0 / sw.Elapsed.TotalSeconds / 1e9);
        }
        using var backend = new SimdCpuBackend();
        const int n = 1024;
        var a = new float[n * n];
        Fill(a, 3);
        using var x = backend.Allocate(n, n);
        backend.Upload(a, x);
        using var w = backend.UploadWeight(a, n, n, WeightRole.MatMul);
        using var y = backend.Allocate(n, n);
        double gflops = 0;
        for (int r = 0; r < 5; r++)
        {
            var sw = Stopwatch.StartNew();
            backend.Linear(x, w, null, Activation.None, y, null, n);
            gflops = Math.Max(gflops, 2.0 * n * n * n / sw.Elapsed.TotalSeconds / 1e9);
        }
        Console.WriteLine($"yardsticks: parallel read {best:F1} GB/s (best of 5 sums over the catalog); SIMD sgemm 1024³ {gflops:F0} GFLOP/s (best of 5)\n");
    }

    /// <summary>Deterministic uniform(−1, 1) values.</summary>
    internal static void Fill(float[] values, int seed)
    {
        ulong s = 0x9E3779B97F4A7C15UL * (ulong)(seed + 1);
        for (long i = 0; i < values.LongLength; i++)
        {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            values[i] = (float)((s >> 40) * (2.0 / (1 << 24)) - 1.0);
        }
    }

    internal static void WriteRaw(string path, float[] values)
    {
        using var f = File.Create(path);
        f.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }
}
