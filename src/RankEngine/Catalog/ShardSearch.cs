using System.Buffers;
using System.Runtime.CompilerServices;
using RankEngine.Compute;
using RankEngine.Compute.Simd;

namespace RankEngine.Catalog;

/// <summary>
/// Item factors of the served model for one shard generation, row-aligned with it: <c>Matrix[r·Dimension ..]</c> is
/// row r's output factor (zero when the model has none for it). Rows below <see cref="RowCount"/> are final.
/// </summary>
internal sealed record ShardFactors(float[] Matrix, int Dimension, int RowCount);

/// <summary>
/// Dot products already computed by a compute backend that is not host memory (CUDA, OpenCL, ILGPU's CPU
/// accelerator): <c>Content[r] = content query · row r</c>, <c>Second[r] = second query · row r</c> for every row of
/// the snapshot (null: compute it here). The scan then only adds boosts, filters and selects.
/// </summary>
internal sealed record ShardDots(float[]? Content, float[]? Second);

/// <summary>
/// The search of one shard snapshot on the SIMD CPU backend, in one pass over its matrices: each task takes a
/// contiguous row range, scores a block of rows against the content and the second query (four rows at a time,
/// Vector512/256 FMA), adds the boosts from the numeric columns, skips rows that are not visible, filtered or
/// excluded (whole blocks at once when the filter mask is empty there), and keeps a bounded heap whose root is the
/// threshold most rows fail with one comparison. The heaps are merged; only when items tie exactly at the k-th
/// score is the shard scanned again, for the rows with that score, so the cut follows the one tie rule (score,
/// then id) however many items tie. Scores are computed the same way for every row wherever it falls in a block,
/// so the score of a returned item is exactly the one <see cref="PartsOf"/> recomputes.
/// </summary>
internal static unsafe class ShardSearch
{
    private const int BlockRows = 128;
    private const int MinRowsPerTask = 16384;

    /// <summary>Searches one snapshot. <paramref name="factors"/> is required when the query's second term is the model.</summary>
    public static ShardHit[] Run(ShardSnapshot snapshot, ShardFactors? factors, ShardQuery query, int contentSlot, int collabSlot, ShardDots? dots = null)
    {
        var plan = new Plan(snapshot, factors, query, contentSlot, collabSlot, dots);
        if (query.Candidates is not null) return RunCandidates(snapshot, plan, query);
        int rows = snapshot.RowCount;
        if (rows == 0 || query.K <= 0) return [];
        ulong[]? mask = BuildMask(snapshot, query);
        try
        {
            if (!plan.Quantized) return RunScan(snapshot, plan, mask, query.K);
            // Quantised first pass (int8 or fp16 content term): the best candidates, re-scored exactly; cut by the rule.
            var candidates = RunScan(snapshot, plan, mask, Math.Min(rows, QuantizedCandidates(query.K)));
            var exact = plan.Exact();
            var hits = new ShardHit[candidates.Length];
            for (int i = 0; i < hits.Length; i++) hits[i] = candidates[i] with { Score = exact.Score(candidates[i].Row) };
            Array.Sort(hits, HitOrder.Instance);
            return hits.Length > query.K ? hits[..query.K] : hits;
        }
        finally
        {
            if (mask is not null) ArrayPool<ulong>.Shared.Return(mask);
        }
    }

    /// <summary>
    /// Which terms of the fused score a query has: the content term (a query, a weight, a content slot) and the second
    /// term (a query and a weight, against model factors covering every row of the snapshot, or the collab slot).
    /// </summary>
    public static (bool Content, bool Second) ActiveTerms(ShardSnapshot snapshot, ShardFactors? factors, ShardQuery query, int contentSlot, int collabSlot)
    {
        bool content = !query.Content.IsEmpty && query.ContentWeight != 0 && contentSlot >= 0;
        bool second = !query.Second.IsEmpty && query.SecondWeight != 0 && (query.SecondIsModel
            ? factors is not null && factors.Dimension == query.Second.Length && factors.RowCount >= snapshot.RowCount
            : collabSlot >= 0);
        return (content, second);
    }

