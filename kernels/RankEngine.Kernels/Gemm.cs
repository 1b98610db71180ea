using ILGPU;
using ILGPU.Runtime;
using Half = ILGPU.Half;

namespace RankEngine.Kernels;

/// <summary>Scalar arguments of <see cref="Gemm"/> (one struct keeps the kernel signature short).</summary>
public struct GemmArgs
{
    /// <summary>Rows of x and y.</summary>
    public int M;
    /// <summary>Rows of W (= columns of y).</summary>
    public int N;
    /// <summary>Columns of x and W.</summary>
    public int K;
    /// <summary><see cref="KernelActivation"/> as int.</summary>
    public int Activation;
    public int HasBias;
    public int HasResidual;
}

/// <summary>Threads per dimension of a GEMM group, as a type so ILGPU specialises the kernel on it (a constant).</summary>
public interface IGemmShape
{
    int Threads { get; }
}

/// <summary>16 × 16 threads, 64 × 64 tiles: the GPU shape.</summary>
public readonly struct GpuGemmShape : IGemmShape
{
    public int Threads => 16;
}

/// <summary>4 × 4 threads, 16 × 16 tiles: for ILGPU's CPU accelerator, which runs every thread of a group as an OS
/// thread, so a barrier costs time proportional to the group size.</summary>
public readonly struct SmallGemmShape : IGemmShape
{
    public int Threads => 4;
}

/// <summary>
/// <c>y[M,N] = act(x[M,K] · W[N,K]ᵀ + bias) + residual</c>: a shared-memory tiled SGEMM with the bias, activation and
/// residual fused into the store. A group of T×T threads computes a 4T × 4T tile of y (64 × 64 on GPUs), each thread
/// a 4×4 register block (rows <c>ty + T·i</c>, columns <c>tx + T·j</c>, so shared-memory reads are conflict-free and
/// stores coalesce); K advances 16 at a time through two 16 × 4T shared tiles. W may be fp32 or fp16 (converted
/// while staging into shared memory; accumulation is fp32). The residual may alias y: every element is read and
/// written by the same thread.
/// </summary>
public static class Gemm
{
    public const int TileK = 16;
    private const int MaxTile = 64;

    /// <summary>The kernel (explicitly grouped: grid (⌈N/4T⌉, ⌈M/4T⌉), group (T, T)).</summary>
    public static void Kernel<T, TElem, TShape>(ArrayView<float> x, ArrayView<T> w, ArrayView<float> bias,
        ArrayView<float> residual, ArrayView<float> y, GemmArgs a)
        where T : unmanaged
        where TElem : struct, IElement<T>
        where TShape : struct, IGemmShape
    {
        var xs = SharedMemory.Allocate<float>(TileK * MaxTile); // [k][m]
        var ws = SharedMemory.Allocate<float>(TileK * MaxTile); // [k][n]
        int threads = default(TShape).Threads, tile = 4 * threads;
        int tx = Group.IdxX, ty = Group.IdxY, tid = ty * threads + tx;
        int m0 = Grid.IdxY * tile, n0 = Grid.IdxX * tile;
        TElem elem = default;

        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        int loads = TileK * tile / (threads * threads); // 4 on the GPU shape
        for (int k0 = 0; k0 < a.K; k0 += TileK)
        {
            // Stage 16 × 4T of each operand; 16 consecutive threads read 16 consecutive k of one row.
            for (int e = 0; e < loads; e++)
            {
                int l = tid + e * threads * threads;
                int r = l >> 4, kk = l & 15;
                int gk = k0 + kk;
                int gm = m0 + r;
                xs[kk * tile + r] = gm < a.M && gk < a.K ? x[(long)gm * a.K + gk] : 0f;
                int gn = n0 + r;
                ws[kk * tile + r] = gn < a.N && gk < a.K ? elem.ToFloat(w[(long)gn * a.K + gk]) : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < TileK; kk++)
            {
                int xo = kk * tile + ty, wo = kk * tile + tx;
                float a0 = xs[xo], a1 = xs[xo + threads], a2 = xs[xo + 2 * threads], a3 = xs[xo + 3 * threads];
                float b0 = ws[wo], b1 = ws[wo + threads], b2 = ws[wo + 2 * threads], b3 = ws[wo + 3 * threads];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Group.Barrier();
        }
        int row = m0 + ty, col = n0 + tx;
        Store(bias, residual, y, a, row, col, threads, c00, c01, c02, c03);
        Store(bias, residual, y, a, row + threads, col, threads, c10, c11, c12, c13);
        Store(bias, residual, y, a, row + 2 * threads, col, threads, c20, c21, c22, c23);
        Store(bias, residual, y, a, row + 3 * threads, col, threads, c30, c31, c32, c33);
    }

    private static void Store(ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, GemmArgs a,
        int row, int col, int step, float v0, float v1, float v2, float v3)
    {
        if (row >= a.M) return;
        StoreOne(bias, residual, y, a, row, col, v0);
        StoreOne(bias, residual, y, a, row, col + step, v1);
        StoreOne(bias, residual, y, a, row, col + 2 * step, v2);
        StoreOne(bias, residual, y, a, row, col + 3 * step, v3);
    }

    private static void StoreOne(ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, GemmArgs a,
        int row, int col, float v)
    {
        if (col >= a.N) return;
        if (a.HasBias != 0) v += bias[col];
        v = DeviceMath.Activate(v, a.Activation);
        long i = (long)row * a.N + col;
        if (a.HasResidual != 0) v += residual[i];
        y[i] = v;
    }

    /// <summary>Grid for an M × N output with T × T threads per group.</summary>
    public static KernelConfig Config(int m, int n, int threads)
    {
        int tile = 4 * threads;
        return new(new Index2D((n + tile - 1) / tile, (m + tile - 1) / tile), new Index2D(threads, threads));
    }
}

/// <summary>Loads the GEMM kernels once (fp32 and fp16 weights) and launches them after checking every view.</summary>
public sealed class GemmLauncher
{
    private readonly KernelSet _set;
    private readonly int _threads;
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs> _f32;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<Half>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>> _f16;

