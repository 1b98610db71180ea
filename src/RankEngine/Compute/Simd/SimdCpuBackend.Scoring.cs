using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// Catalog scoring and exact top-k on the CPU, FAISS IndexFlatIP-style with two distance paths:
/// <list type="bullet">
/// <item>few queries: a bandwidth-bound dot loop (four catalog rows at a time against one query, Vector512/256 FMA);</item>
/// <item>many queries (≥ <see cref="GemmQueries"/>): the queries are packed once as the GEMM weight side and each
/// block of <see cref="BlockRows"/> catalog rows is multiplied by them with the packed-panel micro-kernel, so every
/// catalog value loaded from memory feeds all queries.</item>
/// </list>
/// The catalog is split into contiguous row ranges, one per task; each task keeps a bounded heap per query (a
/// threshold collector: most rows are rejected by one comparison), and the heaps are merged and sorted at the end.
/// Ties are broken by the lower row everywhere (see <see cref="ScoreKeys"/>).
/// </summary>
internal sealed unsafe partial class SimdCpuBackend : IScoringBackend
{
    /// <summary>Catalog rows per scoring block (the GEMM's M; a block's scores tile stays in L1/L2).</summary>
    internal const int BlockRows = 128;
    /// <summary>From this many queries on, blocks are scored with the GEMM micro-kernel.</summary>
    internal const int GemmQueries = 4;
    private const int MinRowsPerTask = 16384;

    public ICatalogMatrix CreateCatalog(int dimension, int capacity, TensorType storage = TensorType.F32) =>
        new SimdCatalog(this, dimension, capacity, storage);

    public void Score(ReadOnlySpan<float> queries, ICatalogMatrix catalog, Span<float> scores)
    {
        var c = Own(catalog);
        int q = ScoringLimits.CheckQueries(queries, c);
        long needed = (long)q * c.Count;
        if (scores.Length < needed) throw new ArgumentException($"scores hold {scores.Length} values; {q} queries × {c.Count} rows = {needed} needed");
        fixed (float* qp = queries)
        fixed (float* sp = scores)
            Run(c, qp, q, k: 0, sp, null);
    }

    public void TopK(ReadOnlySpan<float> queries, ICatalogMatrix catalog, int k, Span<int> ids, Span<float> scores)
    {
        var c = Own(catalog);
        int q = ScoringLimits.CheckQueries(queries, c);
        ScoringLimits.CheckTopK(q, k, ids.Length, scores.Length);
        fixed (float* qp = queries)
        fixed (int* ip = ids)
        fixed (float* sp = scores)
            Run(c, qp, q, k, sp, ip);
    }

    private SimdCatalog Own(ICatalogMatrix catalog) =>
        catalog is SimdCatalog c && ReferenceEquals(c.Owner, this) ? c
            : throw new ArgumentException("the catalog was not created by this backend");

