using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>Scalar arguments of the block-select kernels.</summary>
public struct SelectArgs
{
    /// <summary>Columns of the score tile (row stride).</summary>
    public int TileRows;
    /// <summary>Catalog row of tile column 0.</summary>
    public int RowBase;
    /// <summary>Catalog rows handled by one group.</summary>
    public int ChunkRows;
    /// <summary>The selection width: k rounded up to a power of two.</summary>
    public int KP;
    /// <summary>Partial lists per query over all tiles.</summary>
    public int TotalChunks;
    /// <summary>Index of this tile's first chunk among <see cref="TotalChunks"/>.</summary>
    public int ChunkBase;
}

/// <summary>Scalar arguments of the merge kernels.</summary>
public struct MergeArgs
{
    public int KP;
    public int K;
    public int TotalChunks;
}

/// <summary>
/// Top-k selection on the device, FAISS-style: score a catalog tile (GEMM), block-select each chunk of the tile into
/// a sorted partial list of k' = nextPow2(k) entries, then one group per query merges all partial lists.
/// <para>Candidates are 64-bit keys: the score's bits mapped to an order-preserving unsigned integer in the high
/// word and the bitwise complement of the row in the low word. Larger key = higher score, and on equal scores the
/// lower row; keys are distinct, so the order is total and the result deterministic (ties broken by lower row).
/// Key 0 is "no candidate" (it decodes to row −1): every real key is above it.</para>
/// <para>Selection keeps a sorted list of k' keys and folds in k' new keys at a time: bitonic-sort the new block,
/// take the element-wise max against the reversed list (a bitonic sequence holding the top k' of both), then a
/// bitonic merge. The 2k' working keys live in shared memory up to k' = 1,024 (16 KB) and in a per-group global
/// workspace above that (up to k = 4,096).</para>
/// </summary>
public static class TopK
{
    /// <summary>Largest k accepted.</summary>
    public const int MaxK = 4096;
    /// <summary>Keys held in shared memory by the shared-memory variants (k' ≤ SharedKeys / 2).</summary>
    public const int SharedKeys = 2048;

