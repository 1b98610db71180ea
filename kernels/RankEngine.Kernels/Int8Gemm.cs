using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace RankEngine.Kernels;

/// <summary>
/// The int8 Linear: <c>y = act(acc · (s_a[i] · s_w[n]) + bias) + residual</c> with <c>acc[i,n] = Σ_k q[i,k] · w[n,k]</c>
/// exact in int32. Two kernels:
/// <list type="bullet">
/// <item><see cref="QuantizeRows"/>: one group per activation row; <c>max = max_k |x[i,k]|</c>; a row whose max is 0 or
/// not finite quantises to zeros with scale 0; otherwise <c>q = clamp(round-half-even(x · (127 / max)), −127, 127)</c>
/// and <c>s_a = max / 127</c>. Symmetric, so both operands are signed bytes for <c>dp4a.s32.s32</c>; the SIMD backend
/// quantises asymmetrically over the row's range instead (unsigned bytes for <c>vpdpbusd</c>), so the two backends'
/// integers differ while both stay within the quantisation step of fp32.</item>
/// <item><see cref="Kernel{TShape, TDot}"/>: the tiled GEMM of <see cref="Gemm"/> on packed int8 (four k per int, little-endian:
/// element 4p + j is byte j of int p; rows padded with zero bytes to a multiple of 4), int32 accumulators, and the
/// scales, bias, activation and residual fused into the store. With <see cref="Dp4aDot"/> on CUDA each 4-byte
/// product-sum is one <c>dp4a</c> (inline PTX through <see cref="CudaAsm"/>; sm_61 and later); elsewhere, and with
/// <see cref="PortableDot"/>, four integer multiply-adds.</item>
/// </list>
/// </summary>
public static class Int8Gemm
{
    /// <summary>Packed ints (4 k each, so 64 k) staged per step; the load indexing below assumes 16.</summary>
    public const int TileK4 = 16;
    private const int MaxTile = 64;

    /// <summary>Largest K whose int32 sum cannot overflow: K · 127 · 127 ≤ int.MaxValue.</summary>
    public const int MaxK = int.MaxValue / (127 * 127);

    /// <summary>Ints per packed row of <paramref name="k"/> int8 values.</summary>
    public static int PackedColumns(int k) => (k + 3) >> 2;

    /// <summary>
    /// Quantises each row of <paramref name="x"/> [rows, columns] to packed int8 <paramref name="q"/> [rows, ⌈columns/4⌉]
    /// and its scale <paramref name="scales"/>[row] (explicitly grouped: grid rows, 1-D group of a power of two ≤ 128).
    /// </summary>
    public static void QuantizeRows(ArrayView<float> x, ArrayView<int> q, ArrayView<float> scales, int columns)
    {
        var scratch = SharedMemory.Allocate<int>(DeviceMath.MaxGroupSize);
        int t = Group.IdxX, groupSize = Group.DimX;
        int row = Grid.IdxX;
        long offset = (long)row * columns;
        int packed = PackedColumns(columns);
        long qOffset = (long)row * packed;
        // max |x| through the bit patterns of |x|: for non-negative floats integer order is float order, and NaN
        // (> 0x7F800000) and ±Inf (= 0x7F800000) sort above every finite value, so one integer max finds both the
        // maximum and whether the row is finite, whatever the reduction order.
        int bits = 0;
        for (int c = t; c < columns; c += groupSize)
        {
            int b = (int)(Interop.FloatAsInt(x[offset + c]) & 0x7FFFFFFFu);
            if (b > bits) bits = b;
        }
        bits = GroupMax(scratch, bits, t);
        bool zero = bits == 0 || bits >= 0x7F800000;
        float max = Interop.IntAsFloat((uint)bits);
        float inv = zero ? 0f : 127f / max;
        for (int p = t; p < packed; p += groupSize)
        {
            int word = 0;
            if (!zero)
            {
                int c0 = 4 * p;
                for (int j = 0; j < 4; j++)
                {
                    int c = c0 + j;
                    if (c < columns) word |= (Quantize(x[offset + c], inv) & 0xFF) << (8 * j);
                }
            }
            q[qOffset + p] = word;
        }
        if (t == 0) scales[row] = zero ? 0f : max / 127f;
    }