    /// <summary>Scores every row; with k = 0 writes the full score matrix to <paramref name="outScores"/>, else the top k.</summary>
    private static void Run(SimdCatalog catalog, float* queries, int q, int k, float* outScores, int* outIds)
    {
        int rows = catalog.Count, dim = catalog.Dimension;
        int tasks = Math.Clamp((rows + MinRowsPerTask - 1) / MinRowsPerTask, 1, 4 * Environment.ProcessorCount);
        int rowsPerTask = ((rows + tasks - 1) / tasks + BlockRows - 1) / BlockRows * BlockRows;
        tasks = (rows + rowsPerTask - 1) / rowsPerTask;

        bool gemm = q >= GemmQueries;
        using var packed = gemm ? new PackedMatrix(new ReadOnlySpan<float>(queries, q * dim), q, dim) : null;
        int tileFloats = BlockRows * q, convertFloats = catalog.IsHalf ? BlockRows * dim : 0;
        int scratchPerTask = tileFloats + convertFloats + 16; // + 16: room to align each task's tile to 64 bytes
        int heapsPerTask = k > 0 ? q * k : 0;

        float[] scratch = ArrayPool<float>.Shared.Rent(tasks * scratchPerTask);
        ulong[] heaps = ArrayPool<ulong>.Shared.Rent(Math.Max(1, tasks * heapsPerTask));
        int[] counts = ArrayPool<int>.Shared.Rent(Math.Max(1, tasks * q));
        float[] thresholds = ArrayPool<float>.Shared.Rent(Math.Max(1, tasks * q));
        try
        {
            counts.AsSpan(0, tasks * q).Clear();
            thresholds.AsSpan(0, tasks * q).Fill(float.NegativeInfinity);
            fixed (float* sc = scratch)
            fixed (ulong* hp = heaps)
            fixed (int* cp = counts)
            fixed (float* tp = thresholds)
            {
                var job = new ScoreJob
                {
                    Catalog = catalog, Queries = queries, Packed = packed, Q = q, K = k, Dim = dim, Rows = rows,
                    RowsPerTask = rowsPerTask, Scratch = sc, ScratchPerTask = scratchPerTask, Heaps = hp, Counts = cp,
                    Thresholds = tp, OutScores = outScores,
                };
                ParallelRunner.For(tasks, job);
                if (k > 0) Merge(hp, cp, tasks, q, k, outIds, outScores);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
            ArrayPool<ulong>.Shared.Return(heaps);
            ArrayPool<int>.Shared.Return(counts);
            ArrayPool<float>.Shared.Return(thresholds);
        }
    }

    /// <summary>Per query: all tasks' kept keys, sorted best first, the first k decoded (padded with −1 / −∞).</summary>
    private static void Merge(ulong* heaps, int* counts, int tasks, int q, int k, int* outIds, float* outScores)
    {
        ulong[] all = ArrayPool<ulong>.Shared.Rent(tasks * k);
        try
        {
            for (int j = 0; j < q; j++)
            {
                int n = 0;
                for (int t = 0; t < tasks; t++)
                {
                    int count = counts[t * q + j];
                    new ReadOnlySpan<ulong>(heaps + ((long)t * q + j) * k, count).CopyTo(all.AsSpan(n));
                    n += count;
                }
                var keys = all.AsSpan(0, n);
                keys.Sort();
                keys.Reverse(); // best (largest key) first
                int kept = Math.Min(k, n);
                var ids = new Span<int>(outIds + (long)j * k, k);
                var scores = new Span<float>(outScores + (long)j * k, k);
                ScoreKeys.Decode(keys[..kept], ids, scores);
                ids[kept..].Fill(-1);
                scores[kept..].Fill(float.NegativeInfinity);
            }
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(all);
        }
    }

    private struct ScoreJob : ParallelRunner.IBody
    {
        public SimdCatalog Catalog;
        public PackedMatrix? Packed;
        public float* Queries, Scratch, Thresholds, OutScores;
        public ulong* Heaps;
        public int* Counts;
        public int Q, K, Dim, Rows, RowsPerTask, ScratchPerTask;

        public void Run(int task)
        {
            int r0 = task * RowsPerTask, r1 = Math.Min(Rows, r0 + RowsPerTask);
            float* tile = (float*)(((nint)(Scratch + (long)task * ScratchPerTask) + 63) & ~(nint)63);
            float* convert = tile + BlockRows * Q;
            for (int b = r0; b < r1; b += BlockRows)
            {
                int n = Math.Min(BlockRows, r1 - b);
                float* block;
                if (Catalog.IsHalf)
                {
                    TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(Catalog.F16 + (long)b * Dim, n * Dim), new Span<float>(convert, n * Dim));
                    block = convert;
                }
                else
                {
                    block = Catalog.F32 + (long)b * Dim;
                }
                // tile[i · Q + j] = row (b + i) · query j
                if (Packed is not null) Gemm.MultiplyOnThisThread(block, Dim, Packed, tile, Q, n);
                else
                    for (int j = 0; j < Q; j++) RowDots.DotRows(Queries + (long)j * Dim, block, Dim, n, tile + j, Q);
                Consume(tile, b, n, task);
            }
        }

        private readonly void Consume(float* tile, int b, int n, int task)
        {
            if (K == 0)
            {
                for (int j = 0; j < Q; j++)
                {
                    float* dst = OutScores + (long)j * Rows + b;
                    for (int i = 0; i < n; i++) dst[i] = tile[i * Q + j];
                }
                return;
            }
            for (int j = 0; j < Q; j++)
            {
                int slot = task * Q + j;
                var heap = new Span<ulong>(Heaps + (long)slot * K, K);
                ref int count = ref Counts[slot];
                ref float threshold = ref Thresholds[slot];
                float thr = threshold;
                for (int i = 0; i < n; i++)
                {
                    float s = tile[i * Q + j];
                    if (s < thr) continue; // the common case once the heap is full
                    TopKHeap.Push(heap, ref count, ref threshold, ScoreKeys.Encode(s, b + i));
                    thr = threshold;
                }
            }
        }
    }
}