    /// <summary>Candidates a quantised first pass keeps for exact re-scoring of a top k.</summary>
    public static int QuantizedCandidates(int k) => Math.Max(8 * k, k + 200);

    /// <summary>Tests force an int8 kernel here (null: the best the CPU has).</summary>
    internal static Int8Kernel? ForcedInt8Kernel { get; set; }

    /// <summary>The parts of several rows' scores, with one plan (the query vectors are read once).</summary>
    public static (float Content, float Second, float[] Boosts)[] PartsOf(ShardSnapshot snapshot, ShardFactors? factors, ShardQuery query, int contentSlot, int collabSlot,
        ReadOnlySpan<int> rows, ShardDots? dots = null)
    {
        var plan = new Plan(snapshot, factors, query, contentSlot, collabSlot, dots);
        var parts = new (float, float, float[])[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            var boosts = new float[plan.BoostColumns.Length];
            for (int b = 0; b < boosts.Length; b++) boosts[b] = plan.BoostTerm(b, rows[i]);
            parts[i] = (plan.ContentTerm(rows[i]), plan.SecondTerm(rows[i]), boosts);
        }
        return parts;
    }

    /// <summary>
    /// The rows that may be returned, as a bitset over the snapshot's rows, or null when every visible row may:
    /// each filter ANDs its rows in (equality from the value's posting list, ranges from a column scan), excluded
    /// items are cleared.
    /// </summary>
    private static ulong[]? BuildMask(ShardSnapshot snapshot, ShardQuery query)
    {
        bool anyExcluded = query.Excluded is { Count: > 0 };
        if (query.Filters.Count == 0 && !anyExcluded) return null;
        int words = (snapshot.RowCount + 63) >> 6;
        var mask = ArrayPool<ulong>.Shared.Rent(words);
        var span = mask.AsSpan(0, words);
        span.Fill(ulong.MaxValue);
        foreach (var filter in query.Filters) filter.Apply(snapshot, span);
        if (anyExcluded)
            foreach (var id in query.Excluded!)
                if (snapshot.TryGetRow(id, out int row)) span[row >> 6] &= ~(1UL << (row & 63));
        return mask;
    }

    private static ShardHit[] RunCandidates(ShardSnapshot snapshot, in Plan plan, ShardQuery query)
    {
        var hits = new List<ShardHit>(query.Candidates!.Count);
        var seen = new HashSet<int>();
        HashSet<string>? excluded = query.Excluded is { Count: > 0 } ? new HashSet<string>(query.Excluded, StringComparer.Ordinal) : null;
        foreach (var id in query.Candidates)
        {
            if (id is null || !snapshot.TryGetRow(id, out int row) || !seen.Add(row) || (excluded?.Contains(id) ?? false)) continue;
            bool pass = true;
            foreach (var f in query.Filters)
                if (!(pass = f.Matches(snapshot, row))) break;
            if (pass) hits.Add(new ShardHit(row, id, plan.Score(row)));
        }
        hits.Sort(HitOrder.Instance);
        return hits.Count > query.K ? hits.GetRange(0, query.K).ToArray() : hits.ToArray();
    }