    /// <summary><c>clamp(round-half-even(value · inv), −127, 127)</c> (clamped as a float, so ±∞ saturates; NaN gives 0).
    /// The rounding is <c>cvt.rni</c> on CUDA (one instruction; XMath.Round lowers to a bit-twiddling routine there) and
    /// XMath.Round elsewhere; both round halfway cases to even, like MathF.Round.</summary>
    internal static int Quantize(float value, float inv)
    {
        float p = value * inv, v;
        if (CudaAsm.IsSupported) CudaAsm.Emit("cvt.rni.f32.f32 %0, %1;", out v, p);
        else v = XMath.Round(p);
        v = v < -127f ? -127f : v > 127f ? 127f : v;
        return (int)v;
    }

    private static int GroupMax(ArrayView<int> scratch, int value, int thread)
    {
        int groupSize = Group.DimX;
        scratch[thread] = value;
        Group.Barrier();
        for (int s = groupSize >> 1; s > 0; s >>= 1)
        {
            if (thread < s)
            {
                int other = scratch[thread + s];
                if (other > scratch[thread]) scratch[thread] = other;
            }
            Group.Barrier();
        }
        int total = scratch[0];
        Group.Barrier(); // nobody may overwrite scratch[0] before everyone has read it
        return total;
    }

    /// <summary><c>c + Σ_j a.byte[j] · b.byte[j]</c> over the four signed bytes of each int, with integer multiply-adds.</summary>
    internal static int Dot4(int a, int b, int c) =>
        c + ((a << 24) >> 24) * ((b << 24) >> 24) + ((a << 16) >> 24) * ((b << 16) >> 24)
          + ((a << 8) >> 24) * ((b << 8) >> 24) + (a >> 24) * (b >> 24);

    /// <summary>
    /// <c>y[M,N] = act(acc · (xScale[m] · wScale[n]) + bias) + residual</c> with <c>acc = xq[M,K] · w[N,K]ᵀ</c> in int32, both
    /// operands packed int8 rows of ⌈K/4⌉ ints (explicitly grouped: grid (⌈N/4T⌉, ⌈M/4T⌉), group (T, T); same tiling
    /// and register blocking as <see cref="Gemm"/>). The residual may alias y.
    /// </summary>
    public static void Kernel<TShape, TDot>(ArrayView<int> xq, ArrayView<float> xScale, ArrayView<int> w, ArrayView<float> wScale,
        ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, GemmArgs a)
        where TShape : struct, IGemmShape
        where TDot : struct, IDot4
    {
        TDot dot = default;
        var xs = SharedMemory.Allocate<int>(TileK4 * MaxTile); // [k4][m]
        var ws = SharedMemory.Allocate<int>(TileK4 * MaxTile); // [k4][n]
        int threads = default(TShape).Threads, tile = 4 * threads;
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * threads + tx;
        int m0 = Grid.IdxY * tile, n0 = Grid.IdxX * tile;
        int k4 = PackedColumns(a.K);

        int c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        int c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        int loads = TileK4 * tile / (threads * threads); // 4 on the GPU shape
        for (int p0 = 0; p0 < k4; p0 += TileK4)
        {
            for (int e = 0; e < loads; e++)
            {
                int l = tid + e * threads * threads;
                int r = l >> 4, kk = l & 15;
                int gp = p0 + kk;
                int gm = m0 + r;
                xs[kk * tile + r] = gm < a.M && gp < k4 ? xq[(long)gm * k4 + gp] : 0;
                int gn = n0 + r;
                ws[kk * tile + r] = gn < a.N && gp < k4 ? w[(long)gn * k4 + gp] : 0;
            }
            Group.Barrier();
            for (int kk = 0; kk < TileK4; kk++)
            {
                int xo = kk * tile + ty, wo = kk * tile + tx;
                int a0 = xs[xo], a1 = xs[xo + threads], a2 = xs[xo + 2 * threads], a3 = xs[xo + 3 * threads];
                int b0 = ws[wo], b1 = ws[wo + threads], b2 = ws[wo + 2 * threads], b3 = ws[wo + 3 * threads];
                c00 = dot.Dot(a0, b0, c00); c01 = dot.Dot(a0, b1, c01); c02 = dot.Dot(a0, b2, c02); c03 = dot.Dot(a0, b3, c03);
                c10 = dot.Dot(a1, b0, c10); c11 = dot.Dot(a1, b1, c11); c12 = dot.Dot(a1, b2, c12); c13 = dot.Dot(a1, b3, c13);
                c20 = dot.Dot(a2, b0, c20); c21 = dot.Dot(a2, b1, c21); c22 = dot.Dot(a2, b2, c22); c23 = dot.Dot(a2, b3, c23);
                c30 = dot.Dot(a3, b0, c30); c31 = dot.Dot(a3, b1, c31); c32 = dot.Dot(a3, b2, c32); c33 = dot.Dot(a3, b3, c33);
            }
            Group.Barrier();
        }
        int row = m0 + ty, col = n0 + tx;
        Store(xScale, wScale, bias, residual, y, a, row, col, threads, c00, c01, c02, c03);
        Store(xScale, wScale, bias, residual, y, a, row + threads, col, threads, c10, c11, c12, c13);
        Store(xScale, wScale, bias, residual, y, a, row + 2 * threads, col, threads, c20, c21, c22, c23);
        Store(xScale, wScale, bias, residual, y, a, row + 3 * threads, col, threads, c30, c31, c32, c33);
    }

