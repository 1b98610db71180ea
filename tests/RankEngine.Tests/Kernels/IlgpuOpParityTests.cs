using ILGPU;
using ILGPU.Runtime;
using RankEngine.Compute;
using RankEngine.Compute.Ilgpu;
using RankEngine.Compute.Reference;
using RankEngine.Compute.Simd;
using RankEngine.Kernels;
using RankEngine.Model;
using RankEngine.Tests.Support;
using Xunit;
using static RankEngine.Tests.Support.OpTestKit;
using Pooling = RankEngine.Model.Pooling;

namespace RankEngine.Tests.Kernels;

/// <summary>
/// Every encoder kernel on ILGPU's CPU accelerator against the SIMD backend and the scalar reference, on small odd
/// shapes that hit the GEMM's edge tiles (M, N not multiples of 64, K not a multiple of 16), single-token sequences,
/// and groups with idle threads.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class IlgpuOpParityTests : IDisposable
{
    private readonly IlgpuBackend _gpu;
    private readonly SimdCpuBackend _simd = new();
    private readonly ReferenceBackend _ref = new();

    public IlgpuOpParityTests(IlgpuCpuFixture fixture) => _gpu = fixture.Backend;

    public static TheoryData<int, int, int, string, bool, bool> LinearCases => new()
    {
        // m, n (out), k (in), activation, bias, residual
        { 1, 1, 1, nameof(Activation.None), false, false },
        { 7, 33, 5, nameof(Activation.Gelu), true, false },
        { 9, 65, 37, nameof(Activation.Relu), true, true },
        { 70, 20, 17, nameof(Activation.Tanh), false, true },
        { 3, 100, 130, nameof(Activation.Gelu), true, false },
    };

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void LinearMatchesSimdAndReference(int m, int n, int k, string activation, bool withBias, bool withResidual)
    {
        var act = Enum.Parse<Activation>(activation); // by name: Activation is internal to RankEngine
        var x = Random(m * k, 1);
        var w = Random(n * k, 2, 0.3f);
        var bias = Random(n, 3);
        var res = Random(m * n, 4);
        float[] Compute(IComputeBackend b)
        {
            using var xt = Tensor(b, x, m, k);
            using var wt = b.UploadWeight(w, n, k, WeightRole.MatMul);
            using var bt = withBias ? b.UploadWeight(bias, 1, n, WeightRole.Vector) : null;
            using var rt = withResidual ? Tensor(b, res, m, n) : null;
            using var y = b.Allocate(m + 2, n); // spare rows must stay untouched
            b.Linear(xt, wt, bt, act, y, rt, m);
            var all = Download(b, y, (m + 2) * n);
            Assert.All(all[(m * n)..], v => Assert.Equal(0f, v));
            return all[..(m * n)];
        }
        var expected = Compute(_ref);
        AssertClose(expected, Compute(_gpu), 2e-5f, $"ilgpu linear {m}x{n}x{k} {act}");
        AssertClose(Compute(_simd), Compute(_gpu), 2e-5f, $"ilgpu vs simd linear {m}x{n}x{k} {act}");
    }

    [Fact]
    public void LinearWithResidualInPlaceMatchesReference()
    {
        const int m = 5, n = 40, k = 30;
        var x = Random(m * k, 5);
        var w = Random(n * k, 6, 0.1f);
        var bias = Random(n, 7);
        var h = Random(m * n, 8);
        float[] Compute(IComputeBackend b)
        {
            using var xt = Tensor(b, x, m, k);
            using var wt = b.UploadWeight(w, n, k, WeightRole.MatMul);
            using var bt = b.UploadWeight(bias, 1, n, WeightRole.Vector);
            using var ht = Tensor(b, h, m, n);
            b.Linear(xt, wt, bt, Activation.None, ht, ht, m);
            return Download(b, ht, m * n);
        }
        AssertClose(Compute(_ref), Compute(_gpu), 2e-5f, "in-place residual");
    }

    [Fact]
    public void Fp16WeightGemmMatchesReferenceOnHalfRoundedWeights()
    {
        const int m = 6, n = 70, k = 19;
        var x = Random(m * k, 9);
        var w = Random(n * k, 10, 0.5f);
        var bias = Random(n, 11);
        // fp16 bits as a weight file stores them (IEEE round-to-nearest-even); the reference sees exactly those values.
        var systemHalf = new System.Half[w.Length];
        var rounded = new float[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            systemHalf[i] = (System.Half)w[i];
            rounded[i] = (float)systemHalf[i];
        }
        var half = System.Runtime.InteropServices.MemoryMarshal.Cast<System.Half, ILGPU.Half>(systemHalf).ToArray();
        for (int i = 0; i < w.Length; i++) Assert.Equal(rounded[i], (float)half[i]); // ILGPU widens fp16 exactly
        using var wt = new IlgpuHalfWeight(_gpu.Accelerator, half, n, k);
        using var xt = (IlgpuTensor)Tensor(_gpu, x, m, k);
        using var bt = (IlgpuTensor)_gpu.UploadWeight(bias, 1, n, WeightRole.Vector);
        using var y = (IlgpuTensor)_gpu.Allocate(m, n);
        _gpu.Linear(xt, wt, bt, Activation.Gelu, y, null, m);
        var actual = Download(_gpu, y, m * n);

        using var rx = Tensor(_ref, x, m, k);
        using var rw = _ref.UploadWeight(rounded, n, k, WeightRole.MatMul);
        using var rb = _ref.UploadWeight(bias, 1, n, WeightRole.Vector);
        using var ry = _ref.Allocate(m, n);
        _ref.Linear(rx, rw, rb, Activation.Gelu, ry, null, m);
        AssertClose(Download(_ref, ry, m * n), actual, 2e-5f, "fp16 gemm");
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(3, 17)]
    [InlineData(5, 200)]
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
            using var t = Tensor(be, x, rows, cols);
            be.LayerNorm(t, gt, bt, 1e-12f, t, rows);
            return Download(be, t, rows * cols);
        }
        AssertClose(Compute(_ref), Compute(_gpu), 1e-5f, $"layernorm {rows}x{cols}");
    }

    public static TheoryData<int[], int, int> AttentionCases => new()
    {
        // sequence lengths, heads, head size
        { new[] { 1 }, 1, 8 },
        { new[] { 3, 1, 9 }, 2, 5 },
        { new[] { 17, 70, 4 }, 2, 16 }, // 70 keys: more than one key per thread of the 64-thread group
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
            using var ctx = be.Allocate(tokens, hidden);
            be.Attention(q, layout, heads, scale, ctx);
            return Download(be, ctx, tokens * hidden);
        }
        string what = $"attention [{string.Join(",", lengths)}] {heads}x{headSize}";
        AssertClose(Compute(_ref), Compute(_gpu), 2e-5f, what);
        AssertClose(Compute(_simd), Compute(_gpu), 2e-5f, what + " vs simd");
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
            using var p = be.Allocate(4, cols);
            be.Pool(ht, layout, mode, p);
            be.L2Normalize(p, 4); // row 3 is all zeros and must stay zero
            return Download(be, p, 4 * cols);
        }
        var actual = Compute(_gpu);
        AssertClose(Compute(_ref), actual, 1e-5f, $"pool {mode}");
        Assert.All(actual[(3 * cols)..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void EmbeddingMatchesReference()
    {
        const int vocab = 11, positions = 7, types = 2, cols = 13;
        var word = Random(vocab * cols, 14);
        var pos = Random(positions * cols, 15);
        var type = Random(types * cols, 16);
        int[] ids = { 3, 10, 0, 5, 5 }, ps = { 0, 1, 2, 0, 6 }, ts = { 0, 1, 1, 0, 1 };
        float[] Compute(IComputeBackend be)
        {
            using var wt = be.UploadWeight(word, vocab, cols, WeightRole.Table);
            using var pt = be.UploadWeight(pos, positions, cols, WeightRole.Table);
            using var tt = be.UploadWeight(type, types, cols, WeightRole.Table);
            using var o = be.Allocate(ids.Length, cols);
            be.Embed(ids, ps, ts, wt, pt, tt, 1.5f, o);
            return Download(be, o, ids.Length * cols);
        }
        AssertClose(Compute(_ref), Compute(_gpu), 1e-6f, "embedding");
    }

    [Fact]
    public void WiderGroupsGiveTheSameResults()
    {
        // The CPU accelerator launches 4-thread reduction groups by default; GPUs use 64–128. Run LayerNorm,
        // attention and L2 with 16-thread groups too, so the strided loops and reduction trees are checked wider.
        var kernels = _gpu.Kernels;
        int saved = kernels.ReductionGroupSize;
        try
        {
            kernels.ReductionGroupSize = 16;
            LayerNormMatchesReference(3, 37);
            AttentionMatchesReference(new[] { 2, 19 }, 2, 8);
            PoolingAndNormalisationMatchReference(nameof(Pooling.Mean));
            Assert.Throws<ArgumentOutOfRangeException>(() => kernels.ReductionGroupSize = 12);
        }
        finally
        {
            kernels.ReductionGroupSize = saved;
        }
    }

    [Fact]
    public void BadInputIsRejectedBeforeLaunch()
    {
        using var word = _gpu.UploadWeight(Random(4 * 3, 1), 4, 3, WeightRole.Table);
        using var o = _gpu.Allocate(2, 3);
        var e = Assert.Throws<ArgumentException>(() => _gpu.Embed(new[] { 1, 4 }, new[] { 0, 0 }, new[] { 0, 0 }, word, null, null, 1f, o));
        Assert.Contains("token id 4", e.Message);
        using var x = _gpu.Allocate(2, 5);
        using var w = _gpu.UploadWeight(Random(6 * 4, 2), 6, 4, WeightRole.MatMul);
        using var y = _gpu.Allocate(2, 6);
        Assert.Throws<ArgumentException>(() => _gpu.Linear(x, w, null, Activation.None, y, null, 2));
        Assert.Throws<ArgumentException>(() => _gpu.Linear(y, w, null, Activation.None, y, null, 2));
        // Views too small for the requested shape are caught by the launcher itself.
        Assert.Throws<ArgumentException>(() => _gpu.Kernels.Gemm.Run(_gpu.Stream, ((IlgpuTensor)x).View, ((IlgpuTensor)w).View,
            ArrayView<float>.Empty, ArrayView<float>.Empty, ((IlgpuTensor)y).View, 3, 6, 4, KernelActivation.None));
    }

    public void Dispose()
    {
        _simd.Dispose();
        _ref.Dispose();
    }
}