    /// <summary>Order-preserving key of (score, row); see the type remarks.</summary>
    public static ulong Encode(float score, int row)
    {
        uint bits = Interop.FloatAsInt(score);
        uint ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)ordered << 32) | (uint)~row;
    }

    public static float DecodeScore(ulong key)
    {
        uint ordered = (uint)(key >> 32);
        uint bits = (ordered & 0x8000_0000u) != 0 ? ordered & 0x7FFF_FFFFu : ~ordered;
        return Interop.IntAsFloat(bits);
    }

    public static int DecodeRow(ulong key) => (int)~(uint)key;

    /// <summary>Bitonic sort, descending, of <c>w[offset .. offset+n)</c> (n a power of two) by the whole group.</summary>
    private static void SortDescending(ArrayView<ulong> w, int offset, int n, int t)
    {
        for (int size = 2; size <= n; size <<= 1)
        {
            for (int stride = size >> 1; stride > 0; stride >>= 1)
            {
                for (int i = t; i < n >> 1; i += Group.DimX)
                {
                    int lo = (i / stride) * 2 * stride + (i & (stride - 1));
                    int hi = lo + stride;
                    bool descending = (lo & size) == 0;
                    ulong x = w[offset + lo], y = w[offset + hi];
                    if (descending ? x < y : x > y)
                    {
                        w[offset + lo] = y;
                        w[offset + hi] = x;
                    }
                }
                Group.Barrier();
            }
        }
    }

    /// <summary><c>w[0..kp)</c> and <c>w[kp..2kp)</c> are sorted descending; leaves the top kp of both, sorted, in <c>w[0..kp)</c>.</summary>
    private static void MergeHalves(ArrayView<ulong> w, int kp, int t)
    {
        for (int i = t; i < kp; i += Group.DimX)
        {
            ulong other = w[2 * kp - 1 - i];
            if (other > w[i]) w[i] = other;
        }
        Group.Barrier();
        for (int stride = kp >> 1; stride > 0; stride >>= 1)
        {
            for (int i = t; i < kp >> 1; i += Group.DimX)
            {
                int lo = (i / stride) * 2 * stride + (i & (stride - 1));
                int hi = lo + stride;
                ulong x = w[lo], y = w[hi];
                if (x < y)
                {
                    w[lo] = y;
                    w[hi] = x;
                }
            }
            Group.Barrier();
        }
    }

    private static void SelectBody(ArrayView<ulong> work, ArrayView<float> scores, int validRows, ArrayView<ulong> partial, SelectArgs a)
    {
        int q = Grid.IdxY, chunk = Grid.IdxX, t = Group.IdxX, kp = a.KP;
        for (int i = t; i < kp; i += Group.DimX) work[i] = 0;
        int start = chunk * a.ChunkRows;
        int end = start + a.ChunkRows < validRows ? start + a.ChunkRows : validRows;
        long rowOffset = (long)q * a.TileRows;
        for (int b = start; b < end; b += kp)
        {
            for (int i = t; i < kp; i += Group.DimX)
            {
                int r = b + i;
                work[kp + i] = r < end ? Encode(scores[rowOffset + r], a.RowBase + r) : 0;
            }
            Group.Barrier();
            SortDescending(work, kp, kp, t);
            MergeHalves(work, kp, t);
        }
        long outOffset = ((long)q * a.TotalChunks + a.ChunkBase + chunk) * kp;
        for (int i = t; i < kp; i += Group.DimX) partial[outOffset + i] = work[i];
    }

    /// <summary>Block select with the working keys in shared memory (k' ≤ 1,024). Grid (chunks, queries).</summary>
    public static void SelectShared(ArrayView<float> scores, int validRows, ArrayView<ulong> partial, ArrayView<ulong> workspace, SelectArgs a)
    {
        var work = SharedMemory.Allocate<ulong>(SharedKeys);
        SelectBody(work, scores, validRows, partial, a);
    }

    /// <summary>Block select with the working keys in <paramref name="workspace"/> (2k' keys per group). Grid (chunks, queries).</summary>
    public static void SelectGlobal(ArrayView<float> scores, int validRows, ArrayView<ulong> partial, ArrayView<ulong> workspace, SelectArgs a)
    {
        long group = (long)Grid.IdxY * Grid.DimX + Grid.IdxX;
        SelectBody(workspace.SubView(group * 2 * a.KP, 2L * a.KP), scores, validRows, partial, a);
    }

    private static void MergeBody(ArrayView<ulong> work, ArrayView<ulong> partial, ArrayView<int> ids, ArrayView<float> outScores, MergeArgs a)
    {
        int q = Grid.IdxX, t = Group.IdxX, kp = a.KP;
        long offset = (long)q * a.TotalChunks * kp;
        for (int i = t; i < kp; i += Group.DimX) work[i] = partial[offset + i];
        for (int c = 1; c < a.TotalChunks; c++)
        {
            for (int i = t; i < kp; i += Group.DimX) work[kp + i] = partial[offset + (long)c * kp + i];
            Group.Barrier();
            MergeHalves(work, kp, t);
        }
        Group.Barrier();
        for (int i = t; i < a.K; i += Group.DimX)
        {
            ulong key = work[i];
            long o = (long)q * a.K + i;
            ids[o] = key == 0 ? -1 : DecodeRow(key);
            outScores[o] = key == 0 ? float.NegativeInfinity : DecodeScore(key);
        }
    }

    /// <summary>Merges each query's partial lists (shared-memory working set). Grid (queries).</summary>
    public static void MergeShared(ArrayView<ulong> partial, ArrayView<int> ids, ArrayView<float> outScores, ArrayView<ulong> workspace, MergeArgs a)
    {
        var work = SharedMemory.Allocate<ulong>(SharedKeys);
        MergeBody(work, partial, ids, outScores, a);
    }

    /// <summary>Merges each query's partial lists (global working set, 2k' keys per query). Grid (queries).</summary>
    public static void MergeGlobal(ArrayView<ulong> partial, ArrayView<int> ids, ArrayView<float> outScores, ArrayView<ulong> workspace, MergeArgs a)
    {
        MergeBody(workspace.SubView((long)Grid.IdxX * 2 * a.KP, 2L * a.KP), partial, ids, outScores, a);
    }

    /// <summary>Smallest power of two ≥ k.</summary>
    public static int SelectionWidth(int k)
    {
        int kp = 1;
        while (kp < k) kp <<= 1;
        return kp;
    }
}

/// <summary>
/// Fused scoring + top-k: tiles the catalog so the score scratch stays bounded, scores each tile with the GEMM kernel,
/// block-selects it, then merges. Scratch buffers are owned here, grow on demand and are reused; one call at a time.
/// </summary>
public sealed class TopKLauncher : IDisposable
{
    private readonly KernelSet _set;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, ArrayView<ulong>, ArrayView<ulong>, SelectArgs> _selectShared, _selectGlobal;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<ulong>, ArrayView<int>, ArrayView<float>, ArrayView<ulong>, MergeArgs> _mergeShared, _mergeGlobal;
    private MemoryBuffer1D<float, Stride1D.Dense>? _scores;
    private MemoryBuffer1D<ulong, Stride1D.Dense>? _partial, _workspace;

    /// <summary>Catalog rows per block-select group (tests lower it to exercise many chunks and the merge).</summary>
    public int ChunkRows { get; set; } = 2048;
    /// <summary>Most floats in one score tile (queries × tile rows): 64 MB by default.</summary>
    public long ScoreTileElements { get; set; } = 1L << 24;
    /// <summary>Most keys in the partial lists of one query batch: 64 MB by default.</summary>
    public long PartialKeys { get; set; } = 1L << 23;

