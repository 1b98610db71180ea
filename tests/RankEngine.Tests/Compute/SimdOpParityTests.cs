using RankEngine.Compute;
using RankEngine.Compute.Reference;
using RankEngine.Compute.Simd;
using RankEngine.Model;
using RankEngine.Tests.Support;
using Xunit;
using static RankEngine.Tests.Support.OpTestKit;

namespace RankEngine.Tests.Compute;

/// <summary>
/// Every SIMD op against the scalar double-precision reference, on shapes chosen to hit edge tiles
/// (rows not a multiple of the micro-kernel, columns not a multiple of a panel, K spanning several K blocks).
/// </summary>
public sealed class SimdOpParityTests : IDisposable
{
    private readonly SimdCpuBackend _simd = new();
    private readonly ReferenceBackend _ref = new();

    public static TheoryData<int, int, int, string, bool, bool> LinearCases => new()
    {
        // m, n (out), k (in), activation, bias, residual
        { 1, 1, 1, nameof(Activation.None), false, false },
        { 1, 32, 16, nameof(Activation.None), true, false },
        { 7, 33, 5, nameof(Activation.Gelu), true, false },
        { 8, 32, 256, nameof(Activation.Relu), true, true },
        { 9, 65, 257, nameof(Activation.Gelu), true, true },
        { 70, 96, 600, nameof(Activation.None), true, true },
        { 130, 31, 64, nameof(Activation.Tanh), false, false },
        { 3, 100, 1000, nameof(Activation.Gelu), true, false },
    };

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void LinearMatchesReference(int m, int n, int k, string activation, bool withBias, bool withResidual)
    {
        var act = Enum.Parse<Activation>(activation); // by name: Activation is internal to RankEngine
        var x = Random(m * k, 1);
        var w = Random(n * k, 2, 0.2f);
        var bias = Random(n, 3);
        var res = Random(m * n, 4);
        float[] Compute(IComputeBackend b)
        {
            using var xt = Tensor(b, x, m, k);
            using var wt = b.UploadWeight(w, n, k, WeightRole.MatMul);
            using var bt = withBias ? b.UploadWeight(bias, 1, n, WeightRole.Vector) : null;
            using var rt = withResidual ? Tensor(b, res, m, n) : null;
            return Run(b, be =>
            {
                var y = be.Allocate(m, n);
                be.Linear(xt, wt, bt, act, y, rt, m);
                return y;
            }, m * n);
        }
        AssertClose(Compute(_ref), Compute(_simd), 2e-5f, $"linear {m}x{n}x{k} {act}");
    }

    [Theory]
    [InlineData(5, 40, 300)]
    [InlineData(64, 64, 64)]
    public void LinearWithResidualInPlaceMatchesReference(int m, int n, int k)
    {
        // Pre-norm layers write x·Wᵀ + b + h back into h: the residual must be read before the GEMM overwrites it.
        var x = Random(m * k, 5);
        var w = Random(n * k, 6, 0.1f);
        var bias = Random(n, 7);
        var h = Random(m * n, 8);
        float[] Compute(IComputeBackend b)
        {
            using var xt = Tensor(b, x, m, k);
            using var wt = b.UploadWeight(w, n, k, WeightRole.MatMul);
            using var bt = b.UploadWeight(bias, 1, n, WeightRole.Vector);
            return Run(b, be =>
            {
                var ht = Tensor(be, h, m, n);
                be.Linear(xt, wt, bt, Activation.None, ht, ht, m);
                return ht;
            }, m * n);
        }
        AssertClose(Compute(_ref), Compute(_simd), 2e-5f, "in-place residual");
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(5, 64)]
    [InlineData(67, 384)]
    [InlineData(3, 17)]
    public void LayerNormMatchesReference(int rows, int cols)
    {
        var x = Random(rows * cols, 9, 3f);
        for (int i = 0; i < x.Length; i++) x[i] += 5f; // a large mean tests the two-pass variance
        var g = Random(cols, 10);
        var b = Random(cols, 11);
        float[] Compute(IComputeBackend be)
        {
            using var gt = be.UploadWeight(g, 1, cols, WeightRole.Vector);
            using var bt = be.UploadWeight(b, 1, cols, WeightRole.Vector);
            return Run(be, e =>
            {
                var t = Tensor(e, x, rows, cols);
                e.LayerNorm(t, gt, bt, 1e-12f, t, rows);
                return t;
            }, rows * cols);
        }
        AssertClose(Compute(_ref), Compute(_simd), 1e-5f, "layernorm");
    }

