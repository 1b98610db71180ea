using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// int8 GEMM <c>C[M,N] = A[M,K] · Wᵀ</c> for the encoder: W int8 with one scale per output row
/// (<see cref="Int8PackedMatrix"/>), A quantised per row on the fly, int32 accumulation, then one fused epilogue
/// <c>act(s_w[n] · (s_a[i] · acc + lo[i] · Σ_k q_w[n,k]) + bias) + residual</c>.
/// <para>Activation rows are quantised asymmetrically, as ONNX Runtime's DynamicQuantizeLinear does: the row's range
/// [lo, hi] (widened to hold 0) is cut into L steps, <c>s_a = (hi − lo) / L</c>, <c>u = round((x − lo) / s_a)</c> in
/// 0..L, so <c>x ≈ lo + s_a · u</c>; the weights' row sums carry the <c>lo</c> term. A ReLU output (lo = 0) gets the
/// whole byte. L is 255 for AVX-VNNI (<c>vpdpbusd</c> sums four u8·s8 products straight into int32) and the scalar
/// kernel, and 127 for the AVX-512BW / AVX2 pair, whose <c>vpmaddubsw</c> adds two u8·s8 products into a saturating
/// int16: with bytes ≤ 127, 2 · 127 · 127 = 32,258 cannot saturate (the same reason ONNX Runtime reduces the range on
/// CPUs without VNNI). The integer sums are exact on every kernel.</para>
/// </summary>
internal static unsafe class Int8Gemm
{
    private const int NR = Int8PackedMatrix.PanelWidth;
    private const int RowBlock = Gemm.RowBlock;

    /// <summary>L, the number of quantisation steps of an activation row, for a kernel (its largest byte).</summary>
    public static int ActivationLevels(Int8Kernel kernel) => kernel is Int8Kernel.Avx512BW or Int8Kernel.Avx2 ? 127 : 255;

    /// <summary>Rows per micro-kernel call.</summary>
    private static int RowsPerKernel(Int8Kernel kernel) => kernel switch
    {
        Int8Kernel.AvxVnni => 6,
        Int8Kernel.Avx512BW => 8,
        Int8Kernel.Avx2 => 4,
        _ => 1,
    };