    private static void Store(ArrayView<float> xScale, ArrayView<float> wScale, ArrayView<float> bias, ArrayView<float> residual,
        ArrayView<float> y, GemmArgs a, int row, int col, int step, int v0, int v1, int v2, int v3)
    {
        if (row >= a.M) return;
        float sa = xScale[row];
        StoreOne(sa, wScale, bias, residual, y, a, row, col, v0);
        StoreOne(sa, wScale, bias, residual, y, a, row, col + step, v1);
        StoreOne(sa, wScale, bias, residual, y, a, row, col + 2 * step, v2);
        StoreOne(sa, wScale, bias, residual, y, a, row, col + 3 * step, v3);
    }

    private static void StoreOne(float sa, ArrayView<float> wScale, ArrayView<float> bias, ArrayView<float> residual,
        ArrayView<float> y, GemmArgs a, int row, int col, int acc)
    {
        if (col >= a.N) return;
        float v = (float)acc * (sa * wScale[col]);
        if (a.HasBias != 0) v += bias[col];
        v = DeviceMath.Activate(v, a.Activation);
        long i = (long)row * a.N + col;
        if (a.HasResidual != 0) v += residual[i];
        y[i] = v;
    }
}

/// <summary>How the int8 GEMM forms <c>c + Σ_j a.byte[j] · b.byte[j]</c> of two packed ints (a type, so ILGPU specialises on it).</summary>
public interface IDot4
{
    int Dot(int a, int b, int c);
}

/// <summary><c>dp4a.s32.s32</c> on CUDA (sm_61 and later), integer multiply-adds on other accelerators.</summary>
public readonly struct Dp4aDot : IDot4
{
    public int Dot(int a, int b, int c)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("dp4a.s32.s32 %0, %1, %2, %3;", out int r, a, b, c);
            return r;
        }
        return Int8Gemm.Dot4(a, b, c);
    }
}

/// <summary>Integer multiply-adds everywhere (CUDA devices older than sm_61 have no dp4a).</summary>
public readonly struct PortableDot : IDot4
{
    public int Dot(int a, int b, int c) => Int8Gemm.Dot4(a, b, c);
}

/// <summary>Loads the int8 kernels once and launches them after checking every view.</summary>
public sealed class Int8GemmLauncher
{
    private readonly KernelSet _set;
    private readonly int _threads;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> _quantize;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs> _gemm;

    /// <summary>True when the GEMM's packed products are dp4a instructions (CUDA, sm_61 and later).</summary>
    public bool UsesDp4a { get; }

