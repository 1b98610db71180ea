using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>What happens to each output element after the dot products: <c>act(acc + bias) + residual</c>.</summary>
internal unsafe readonly struct Epilogue
{
    public readonly float* Bias;
    public readonly Activation Activation;
    public readonly float* Residual;
    public readonly int ResidualStride;
    /// <summary>The output already holds the residual before the GEMM starts (in-place residual add).</summary>
    public readonly bool ResidualInOutput;

    public Epilogue(float* bias, Activation activation, float* residual, int residualStride, bool residualInOutput)
    {
        Bias = bias;
        Activation = activation;
        Residual = residual;
        ResidualStride = residualStride;
        ResidualInOutput = residualInOutput;
    }
}

/// <summary>
/// Cache-blocked, multi-threaded single-precision GEMM <c>C[M,N] = A[M,K] · Wᵀ</c> with W pre-packed in 32-column
/// panels (<see cref="PackedMatrix"/>). Micro-kernel: 8 rows × 32 columns held in 16 Vector512 accumulators
/// (AVX-512), or 4 × 32 in Vector256 (AVX2+FMA). K is blocked by <see cref="KBlock"/> so a panel slice
/// (16 KB) stays in L1 while it is reused over a block of rows; A rows stream from L2. Threads take (row block, panel group)
/// tiles. Edge tiles compute into a local tile and copy the valid part, so no size needs padding.
/// </summary>
internal static unsafe class Gemm
{
    // 128 × 32 floats = 16 KB of a panel per K block: two SMT threads sharing one 48 KB L1 both keep theirs resident.
    public const int KBlock = 128;
    public const int RowBlock = 64;
    private const int NR = PackedMatrix.PanelWidth;

    /// <summary>Rows per micro-kernel call on this machine.</summary>
    public static readonly int MR = Avx512F.IsSupported ? 8 : 4;

    public static void Multiply(float* a, int lda, PackedMatrix b, float* c, int ldc, int m, in Epilogue epilogue)
    {
        if (m <= 0) return;
        CheckEpilogue(epilogue);
        var (rowBlocks, groups, panelsPerGroup) = SplitTiles(m, b.Panels);
        int tasks = rowBlocks * groups;
        var job = new Job(a, lda, b, c, ldc, m, epilogue, groups, panelsPerGroup);
        if (tasks == 1) job.Run(0);
        else ParallelRunner.For(tasks, job);
    }

    /// <exception cref="ArgumentException">An in-place residual with an activation.</exception>
    internal static void CheckEpilogue(in Epilogue epilogue)
    {
        if (epilogue.ResidualInOutput && epilogue.Activation != Activation.None)
            throw new ArgumentException("an in-place residual add needs Activation.None (the activation would apply to the residual)");
    }

    /// <summary>
    /// The tasks of an m-row product over <paramref name="panels"/> column panels: blocks of <see cref="RowBlock"/> rows,
    /// and for few rows (small batches) groups of panels too, so every core gets work. Task t is row block
    /// t / groups, panel group t % groups.
    /// </summary>
    internal static (int RowBlocks, int Groups, int PanelsPerGroup) SplitTiles(int m, int panels)
    {
        int rowBlocks = (m + RowBlock - 1) / RowBlock;
        int threads = Environment.ProcessorCount;
        int groups = rowBlocks >= 2 * threads ? 1 : Math.Min(panels, (2 * threads + rowBlocks - 1) / rowBlocks);
        int panelsPerGroup = (panels + groups - 1) / groups;
        return (rowBlocks, (panels + panelsPerGroup - 1) / panelsPerGroup, panelsPerGroup);
    }

    private readonly struct Job : ParallelRunner.IBody
    {
        private readonly float* _a, _c;
        private readonly int _lda, _ldc, _m, _groups, _panelsPerGroup;
        private readonly PackedMatrix _b;
        private readonly Epilogue _ep;

        public Job(float* a, int lda, PackedMatrix b, float* c, int ldc, int m, Epilogue ep, int groups, int panelsPerGroup)
        {
            _a = a; _lda = lda; _b = b; _c = c; _ldc = ldc; _m = m; _ep = ep; _groups = groups; _panelsPerGroup = panelsPerGroup;
        }

        public void Run(int task)
        {
            int rowBlock = task / _groups, group = task % _groups;
            int m0 = rowBlock * RowBlock, m1 = Math.Min(_m, m0 + RowBlock);
            int p0 = group * _panelsPerGroup, p1 = Math.Min(_b.Panels, p0 + _panelsPerGroup);
            Tile(_a, _lda, _b, _c, _ldc, m0, m1, p0, p1, _ep);
        }
    }