    /// <summary>
    /// Quantises row <paramref name="row"/> into <paramref name="destination"/> (Groups · 4 bytes; the padding gets 0,
    /// and its weights are zero) and returns (s_a, lo). An all-zero or non-finite row returns (0, 0) and contributes
    /// nothing.
    /// </summary>
    public static (float Scale, float Low) QuantizeRow(ReadOnlySpan<float> row, Span<byte> destination, int levels)
    {
        float lo = 0, hi = 0;
        if (!row.IsEmpty)
        {
            lo = MathF.Min(0, TensorPrimitives.Min(row));
            hi = MathF.Max(0, TensorPrimitives.Max(row));
        }
        float range = hi - lo;
        if (range == 0 || !float.IsFinite(range))
        {
            destination.Clear();
            return (0f, 0f);
        }
        float inverse = levels / range;
        int j = 0;
        fixed (float* x = row)
        fixed (byte* d = destination)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                var inv = Vector512.Create(inverse);
                var low = Vector512.Create(lo);
                var top = Vector512.Create(levels);
                for (; j + 64 <= row.Length; j += 64)
                {
                    var i0 = Vector512.Clamp(Vector512.ConvertToInt32(Vector512.Round((Vector512.Load(x + j) - low) * inv)), Vector512<int>.Zero, top);
                    var i1 = Vector512.Clamp(Vector512.ConvertToInt32(Vector512.Round((Vector512.Load(x + j + 16) - low) * inv)), Vector512<int>.Zero, top);
                    var i2 = Vector512.Clamp(Vector512.ConvertToInt32(Vector512.Round((Vector512.Load(x + j + 32) - low) * inv)), Vector512<int>.Zero, top);
                    var i3 = Vector512.Clamp(Vector512.ConvertToInt32(Vector512.Round((Vector512.Load(x + j + 48) - low) * inv)), Vector512<int>.Zero, top);
                    Vector512.Narrow(Vector512.Narrow(i0.AsUInt32(), i1.AsUInt32()), Vector512.Narrow(i2.AsUInt32(), i3.AsUInt32())).Store(d + j);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var inv = Vector256.Create(inverse);
                var low = Vector256.Create(lo);
                var top = Vector256.Create(levels);
                for (; j + 32 <= row.Length; j += 32)
                {
                    var i0 = Vector256.Clamp(Vector256.ConvertToInt32(Vector256.Round((Vector256.Load(x + j) - low) * inv)), Vector256<int>.Zero, top);
                    var i1 = Vector256.Clamp(Vector256.ConvertToInt32(Vector256.Round((Vector256.Load(x + j + 8) - low) * inv)), Vector256<int>.Zero, top);
                    var i2 = Vector256.Clamp(Vector256.ConvertToInt32(Vector256.Round((Vector256.Load(x + j + 16) - low) * inv)), Vector256<int>.Zero, top);
                    var i3 = Vector256.Clamp(Vector256.ConvertToInt32(Vector256.Round((Vector256.Load(x + j + 24) - low) * inv)), Vector256<int>.Zero, top);
                    Vector256.Narrow(Vector256.Narrow(i0.AsUInt32(), i1.AsUInt32()), Vector256.Narrow(i2.AsUInt32(), i3.AsUInt32())).Store(d + j);
                }
            }
        }
        for (; j < row.Length; j++)
            destination[j] = (byte)Math.Clamp((int)MathF.Round((row[j] - lo) * inverse), 0, levels);
        destination[row.Length..].Clear();
        return (range / levels, lo);
    }

    /// <summary><c>C = epilogue(A · Wᵀ)</c> over the first <paramref name="m"/> rows, on all cores.</summary>
    public static void Multiply(Int8Kernel kernel, float* a, int lda, Int8PackedMatrix w, float* c, int ldc, int m, in Epilogue epilogue)
    {
        if (m <= 0) return;
        Gemm.CheckEpilogue(epilogue);
        int levels = ActivationLevels(kernel);
        int rowBytes = w.Groups * 4;
        byte[] quantized = ArrayPool<byte>.Shared.Rent(checked(m * rowBytes));
        float[] scales = ArrayPool<float>.Shared.Rent(2 * m);   // (s_a, lo) per row
        try
        {
            fixed (byte* q = quantized)
            fixed (float* s = scales)
            {
                var quantize = new QuantizeJob(a, lda, w.InputSize, q, rowBytes, s, m, levels);
                ParallelRunner.For(quantize.Chunks, quantize);

                var (rowBlocks, groups, panelsPerGroup) = Gemm.SplitTiles(m, w.Panels);
                var job = new Job(kernel, q, rowBytes, s, w, c, ldc, m, epilogue, groups, panelsPerGroup);
                if (rowBlocks * groups == 1) job.Run(0);
                else ParallelRunner.For(rowBlocks * groups, job);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(quantized);
            ArrayPool<float>.Shared.Return(scales);
        }
    }

    private readonly struct QuantizeJob : ParallelRunner.IBody
    {
        private const int RowsPerChunk = 32;
        private readonly float* _a, _scales;
        private readonly byte* _q;
        private readonly int _lda, _k, _rowBytes, _m, _levels;

        public QuantizeJob(float* a, int lda, int k, byte* q, int rowBytes, float* scales, int m, int levels)
        {
            _a = a; _lda = lda; _k = k; _q = q; _rowBytes = rowBytes; _scales = scales; _m = m; _levels = levels;
        }

        public int Chunks => (_m + RowsPerChunk - 1) / RowsPerChunk;

        public void Run(int chunk)
        {
            int end = Math.Min(_m, (chunk + 1) * RowsPerChunk);
            for (int i = chunk * RowsPerChunk; i < end; i++)
            {
                var (scale, low) = QuantizeRow(new ReadOnlySpan<float>(_a + (long)i * _lda, _k), new Span<byte>(_q + (long)i * _rowBytes, _rowBytes), _levels);
                _scales[2 * i] = scale;
                _scales[2 * i + 1] = low;
            }
        }
    }

    private readonly struct Job : ParallelRunner.IBody
    {
        private readonly Int8Kernel _kernel;
        private readonly byte* _q;
        private readonly float* _scales, _c;
        private readonly int _rowBytes, _ldc, _m, _groups, _panelsPerGroup;
        private readonly Int8PackedMatrix _w;
        private readonly Epilogue _ep;

        public Job(Int8Kernel kernel, byte* q, int rowBytes, float* scales, Int8PackedMatrix w, float* c, int ldc, int m,
            Epilogue ep, int groups, int panelsPerGroup)
        {
            _kernel = kernel; _q = q; _rowBytes = rowBytes; _scales = scales; _w = w; _c = c; _ldc = ldc; _m = m; _ep = ep;
            _groups = groups; _panelsPerGroup = panelsPerGroup;
        }

        public void Run(int task)
        {
            int rowBlock = task / _groups, group = task % _groups;
            int m0 = rowBlock * RowBlock, m1 = Math.Min(_m, m0 + RowBlock);
            int p0 = group * _panelsPerGroup, p1 = Math.Min(_w.Panels, p0 + _panelsPerGroup);
            int mr = RowsPerKernel(_kernel);
            int* acc = stackalloc int[8 * NR];
            int n = _w.OutputSize;
            for (int p = p0; p < p1; p++)
            {
                sbyte* panel = _w.Panel(p);
                int col0 = p * NR, cols = Math.Min(NR, n - col0);
                for (int i = m0; i < m1; i += mr)
                {
                    int rows = Math.Min(mr, m1 - i);
                    RunKernel(_kernel, _q + (long)i * _rowBytes, _rowBytes, rows, panel, _w.Groups, acc);
                    for (int r = 0; r < rows; r++)
                        Finish(acc + r * NR, _scales[2 * (i + r)], _scales[2 * (i + r) + 1], col0, cols, _c + (long)(i + r) * _ldc + col0, i + r);
                }
            }
        }

        /// <summary>Dequantises one row of a tile into C and applies the epilogue.</summary>
        private void Finish(int* acc, float rowScale, float rowLow, int col0, int cols, float* c, int row)
        {
            if (cols == NR && _ep.Activation is Activation.None or Activation.Gelu or Activation.Relu)
            {
                if (Vector512.IsHardwareAccelerated)
                {
                    FinishFull(acc, rowScale, rowLow, col0, c, row);
                    return;
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    FinishHalf(acc, rowScale, rowLow, col0, c, row);
                    FinishHalf(acc + 8, rowScale, rowLow, col0 + 8, c + 8, row);
                    return;
                }
            }
            var scales = _w.Scales.Slice(col0, NR);
            var sums = _w.RowSums.Slice(col0, NR);
            float* values = stackalloc float[NR];
            for (int j = 0; j < NR; j++)
                values[j] = scales[j] * (rowScale * acc[j] + rowLow * sums[j]);
            var y = new Span<float>(c, cols);
            if (_ep.ResidualInOutput) TensorPrimitives.Add(y, new ReadOnlySpan<float>(values, cols), y);
            else new ReadOnlySpan<float>(values, cols).CopyTo(y);
            Gemm.ApplyEpilogue(c, cols, col0, row, _ep);
        }

        // The common case in registers: 16 outputs are one Vector512 from the accumulators to C.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void FinishFull(int* acc, float rowScale, float rowLow, int col0, float* c, int row)
        {
            fixed (float* scales = _w.Scales)
            fixed (int* sums = _w.RowSums)
            {
                var dot = Vector512.ConvertToSingle(Vector512.Load(acc)) * Vector512.Create(rowScale)
                    + Vector512.ConvertToSingle(Vector512.Load(sums + col0)) * Vector512.Create(rowLow);
                var v = dot * Vector512.Load(scales + col0);
                if (_ep.ResidualInOutput) v += Vector512.Load(c);
                if (_ep.Bias != null) v += Vector512.Load(_ep.Bias + col0);
                if (_ep.Activation == Activation.Gelu) v = VectorMath.Gelu(v);
                else if (_ep.Activation == Activation.Relu) v = Vector512.Max(v, Vector512<float>.Zero);
                if (_ep.Residual != null && !_ep.ResidualInOutput) v += Vector512.Load(_ep.Residual + (long)row * _ep.ResidualStride + col0);
                v.Store(c);
            }
        }

        // FinishFull's steps on 8 columns, for CPUs without AVX-512.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void FinishHalf(int* acc, float rowScale, float rowLow, int col0, float* c, int row)
        {
            fixed (float* scales = _w.Scales)
            fixed (int* sums = _w.RowSums)
            {
                var dot = Vector256.ConvertToSingle(Vector256.Load(acc)) * Vector256.Create(rowScale)
                    + Vector256.ConvertToSingle(Vector256.Load(sums + col0)) * Vector256.Create(rowLow);
                var v = dot * Vector256.Load(scales + col0);
                if (_ep.ResidualInOutput) v += Vector256.Load(c);
                if (_ep.Bias != null) v += Vector256.Load(_ep.Bias + col0);
                if (_ep.Activation == Activation.Gelu) v = VectorMath.Gelu(v);
                else if (_ep.Activation == Activation.Relu) v = Vector256.Max(v, Vector256<float>.Zero);
                if (_ep.Residual != null && !_ep.ResidualInOutput) v += Vector256.Load(_ep.Residual + (long)row * _ep.ResidualStride + col0);
                v.Store(c);
            }
        }
    }

    /// <summary>
    /// <c>acc[r·16 + j] = Σ_g Σ_t q[r, 4g + t] · panel[g, j, t]</c> for <paramref name="rows"/> rows (the kernel's row
    /// count or fewer; missing rows re-read row 0 and are never used).
    /// </summary>
    internal static void RunKernel(Int8Kernel kernel, byte* q, int rowBytes, int rows, sbyte* panel, int groups, int* acc)
    {
        switch (kernel)
        {
            case Int8Kernel.AvxVnni: KernelVnni6(q, rowBytes, rows, panel, groups, acc); break;
            case Int8Kernel.Avx512BW: Kernel512BW8(q, rowBytes, rows, panel, groups, acc); break;
            case Int8Kernel.Avx2: KernelAvx2x4(q, rowBytes, rows, panel, groups, acc); break;
            default: KernelScalar(q, rowBytes, rows, panel, groups, acc); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* RowOr0(byte* q, int rowBytes, int rows, int r) => r < rows ? q + (long)r * rowBytes : q;

    // 6 rows × 16 columns = 12 ymm accumulators + 2 weight registers + 1 broadcast: the 15 of VEX's 16 that fit.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelVnni6(byte* q, int rowBytes, int rows, sbyte* panel, int groups, int* acc)
    {
        byte* q0 = q, q1 = RowOr0(q, rowBytes, rows, 1), q2 = RowOr0(q, rowBytes, rows, 2);
        byte* q3 = RowOr0(q, rowBytes, rows, 3), q4 = RowOr0(q, rowBytes, rows, 4), q5 = RowOr0(q, rowBytes, rows, 5);
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int g = 0; g < groups; g++)
        {
            var w0 = Vector256.Load(panel);
            var w1 = Vector256.Load(panel + 32);
            panel += Int8PackedMatrix.GroupBytes;
            int o = 4 * g;
            var x = Vector256.Create(*(int*)(q0 + o)).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, x, w0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, x, w1);
            x = Vector256.Create(*(int*)(q1 + o)).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, x, w0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, x, w1);
            x = Vector256.Create(*(int*)(q2 + o)).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, x, w0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, x, w1);
            x = Vector256.Create(*(int*)(q3 + o)).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, x, w0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, x, w1);
            x = Vector256.Create(*(int*)(q4 + o)).AsByte();
            c40 = AvxVnni.MultiplyWideningAndAdd(c40, x, w0); c41 = AvxVnni.MultiplyWideningAndAdd(c41, x, w1);
            x = Vector256.Create(*(int*)(q5 + o)).AsByte();
            c50 = AvxVnni.MultiplyWideningAndAdd(c50, x, w0); c51 = AvxVnni.MultiplyWideningAndAdd(c51, x, w1);
        }
        c00.Store(acc); c01.Store(acc + 8);
        c10.Store(acc + 16); c11.Store(acc + 24);
        c20.Store(acc + 32); c21.Store(acc + 40);
        c30.Store(acc + 48); c31.Store(acc + 56);
        c40.Store(acc + 64); c41.Store(acc + 72);
        c50.Store(acc + 80); c51.Store(acc + 88);
    }

    // One zmm holds a K group for all 16 columns: vpmaddubsw pairs adjacent bytes into int16, vpmaddwd by 1 adds pairs into int32.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512BW8(byte* q, int rowBytes, int rows, sbyte* panel, int groups, int* acc)
    {
        byte* q0 = q, q1 = RowOr0(q, rowBytes, rows, 1), q2 = RowOr0(q, rowBytes, rows, 2), q3 = RowOr0(q, rowBytes, rows, 3);
        byte* q4 = RowOr0(q, rowBytes, rows, 4), q5 = RowOr0(q, rowBytes, rows, 5), q6 = RowOr0(q, rowBytes, rows, 6), q7 = RowOr0(q, rowBytes, rows, 7);
        var ones = Vector512.Create((short)1);
        Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int g = 0; g < groups; g++)
        {
            var w = Vector512.Load(panel);
            panel += Int8PackedMatrix.GroupBytes;
            int o = 4 * g;
            c0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q0 + o)).AsByte(), w), ones);
            c1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q1 + o)).AsByte(), w), ones);
            c2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q2 + o)).AsByte(), w), ones);
            c3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q3 + o)).AsByte(), w), ones);
            c4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q4 + o)).AsByte(), w), ones);
            c5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q5 + o)).AsByte(), w), ones);
            c6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q6 + o)).AsByte(), w), ones);
            c7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(q7 + o)).AsByte(), w), ones);
        }
        c0.Store(acc); c1.Store(acc + 16); c2.Store(acc + 32); c3.Store(acc + 48);
        c4.Store(acc + 64); c5.Store(acc + 80); c6.Store(acc + 96); c7.Store(acc + 112);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KernelAvx2x4(byte* q, int rowBytes, int rows, sbyte* panel, int groups, int* acc)
    {
        byte* q0 = q, q1 = RowOr0(q, rowBytes, rows, 1), q2 = RowOr0(q, rowBytes, rows, 2), q3 = RowOr0(q, rowBytes, rows, 3);
        var ones = Vector256.Create((short)1);
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int g = 0; g < groups; g++)
        {
            var w0 = Vector256.Load(panel);
            var w1 = Vector256.Load(panel + 32);
            panel += Int8PackedMatrix.GroupBytes;
            int o = 4 * g;
            var x = Vector256.Create(*(int*)(q0 + o)).AsByte();
            c00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w0), ones); c01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w1), ones);
            x = Vector256.Create(*(int*)(q1 + o)).AsByte();
            c10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w0), ones); c11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w1), ones);
            x = Vector256.Create(*(int*)(q2 + o)).AsByte();
            c20 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w0), ones); c21 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w1), ones);
            x = Vector256.Create(*(int*)(q3 + o)).AsByte();
            c30 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w0), ones); c31 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, w1), ones);
        }
        c00.Store(acc); c01.Store(acc + 8);
        c10.Store(acc + 16); c11.Store(acc + 24);
        c20.Store(acc + 32); c21.Store(acc + 40);
        c30.Store(acc + 48); c31.Store(acc + 56);
    }

    private static void KernelScalar(byte* q, int rowBytes, int rows, sbyte* panel, int groups, int* acc)
    {
        for (int r = 0; r < rows; r++)
        {
            byte* qr = q + (long)r * rowBytes;
            for (int j = 0; j < NR; j++)
            {
                int s = 0;
                for (int g = 0; g < groups; g++)
                {
                    sbyte* w = panel + (long)g * Int8PackedMatrix.GroupBytes + j * 4;
                    byte* x = qr + 4 * g;
                    s += x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + x[3] * w[3];
                }
                acc[r * NR + j] = s;
            }
        }
    }
}