    public Int8GemmLauncher(KernelSet set)
    {
        _set = set;
        var accelerator = set.Accelerator;
        _threads = set.SmallGroups ? default(SmallGemmShape).Threads : default(GpuGemmShape).Threads;
        _quantize = accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(Int8Gemm.QuantizeRows);
        UsesDp4a = accelerator is CudaAccelerator cuda && cuda.Architecture >= CudaArchitecture.SM_61;
        _gemm = set.SmallGroups
            ? accelerator.LoadKernel<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Int8Gemm.Kernel<SmallGemmShape, PortableDot>)
            : UsesDp4a
                ? accelerator.LoadKernel<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Int8Gemm.Kernel<GpuGemmShape, Dp4aDot>)
                : accelerator.LoadKernel<ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Int8Gemm.Kernel<GpuGemmShape, PortableDot>);
    }

    /// <summary>
    /// Queues the int8 Linear <c>y = act(x·Wᵀ + bias) + residual</c>: quantises the <paramref name="m"/> rows of
    /// <paramref name="x"/> into <paramref name="xq"/> / <paramref name="xScale"/> (scratch of at least
    /// m·⌈k/4⌉ ints and m floats, which the caller keeps alive until the stream has run), then multiplies by the packed
    /// weight <paramref name="w"/> [n, ⌈k/4⌉] with row scales <paramref name="wScale"/>. Empty bias / residual mean "none".
    /// </summary>
    public void Run(AcceleratorStream stream, ArrayView<float> x, ArrayView<int> w, ArrayView<float> wScale, ArrayView<float> bias,
        ArrayView<float> residual, ArrayView<float> y, int m, int n, int k, KernelActivation activation,
        ArrayView<int> xq, ArrayView<float> xScale)
    {
        var args = Check(xq, xScale, w, wScale, bias, residual, y, m, n, k, activation);
        if (x.Length < (long)m * k) throw new ArgumentException($"x holds {x.Length} values, {m}×{k} needed");
        if (m == 0) return;
        _quantize(stream, new KernelConfig(m, _set.ReductionGroupSize), x, xq, xScale, k);
        _gemm(stream, Gemm.Config(m, n, _threads), xq, xScale, w, wScale, Placeholder(bias), Placeholder(residual), y, args);
    }

    /// <summary>Queues only the row quantisation of <paramref name="rows"/> × <paramref name="columns"/> floats (for tests).</summary>
    public void Quantize(AcceleratorStream stream, ArrayView<float> x, ArrayView<int> q, ArrayView<float> scales, int rows, int columns)
    {
        if (rows < 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"quantise shape {rows}×{columns} is invalid");
        if (x.Length < (long)rows * columns) throw new ArgumentException($"x holds {x.Length} values, {rows}×{columns} needed");
        if (q.Length < (long)rows * Int8Gemm.PackedColumns(columns)) throw new ArgumentException($"q holds {q.Length} ints, {rows}×{Int8Gemm.PackedColumns(columns)} needed");
        if (scales.Length < rows) throw new ArgumentException($"scales hold {scales.Length} values, {rows} needed");
        if (rows == 0) return;
        _quantize(stream, new KernelConfig(rows, _set.ReductionGroupSize), x, q, scales, columns);
    }

    /// <summary>Queues only the int8 GEMM on already quantised activations (for tests: unit scales expose the int32 sums).</summary>
    public void Multiply(AcceleratorStream stream, ArrayView<int> xq, ArrayView<float> xScale, ArrayView<int> w, ArrayView<float> wScale,
        ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, int m, int n, int k, KernelActivation activation)
    {
        var args = Check(xq, xScale, w, wScale, bias, residual, y, m, n, k, activation);
        if (m == 0) return;
        _gemm(stream, Gemm.Config(m, n, _threads), xq, xScale, w, wScale, Placeholder(bias), Placeholder(residual), y, args);
    }

    private static GemmArgs Check(ArrayView<int> xq, ArrayView<float> xScale, ArrayView<int> w, ArrayView<float> wScale,
        ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, int m, int n, int k, KernelActivation activation)
    {
        if (m < 0 || n <= 0 || k <= 0) throw new ArgumentOutOfRangeException(nameof(m), $"GEMM shape {m}×{n}×{k} is invalid");
        if (k > Int8Gemm.MaxK) throw new ArgumentOutOfRangeException(nameof(k), $"K = {k} could overflow the int32 sums (at most {Int8Gemm.MaxK})");
        long k4 = Int8Gemm.PackedColumns(k);
        if (xq.Length < m * k4) throw new ArgumentException($"quantised x holds {xq.Length} ints, {m}×{k4} needed");
        if (xScale.Length < m) throw new ArgumentException($"x scales hold {xScale.Length} values, {m} needed");
        if (w.Length < n * k4) throw new ArgumentException($"W holds {w.Length} ints, {n}×{k4} needed");
        if (wScale.Length < n) throw new ArgumentException($"W scales hold {wScale.Length} values, {n} needed");
        return GemmLauncher.OutputArgs(bias, residual, y, m, n, k, activation);
    }

    private ArrayView<float> Placeholder(ArrayView<float> view) => view.Length != 0 ? view : _set.Dummy;
}