    /// <summary>
    /// Single-threaded <c>C[0..m, :] = A[0..m, :] · Wᵀ</c> on the calling thread (no epilogue), for callers that
    /// parallelise at a coarser grain themselves (catalog scoring runs one row block per task).
    /// </summary>
    public static void MultiplyOnThisThread(float* a, int lda, PackedMatrix b, float* c, int ldc, int m)
    {
        if (m <= 0) return;
        var none = new Epilogue(null, Activation.None, null, 0, residualInOutput: false);
        Tile(a, lda, b, c, ldc, 0, m, 0, b.Panels, none);
    }

    private static void Tile(float* a, int lda, PackedMatrix b, float* c, int ldc, int m0, int m1, int p0, int p1, in Epilogue ep)
    {
        int k = b.InputSize, n = b.OutputSize, mr = MR;
        float* local = stackalloc float[8 * NR + 16];
        local = (float*)(((nint)local + 63) & ~(nint)63);
        // fp16 panels: each K-block slice of a panel is widened once into this buffer and reused by every row block.
        float* widened = b.IsHalf ? HalfScratch() : null;
        for (int pc = 0; pc < k; pc += KBlock)
        {
            int kc = Math.Min(KBlock, k - pc);
            bool accumulate = pc > 0 || ep.ResidualInOutput;
            bool last = pc + kc == k;
            for (int p = p0; p < p1; p++)
            {
                float* bp;
                if (widened != null)
                {
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(
                        new ReadOnlySpan<Half>(b.PanelHalf(p) + (long)pc * NR, kc * NR), new Span<float>(widened, kc * NR));
                    bp = widened;
                }
                else
                {
                    bp = b.Panel(p) + (long)pc * NR;
                }
                int col0 = p * NR, cols = Math.Min(NR, n - col0);
                for (int i = m0; i < m1; i += mr)
                {
                    int rows = Math.Min(mr, m1 - i);
                    float* ai = a + (long)i * lda + pc;
                    float* ci = c + (long)i * ldc + col0;
                    if (rows == mr && cols == NR)
                    {
                        Kernel(ai, lda, rows, bp, kc, ci, ldc, accumulate);
                    }
                    else
                    {
                        // Edge tile: run the full kernel on a local tile, move only the valid part.
                        if (accumulate) CopyTile(ci, ldc, local, NR, rows, cols);
                        Kernel(ai, lda, rows, bp, kc, local, NR, accumulate);
                        CopyTile(local, NR, ci, ldc, rows, cols);
                    }
                    if (last)
                        for (int r = 0; r < rows; r++)
                            ApplyEpilogue(ci + (long)r * ldc, cols, col0, i + r, ep);
                }
            }
        }
    }

    [ThreadStatic] private static nint t_halfScratch;