    public TopKLauncher(KernelSet set)
    {
        _set = set;
        var acc = set.Accelerator;
        _selectShared = acc.LoadKernel<ArrayView<float>, int, ArrayView<ulong>, ArrayView<ulong>, SelectArgs>(TopK.SelectShared);
        _selectGlobal = acc.LoadKernel<ArrayView<float>, int, ArrayView<ulong>, ArrayView<ulong>, SelectArgs>(TopK.SelectGlobal);
        _mergeShared = acc.LoadKernel<ArrayView<ulong>, ArrayView<int>, ArrayView<float>, ArrayView<ulong>, MergeArgs>(TopK.MergeShared);
        _mergeGlobal = acc.LoadKernel<ArrayView<ulong>, ArrayView<int>, ArrayView<float>, ArrayView<ulong>, MergeArgs>(TopK.MergeGlobal);
    }

    /// <summary>
    /// Queues the top <paramref name="k"/> catalog rows (of the first <paramref name="rows"/>) for each query, sorted by
    /// score descending, ties by lower row. When k exceeds the rows, the tail is padded with id −1 and score −∞.
    /// </summary>
    public void Run(AcceleratorStream stream, ArrayView<float> queries, int queryCount, CatalogView catalog, int rows, int k,
        ArrayView<int> ids, ArrayView<float> scores)
    {
        if (k < 1 || k > TopK.MaxK) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k}; it must be between 1 and {TopK.MaxK}");
        if (queryCount <= 0) throw new ArgumentOutOfRangeException(nameof(queryCount), "at least one query is needed");
        if (rows <= 0 || rows > catalog.Capacity) throw new ArgumentOutOfRangeException(nameof(rows), $"{rows} rows for a catalog of {catalog.Capacity}");
        if (queries.Length < (long)queryCount * catalog.Dimension) throw new ArgumentException($"queries hold {queries.Length} values, {queryCount}×{catalog.Dimension} needed");
        if (ids.Length < (long)queryCount * k || scores.Length < (long)queryCount * k) throw new ArgumentException($"outputs need {queryCount}×{k} entries");
        if (ChunkRows < 1 || ScoreTileElements < 1 || PartialKeys < 1) throw new InvalidOperationException("tile settings must be positive");

        int kp = TopK.SelectionWidth(k);
        bool shared = 2 * kp <= TopK.SharedKeys;
        // A chunk holds at least one full selection block; round to whole blocks.
        int chunkRows = (Math.Max(ChunkRows, kp) + kp - 1) / kp * kp;
        int totalChunks = (rows + chunkRows - 1) / chunkRows;
        // Query batch: bounded by the partial lists and by a score tile of at least one chunk per query.
        int batch = (int)Math.Clamp(PartialKeys / ((long)totalChunks * kp), 1, queryCount);
        batch = (int)Math.Min(batch, Math.Max(1, ScoreTileElements / chunkRows));
        long tileRowsLong = Math.Max(chunkRows, ScoreTileElements / batch / chunkRows * chunkRows);
        int tileRows = (int)Math.Min(tileRowsLong, (long)(rows + chunkRows - 1) / chunkRows * chunkRows);

        var scoreTile = Ensure(ref _scores, (long)batch * tileRows);
        var partial = Ensure(ref _partial, (long)batch * totalChunks * kp);
        var workspace = shared ? _set.DummyKeys
            : Ensure(ref _workspace, Math.Max((long)batch * (tileRows / chunkRows), batch) * 2 * kp);
        var select = shared ? _selectShared : _selectGlobal;
        var merge = shared ? _mergeShared : _mergeGlobal;
        int dim = catalog.Dimension;

        for (int q0 = 0; q0 < queryCount; q0 += batch)
        {
            int qn = Math.Min(batch, queryCount - q0);
            var qView = queries.SubView((long)q0 * dim, (long)qn * dim);
            int chunkBase = 0;
            for (int r0 = 0; r0 < rows; r0 += tileRows)
            {
                int valid = Math.Min(tileRows, rows - r0);
                // Scores are written densely with stride `valid` (the GEMM's N), so the select reads with that stride.
                _set.DotScore.Score(stream, qView, qn, catalog, r0, valid, scoreTile);
                int chunks = (valid + chunkRows - 1) / chunkRows;
                var args = new SelectArgs { TileRows = valid, RowBase = r0, ChunkRows = chunkRows, KP = kp, TotalChunks = totalChunks, ChunkBase = chunkBase };
                select(stream, new KernelConfig(new Index2D(chunks, qn), new Index2D(_set.ReductionGroupSize, 1)), scoreTile, valid, partial, workspace, args);
                chunkBase += chunks;
            }
            merge(stream, new KernelConfig(qn, _set.ReductionGroupSize), partial, ids.SubView((long)q0 * k, (long)qn * k),
                scores.SubView((long)q0 * k, (long)qn * k), workspace, new MergeArgs { KP = kp, K = k, TotalChunks = totalChunks });
        }
    }

    private ArrayView<T> Ensure<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            // The previous buffer may still be read by queued kernels: wait before releasing it.
            _set.Accelerator.Synchronize();
            buffer?.Dispose();
            buffer = _set.Accelerator.Allocate1D<T>(length);
        }
        return buffer.View;
    }

    public void Dispose()
    {
        _scores?.Dispose();
        _partial?.Dispose();
        _workspace?.Dispose();
    }
}