    public static TheoryData<int[], int, int> AttentionCases => new()
    {
        // sequence lengths, heads, head size
        { new[] { 1 }, 1, 8 },
        { new[] { 3, 1, 9 }, 2, 5 },
        { new[] { 17, 8, 33 }, 4, 16 },
        { new[] { 128, 5 }, 3, 32 },
        { new[] { 40 }, 2, 64 },
        { new[] { 11, 2 }, 2, 24 },
    };

    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void AttentionMatchesReference(int[] lengths, int heads, int headSize)
    {
        int hidden = heads * headSize;
        var starts = new int[lengths.Length + 1];
        for (int i = 0; i < lengths.Length; i++) starts[i + 1] = starts[i] + lengths[i];
        int tokens = starts[^1];
        var qkv = Random(tokens * 3 * hidden, 12, 2f);
        var layout = new SequenceLayout(starts);
        float scale = 1f / MathF.Sqrt(headSize);
        float[] Compute(IComputeBackend be)
        {
            using var q = Tensor(be, qkv, tokens, 3 * hidden);
            return Run(be, e =>
            {
                var ctx = e.Allocate(tokens, hidden);
                e.Attention(q, layout, heads, scale, ctx);
                return ctx;
            }, tokens * hidden);
        }
        AssertClose(Compute(_ref), Compute(_simd), 2e-5f, $"attention [{string.Join(",", lengths)}] {heads}x{headSize}");
    }

    [Theory]
    [InlineData(nameof(Pooling.Cls))]
    [InlineData(nameof(Pooling.Mean))]
    [InlineData(nameof(Pooling.SqrtLengthSum))]
    public void PoolingAndNormalisationMatchReference(string pooling)
    {
        var mode = Enum.Parse<Pooling>(pooling); // by name: Pooling is internal to RankEngine
        int[] starts = { 0, 1, 4, 12 };
        int tokens = 12, cols = 20;
        var h = Random(tokens * cols, 13);
        var layout = new SequenceLayout(starts);
        float[] Compute(IComputeBackend be)
        {
            using var ht = Tensor(be, h, tokens, cols);
            return Run(be, e =>
            {
                var p = e.Allocate(3, cols);
                e.Pool(ht, layout, mode, p);
                e.L2Normalize(p, 3);
                return p;
            }, 3 * cols);
        }
        AssertClose(Compute(_ref), Compute(_simd), 1e-5f, $"pool {mode}");
    }

    [Fact]
    public unsafe void FusedExpAndSumMatchDoublePrecision()
    {
        // Every length hits the vector body and the scalar tail; values span the whole softmax range (x − max ≤ 0).
        foreach (int n in new[] { 1, 7, 16, 33, 130 })
        {
            var x = new float[n];
            for (int i = 0; i < n; i++) x[i] = -87f + 90f * i / Math.Max(1, n - 1);
            var y = (float[])x.Clone();
            float sum;
            fixed (float* p = y) sum = VectorMath.ExpShiftedInPlace(p, n, 3f);
            double expectedSum = 0;
            for (int i = 0; i < n; i++)
            {
                double e = Math.Exp((double)(x[i] - 3f)); // the float argument our code sees
                expectedSum += e;
                Assert.True(Math.Abs(y[i] - e) <= 3e-7 * e + 1.2e-38, $"exp({x[i] - 3}) = {y[i]:g9}, exact {e:g9}");
            }
            Assert.True(Math.Abs(sum - expectedSum) <= 1e-6 * expectedSum, $"n={n}: sum {sum:g9} vs {expectedSum:g9}");
        }
    }

    [Fact]
    public void GeluMatchesExactErfFormulation()
    {
        // Hand-checked anchors: GELU(0) = 0, GELU(1) = 0.8413447, GELU(-1) = -0.1586553, GELU(3) = 2.9959502.
        Assert.Equal(0.8413447, ReferenceBackend.Activate(1, Activation.Gelu), 6);
        Assert.Equal(-0.1586553, ReferenceBackend.Activate(-1, Activation.Gelu), 6);
        Assert.Equal(2.9959502, ReferenceBackend.Activate(3, Activation.Gelu), 6);
        var xs = new float[2001];
        for (int i = 0; i < xs.Length; i++) xs[i] = -10f + i * 0.01f;
        var ys = (float[])xs.Clone();
        VectorMath.Apply(Activation.Gelu, ys);
        for (int i = 0; i < xs.Length; i++)
            Assert.True(Math.Abs(ys[i] - ReferenceBackend.Activate(xs[i], Activation.Gelu)) < 1e-6,
                $"GELU({xs[i]}) = {ys[i]}, exact {ReferenceBackend.Activate(xs[i], Activation.Gelu)}");
    }

    public void Dispose()
    {
        _simd.Dispose();
        _ref.Dispose();
    }
}