    private static ShardHit[] RunScan(ShardSnapshot snapshot, Plan plan, ulong[]? mask, int k)
    {
        int rows = snapshot.RowCount;
        int tasks = Math.Clamp((rows + MinRowsPerTask - 1) / MinRowsPerTask, 1, 4 * Environment.ProcessorCount);
        int rowsPerTask = ((rows + tasks - 1) / tasks + BlockRows - 1) / BlockRows * BlockRows;
        tasks = (rows + rowsPerTask - 1) / rowsPerTask;
        var heaps = ArrayPool<ulong>.Shared.Rent(tasks * k);
        var counts = new int[tasks];
        var dropped = new float[tasks];
        var scratch = ArrayPool<float>.Shared.Rent(tasks * 2 * BlockRows);
        try
        {
            dropped.AsSpan().Fill(float.NegativeInfinity);
            fixed (ulong* heapPtr = heaps)
            fixed (ulong* maskPtr = mask)
            fixed (float* scratchPtr = scratch)
            fixed (int* countPtr = counts)
            fixed (float* droppedPtr = dropped)
            {
                var job = new ScanJob
                {
                    Plan = plan, Mask = maskPtr, Heaps = heapPtr, Counts = countPtr, Dropped = droppedPtr, Scratch = scratchPtr,
                    K = k, Rows = rows, RowsPerTask = rowsPerTask,
                };
                ParallelRunner.For(tasks, job);
            }
            // Merge: every task's kept keys, best first.
            int total = 0;
            for (int t = 0; t < tasks; t++) total += counts[t];
            var keys = new ulong[total];
            int n = 0;
            for (int t = 0; t < tasks; t++)
            {
                heaps.AsSpan(t * k, counts[t]).CopyTo(keys.AsSpan(n));
                n += counts[t];
            }
            Array.Sort(keys);
            Array.Reverse(keys);
            int kept = Math.Min(k, total);
            var hits = new ShardHit[kept];
            for (int i = 0; i < kept; i++)
            {
                int row = ScoreKeys.Row(keys[i]);
                hits[i] = new ShardHit(row, snapshot.IdOf(row), ScoreKeys.Score(keys[i]));
            }
            if (kept == 0) return hits;
            // Items tied with the k-th score may have been dropped (by row order) in favour of larger ids: then
            // collect every row with exactly that score and cut by id.
            float last = hits[kept - 1].Score;
            bool tieDropped = kept < total && ScoreKeys.Score(keys[kept]) == last;
            for (int t = 0; t < tasks && !tieDropped; t++) tieDropped = dropped[t] == last;
            if (tieDropped && !plan.Quantized) return ResolveBoundaryTie(snapshot, plan, mask, hits, last, tasks, rowsPerTask);
            Array.Sort(hits, HitOrder.Instance);
            return hits;
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(heaps);
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    private static ShardHit[] ResolveBoundaryTie(ShardSnapshot snapshot, in Plan plan, ulong[]? mask, ShardHit[] hits, float last, int tasks, int rowsPerTask)
    {
        var result = new List<ShardHit>(hits.Length);
        foreach (var h in hits)
            if (h.Score > last) result.Add(h);
        var tied = new List<int>[tasks];
        fixed (ulong* maskPtr = mask)
        {
            var job = new TieJob { Plan = plan, Mask = maskPtr, Rows = snapshot.RowCount, RowsPerTask = rowsPerTask, Score = last, Found = tied };
            ParallelRunner.For(tasks, job);
        }
        var equal = new List<ShardHit>();
        foreach (var list in tied)
            foreach (int row in list)
                equal.Add(new ShardHit(row, snapshot.IdOf(row), last));
        equal.Sort(HitOrder.Instance);
        result.Sort(HitOrder.Instance);
        result.AddRange(equal.Take(hits.Length - result.Count));
        return result.ToArray();
    }

    /// <summary>Everything the per-row score needs, resolved once per request.</summary>
    private readonly struct Plan
    {
        private readonly float[]? _contentMatrix, _secondMatrix;
        private readonly float[] _contentQuery, _secondQuery;
        private readonly int _contentDim, _secondDim;
        private readonly float _contentWeight, _secondWeight;
        private readonly long[] _died;
        private readonly long _version;
        private readonly float[]? _contentDots, _secondDots;
        // The int8 first pass (null query: exact).
        private readonly byte[]? _int8Query;
        private readonly float _int8QueryScale;
        private readonly sbyte[]? _int8Rows;
        private readonly float[]? _int8Scales;
        private readonly int[]? _int8Sums;
        private readonly int _int8Stride;
        private readonly Int8Kernel _int8Kernel;
        // The fp16 first pass over the content rows (null: exact or int8).
        private readonly Half[]? _halfRows;
        public readonly double[][] BoostColumns;
        public readonly float[] BoostWeights;

        public Plan(ShardSnapshot snapshot, ShardFactors? factors, ShardQuery query, int contentSlot, int collabSlot, ShardDots? dots = null)
        {
            _contentDots = dots?.Content;
            _secondDots = dots?.Second;
            _version = snapshot.Version;
            _died = snapshot.DiedArray;
            var (contentActive, secondActive) = ActiveTerms(snapshot, factors, query, contentSlot, collabSlot);
            _contentQuery = query.Content.ToArray();
            _contentWeight = query.ContentWeight;
            _contentDim = 0;
            _contentMatrix = null;
            if (contentActive)
            {
                _contentDim = snapshot.Schema.Vectors[contentSlot].Dimension;
                if (_contentQuery.Length != _contentDim) throw new ArgumentException($"content query has {_contentQuery.Length} dimensions, the catalog {_contentDim}");
                _contentMatrix = snapshot.MatrixArray(contentSlot);
            }
            _secondQuery = query.Second.ToArray();
            _secondWeight = query.SecondWeight;
            _secondDim = 0;
            _secondMatrix = null;
            if (secondActive && query.SecondIsModel)
            {
                _secondMatrix = factors!.Matrix;
                _secondDim = factors.Dimension;
            }
            else if (secondActive)
            {
                _secondDim = snapshot.Schema.Vectors[collabSlot].Dimension;
                if (_secondQuery.Length != _secondDim) throw new ArgumentException($"collab query has {_secondQuery.Length} dimensions, the catalog {_secondDim}");
                _secondMatrix = snapshot.MatrixArray(collabSlot);
            }
            var columns = new List<double[]>();
            var weights = new List<float>();
            foreach (var (field, weight) in query.Boosts)
            {
                columns.Add(snapshot.NumberColumnArray(field) ?? []);
                weights.Add(weight);
            }
            BoostColumns = columns.ToArray();
            BoostWeights = weights.ToArray();
            _int8Query = null;
            _int8QueryScale = 0;
            _int8Rows = null;
            _int8Scales = null;
            _int8Sums = null;
            _int8Stride = 0;
            _int8Kernel = Int8Kernel.Scalar;
            _halfRows = null;
            // Whole-catalog scans of a content slot with a quantised copy (not device dots, not a candidate list).
            if (_contentMatrix is not null && _contentDots is null && snapshot.QuantizedSlot == contentSlot && query.Candidates is null)
            {
                if (snapshot.QuantizedFormat == CatalogQuantization.Fp16) _halfRows = snapshot.Fp16;
                else
                {
                    (_int8Rows, _int8Scales, _int8Sums, _int8Stride) = snapshot.Int8;
                    _int8Query = new byte[_int8Stride];
                    _int8QueryScale = Int8Dots.QuantizeQuery(_contentQuery, _int8Query);
                    _int8Kernel = ForcedInt8Kernel ?? Int8Dots.Default;
                }
            }
        }

        private Plan(in Plan quantized)
        {
            this = quantized;
            _int8Query = null;
            _halfRows = null;
        }

        /// <summary>True when the content term of the scan is an approximation (int8 or fp16 first pass).</summary>
        public bool Quantized => _int8Query is not null || _halfRows is not null;

        /// <summary>This plan without the quantised approximation (exact scores).</summary>
        public Plan Exact() => new(in this);

        public bool HasContent => _contentMatrix is not null;
        public bool HasSecond => _secondMatrix is not null;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool IsVisible(int row) => _died[row] > _version;

        public float ContentTerm(int row) => Term(_contentMatrix, _contentDots, _contentQuery, _contentDim, _contentWeight, row);

        public float SecondTerm(int row) => Term(_secondMatrix, _secondDots, _secondQuery, _secondDim, _secondWeight, row);

        /// <summary>weight · finite(query · row): precomputed by a device, or one row of the host matrix; 0 when the term is off.</summary>
        private static float Term(float[]? matrix, float[]? dots, float[] query, int dim, float weight, int row)
        {
            if (matrix is null) return 0f;
            if (dots is not null) return weight * Finite0(dots[row]);
            fixed (float* q = query)
            fixed (float* m = matrix)
                return weight * Finite0(RowDot(q, m + (long)row * dim, dim));
        }

        public float BoostTerm(int b, int row)
        {
            var column = BoostColumns[b];
            if (column.Length == 0) return 0f;
            double v = column[row];
            return double.IsNaN(v) ? 0f : Clamp(BoostWeights[b] * (float)v);
        }

        public float Score(int row) => Combine(row, ContentTerm(row), SecondTerm(row));

        /// <summary>content + second + Σ boosts, clamped to the float range (overflow never yields NaN or ∞); −0 → 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Combine(int row, float content, float second)
        {
            float score = content + second;
            for (int b = 0; b < BoostColumns.Length; b++) score += BoostTerm(b, row);
            score = Clamp(score);
            return score == 0 ? 0f : score;
        }

        public void DotBlock(int start, int n, float* contentOut, float* secondOut)
        {
            if (_int8Query is not null)
            {
                int* dots = stackalloc int[n];
                fixed (byte* q = _int8Query)
                fixed (sbyte* rows = _int8Rows)
                    Int8Dots.DotRows(_int8Kernel, q, rows + (long)start * _int8Stride, _int8Stride, n, dots);
                for (int i = 0; i < n; i++)
                {
                    int row = start + i;
                    float approx = _int8QueryScale * _int8Scales![row] * (dots[i] - Int8Dots.QueryOffset * _int8Sums![row]);
                    contentOut[i] = _contentWeight * Finite0(approx);
                }
            }
            else if (_halfRows is not null)
                fixed (float* q = _contentQuery)
                fixed (Half* rows = _halfRows)
                    HalfDotRows(q, rows + (long)start * _contentDim, _contentDim, n, contentOut, _contentWeight);
            else if (_contentMatrix is not null && _contentDots is not null)
                for (int i = 0; i < n; i++) contentOut[i] = _contentWeight * Finite0(_contentDots[start + i]);
            else if (_contentMatrix is not null)
                fixed (float* q = _contentQuery)
                fixed (float* m = _contentMatrix)
                    DotRows(q, m + (long)start * _contentDim, _contentDim, n, contentOut, _contentWeight);
            if (_secondMatrix is not null && _secondDots is not null)
                for (int i = 0; i < n; i++) secondOut[i] = _secondWeight * Finite0(_secondDots[start + i]);
            else if (_secondMatrix is not null)
                fixed (float* q = _secondQuery)
                fixed (float* m = _secondMatrix)
                    DotRows(q, m + (long)start * _secondDim, _secondDim, n, secondOut, _secondWeight);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finite0(float v) => float.IsFinite(v) ? v : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Clamp(float v) => float.IsNaN(v) ? 0f : Math.Clamp(v, -float.MaxValue, float.MaxValue);

    /// <summary>What a scan does with each row that may be returned, and its fused score.</summary>
    private interface IRowSink
    {
        void Take(int row, float score);
    }

    /// <summary>
    /// The one block loop of every scan: rows [r0, r1) in blocks, whole blocks skipped when the mask is empty there,
    /// dot products per block, then each visible, unmasked row's fused score handed to the sink.
    /// </summary>
    private static void ScanRange<TSink>(in Plan plan, ulong* mask, int r0, int r1, float* content, float* second, ref TSink sink)
        where TSink : struct, IRowSink, allows ref struct
    {
        bool hasContent = plan.HasContent, hasSecond = plan.HasSecond;
        for (int b = r0; b < r1; b += BlockRows)
        {
            int n = Math.Min(BlockRows, r1 - b);
            if (mask != null && BlockMasked(mask, b, n)) continue;
            plan.DotBlock(b, n, content, second);
            for (int i = 0; i < n; i++)
            {
                int row = b + i;
                if (!plan.IsVisible(row) || (mask != null && (mask[row >> 6] & (1UL << (row & 63))) == 0)) continue;
                sink.Take(row, plan.Combine(row, hasContent ? content[i] : 0f, hasSecond ? second[i] : 0f));
            }
        }
    }

    /// <summary>Keeps a task's best k in its heap (see <see cref="Offer"/>).</summary>
    private ref struct HeapSink : IRowSink
    {
        public Span<ulong> Heap;
        public int Count;
        public float Threshold, Dropped;

        public void Take(int row, float score)
        {
            if (score < Threshold) return; // the common case once the heap is full
            Offer(Heap, ref Count, ref Threshold, ref Dropped, score, row);
        }
    }

    private struct ScanJob : ParallelRunner.IBody
    {
        public Plan Plan;
        public ulong* Mask, Heaps;
        public int* Counts;
        public float* Dropped, Scratch;
        public int K, Rows, RowsPerTask;

        public void Run(int task)
        {
            int r0 = task * RowsPerTask, r1 = Math.Min(Rows, r0 + RowsPerTask);
            float* content = Scratch + (long)task * 2 * BlockRows, second = content + BlockRows;
            var sink = new HeapSink { Heap = new Span<ulong>(Heaps + (long)task * K, K), Threshold = float.NegativeInfinity, Dropped = float.NegativeInfinity };
            ScanRange(in Plan, Mask, r0, r1, content, second, ref sink);
            Counts[task] = sink.Count;
            Dropped[task] = sink.Dropped;
        }
    }

    /// <summary>
    /// Keeps the k largest keys; <paramref name="dropped"/> is the best score of a candidate that was refused or
    /// evicted, so the merge knows whether the k-th place was decided by row order among equal scores.
    /// </summary>
    private static void Offer(Span<ulong> heap, ref int count, ref float threshold, ref float dropped, float score, int row)
    {
        ulong key = ScoreKeys.Encode(score, row);
        if (count == heap.Length)
        {
            if (key <= heap[0])
            {
                if (score > dropped) dropped = score;
                return;
            }
            float evicted = ScoreKeys.Score(heap[0]);
            if (evicted > dropped) dropped = evicted;
        }
        TopKHeap.Push(heap, ref count, ref threshold, key);
    }

    private static bool BlockMasked(ulong* mask, int start, int n)
    {
        // Blocks start at multiples of 128 rows: two whole words (the last block may cover fewer rows; its mask
        // words past the end are never read beyond the rented array's first (rows+63)/64 entries).
        int first = start >> 6, last = (start + n - 1) >> 6;
        for (int w = first; w <= last; w++)
            if (mask[w] != 0) return false;
        return true;
    }

    /// <summary>Collects the rows whose score is exactly the k-th's.</summary>
    private struct TieSink : IRowSink
    {
        public float Score;
        public List<int> Found;

        public readonly void Take(int row, float score)
        {
            if (score == Score) Found.Add(row);
        }
    }

    private struct TieJob : ParallelRunner.IBody
    {
        public Plan Plan;
        public ulong* Mask;
        public int Rows, RowsPerTask;
        public float Score;
        public List<int>[] Found;

        public void Run(int task)
        {
            int r0 = task * RowsPerTask, r1 = Math.Min(Rows, r0 + RowsPerTask);
            float* content = stackalloc float[BlockRows];
            float* second = stackalloc float[BlockRows];
            var sink = new TieSink { Score = Score, Found = Found[task] = new List<int>() };
            ScanRange(in Plan, Mask, r0, r1, content, second, ref sink);
        }
    }

    /// <summary><c>out[i] = weight · finite(query · rows[i])</c> for n consecutive rows (<see cref="RowDots"/>).</summary>
    private static void DotRows(float* query, float* rows, int dim, int n, float* output, float weight)
    {
        RowDots.DotRows(query, rows, dim, n, output, 1);
        for (int i = 0; i < n; i++) output[i] = weight * Finite0(output[i]);
    }

    private static float RowDot(float* query, float* row, int dim) => RowDots.RowDot(query, row, dim);

    /// <summary>Floats of the fp16 widening scratch: 16 KB, so a chunk of widened rows stays in L1 for its dots.</summary>
    /// <summary><see cref="DotRows"/> over fp16 rows, widened in registers (<see cref="HalfDots"/>): half the bytes of fp32.</summary>
    private static void HalfDotRows(float* query, Half* rows, int dim, int n, float* output, float weight)
    {
        HalfDots.DotRows(query, rows, dim, n, output);
        for (int i = 0; i < n; i++) output[i] = weight * Finite0(output[i]);
    }
}