    /// <summary>A per-thread, 64-byte aligned KBlock × 32 float buffer (kept for the thread's lifetime).</summary>
    private static float* HalfScratch()
    {
        if (t_halfScratch == 0) t_halfScratch = (nint)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(KBlock * NR * sizeof(float)), 64);
        return (float*)t_halfScratch;
    }

    private static void CopyTile(float* src, int lds, float* dst, int ldd, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
            new ReadOnlySpan<float>(src + (long)r * lds, cols).CopyTo(new Span<float>(dst + (long)r * ldd, cols));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Kernel(float* a, int lda, int rows, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        if (Avx512F.IsSupported) Kernel8x32(a, lda, rows, b, kc, c, ldc, accumulate);
        else if (Fma.IsSupported) Kernel4x32(a, lda, rows, b, kc, c, ldc, accumulate);
        else KernelScalar(a, lda, rows, b, kc, c, ldc, accumulate);
    }

    // Rows past `rows` read row 0 again (valid memory) and their results are never stored, so the inner loop has no branches.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32(float* a, int lda, int rows, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        float* a0 = a, a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2L * lda : a, a3 = rows > 3 ? a + 3L * lda : a;
        float* a4 = rows > 4 ? a + 4L * lda : a, a5 = rows > 5 ? a + 5L * lda : a, a6 = rows > 6 ? a + 6L * lda : a, a7 = rows > 7 ? a + 7L * lda : a;
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = Vector512.Load(c); c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + ldc); c11 = Vector512.Load(c + ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc); c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc); c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc); c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc); c51 = Vector512.Load(c + 5 * ldc + 16);
            c60 = Vector512.Load(c + 6 * ldc); c61 = Vector512.Load(c + 6 * ldc + 16);
            c70 = Vector512.Load(c + 7 * ldc); c71 = Vector512.Load(c + 7 * ldc + 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = Vector512<float>.Zero;
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = Vector512<float>.Zero;
        }
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            b += NR;
            var x = Vector512.Create(a0[k]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[k]);
            c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[k]);
            c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[k]);
            c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[k]);
            c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[k]);
            c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[k]);
            c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[k]);
            c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
        }
        Vector512.Store(c00, c); Vector512.Store(c01, c + 16);
        if (rows > 1) { Vector512.Store(c10, c + ldc); Vector512.Store(c11, c + ldc + 16); }
        if (rows > 2) { Vector512.Store(c20, c + 2 * ldc); Vector512.Store(c21, c + 2 * ldc + 16); }
        if (rows > 3) { Vector512.Store(c30, c + 3 * ldc); Vector512.Store(c31, c + 3 * ldc + 16); }
        if (rows > 4) { Vector512.Store(c40, c + 4 * ldc); Vector512.Store(c41, c + 4 * ldc + 16); }
        if (rows > 5) { Vector512.Store(c50, c + 5 * ldc); Vector512.Store(c51, c + 5 * ldc + 16); }
        if (rows > 6) { Vector512.Store(c60, c + 6 * ldc); Vector512.Store(c61, c + 6 * ldc + 16); }
        if (rows > 7) { Vector512.Store(c70, c + 7 * ldc); Vector512.Store(c71, c + 7 * ldc + 16); }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4x32(float* a, int lda, int rows, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        float* a0 = a, a1 = rows > 1 ? a + lda : a, a2 = rows > 2 ? a + 2L * lda : a, a3 = rows > 3 ? a + 3L * lda : a;
        Span<Vector256<float>> acc = stackalloc Vector256<float>[16];
        for (int r = 0; r < 4; r++)
            for (int v = 0; v < 4; v++)
                acc[r * 4 + v] = accumulate && r < rows ? Vector256.Load(c + (long)r * ldc + v * 8) : Vector256<float>.Zero;
        Vector256<float> c00 = acc[0], c01 = acc[1], c02 = acc[2], c03 = acc[3], c10 = acc[4], c11 = acc[5], c12 = acc[6], c13 = acc[7];
        Vector256<float> c20 = acc[8], c21 = acc[9], c22 = acc[10], c23 = acc[11], c30 = acc[12], c31 = acc[13], c32 = acc[14], c33 = acc[15];
        for (int k = 0; k < kc; k++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8); var b2 = Vector256.Load(b + 16); var b3 = Vector256.Load(b + 24);
            b += NR;
            var x = Vector256.Create(a0[k]);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01); c02 = Fma.MultiplyAdd(x, b2, c02); c03 = Fma.MultiplyAdd(x, b3, c03);
            x = Vector256.Create(a1[k]);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11); c12 = Fma.MultiplyAdd(x, b2, c12); c13 = Fma.MultiplyAdd(x, b3, c13);
            x = Vector256.Create(a2[k]);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21); c22 = Fma.MultiplyAdd(x, b2, c22); c23 = Fma.MultiplyAdd(x, b3, c23);
            x = Vector256.Create(a3[k]);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31); c32 = Fma.MultiplyAdd(x, b2, c32); c33 = Fma.MultiplyAdd(x, b3, c33);
        }
        StoreRow(c, c00, c01, c02, c03);
        if (rows > 1) StoreRow(c + ldc, c10, c11, c12, c13);
        if (rows > 2) StoreRow(c + 2L * ldc, c20, c21, c22, c23);
        if (rows > 3) StoreRow(c + 3L * ldc, c30, c31, c32, c33);

        static void StoreRow(float* p, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3)
        {
            Vector256.Store(v0, p); Vector256.Store(v1, p + 8); Vector256.Store(v2, p + 16); Vector256.Store(v3, p + 24);
        }
    }

    private static void KernelScalar(float* a, int lda, int rows, float* b, int kc, float* c, int ldc, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < NR; j++)
            {
                float acc = accumulate ? c[(long)r * ldc + j] : 0f;
                for (int k = 0; k < kc; k++) acc = MathF.FusedMultiplyAdd(a[(long)r * lda + k], b[k * NR + j], acc);
                c[(long)r * ldc + j] = acc;
            }
    }

    /// <summary>Bias, activation and a separate residual on one finished output row segment.</summary>
    internal static void ApplyEpilogue(float* row, int cols, int col0, int rowIndex, in Epilogue ep)
    {
        var y = new Span<float>(row, cols);
        if (ep.Bias != null)
            System.Numerics.Tensors.TensorPrimitives.Add(y, new ReadOnlySpan<float>(ep.Bias + col0, cols), y);
        VectorMath.Apply(ep.Activation, y);
        if (ep.Residual != null && !ep.ResidualInOutput)
            System.Numerics.Tensors.TensorPrimitives.Add(y, new ReadOnlySpan<float>(ep.Residual + (long)rowIndex * ep.ResidualStride + col0, cols), y);
    }
}