    public GemmLauncher(KernelSet set)
    {
        _set = set;
        var accelerator = set.Accelerator;
        _threads = set.SmallGroups ? default(SmallGemmShape).Threads : default(GpuGemmShape).Threads;
        _f32 = set.SmallGroups
            ? accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Gemm.Kernel<float, F32, SmallGemmShape>)
            : accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Gemm.Kernel<float, F32, GpuGemmShape>);
        _f16 = new(() => set.SmallGroups
            ? accelerator.LoadKernel<ArrayView<float>, ArrayView<Half>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Gemm.Kernel<Half, F16, SmallGemmShape>)
            : accelerator.LoadKernel<ArrayView<float>, ArrayView<Half>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs>(Gemm.Kernel<Half, F16, GpuGemmShape>));
    }

    /// <summary>Queues <c>y = act(x·Wᵀ + bias) + residual</c>. Empty <paramref name="bias"/> / <paramref name="residual"/>
    /// views mean "none". Throws before launching if a view is too small.</summary>
    public void Run(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias,
        ArrayView<float> residual, ArrayView<float> y, int m, int n, int k, KernelActivation activation)
    {
        var args = Check(x, w.Length, bias, residual, y, m, n, k, activation);
        if (m == 0) return;
        _f32(stream, Gemm.Config(m, n, _threads), x, w, Placeholder(bias), Placeholder(residual), y, args);
    }

    /// <summary>fp16-weight overload of <see cref="Run(AcceleratorStream, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, ArrayView{float}, int, int, int, KernelActivation)"/>.</summary>
    public void Run(AcceleratorStream stream, ArrayView<float> x, ArrayView<Half> w, ArrayView<float> bias,
        ArrayView<float> residual, ArrayView<float> y, int m, int n, int k, KernelActivation activation)
    {
        var args = Check(x, w.Length, bias, residual, y, m, n, k, activation);
        if (m == 0) return;
        _f16.Value(stream, Gemm.Config(m, n, _threads), x, w, Placeholder(bias), Placeholder(residual), y, args);
    }

    private GemmArgs Check(ArrayView<float> x, long wLength, ArrayView<float> bias, ArrayView<float> residual,
        ArrayView<float> y, int m, int n, int k, KernelActivation activation)
    {
        if (m < 0 || n <= 0 || k <= 0) throw new ArgumentOutOfRangeException(nameof(m), $"GEMM shape {m}×{n}×{k} is invalid");
        if (x.Length < (long)m * k) throw new ArgumentException($"x holds {x.Length} values, {m}×{k} needed");
        if (wLength < (long)n * k) throw new ArgumentException($"W holds {wLength} values, {n}×{k} needed");
        return OutputArgs(bias, residual, y, m, n, k, activation);
    }

    /// <summary>The checks and arguments every GEMM launcher shares: output, bias, residual and activation.</summary>
    internal static GemmArgs OutputArgs(ArrayView<float> bias, ArrayView<float> residual, ArrayView<float> y, int m, int n, int k,
        KernelActivation activation)
    {
        if (y.Length < (long)m * n) throw new ArgumentException($"y holds {y.Length} values, {m}×{n} needed");
        if (bias.Length != 0 && bias.Length < n) throw new ArgumentException($"bias holds {bias.Length} values, {n} needed");
        if (residual.Length != 0 && residual.Length < (long)m * n) throw new ArgumentException($"residual holds {residual.Length} values, {m}×{n} needed");
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation));
        return new GemmArgs { M = m, N = n, K = k, Activation = (int)activation, HasBias = bias.Length != 0 ? 1 : 0, HasResidual = residual.Length != 0 ? 1 : 0 };
    }

    // Kernels receive a valid (never dereferenced) view where an optional operand is absent.
    private ArrayView<float> Placeholder(ArrayView<float> view) => view.Length != 0 ? view : _set.Dummy;
}
