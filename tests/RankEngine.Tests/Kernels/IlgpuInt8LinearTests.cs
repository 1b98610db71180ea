using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using RankEngine.Compute;
using RankEngine.Compute.Ilgpu;
using RankEngine.Compute.Reference;
using RankEngine.Kernels;
using RankEngine.Model;
using RankEngine.Tests.Support;
using Xunit;
using static RankEngine.Tests.Support.OpTestKit;

namespace RankEngine.Tests.Kernels;

/// <summary>
/// The int8 Linear of the ILGPU backend (row-quantised activations × int8 weights, int32 sums) against an independent
/// scalar implementation of the contract written here: the quantised rows and the int32 sums must be identical, the
/// fp32 epilogue (scales, bias, activation, residual) within a float tolerance. Tiny shapes: the CPU accelerator is a
/// simulator.
/// </summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class IlgpuInt8LinearTests : IClassFixture<TinyBertFixture>
{
    private readonly IlgpuBackend _gpu;
    private readonly TinyBertFixture _bert;

    public IlgpuInt8LinearTests(IlgpuCpuFixture fixture, TinyBertFixture bert)
    {
        _gpu = fixture.Backend;
        _bert = bert;
    }

    // ---- The contract, scalar ------------------------------------------------------------------------------------

    /// <summary>Per-row quantisation: max = max|x|; a zero or non-finite max gives zeros and scale 0; otherwise
    /// q = clamp(round-half-even(x · (127 / max)), −127, 127), scale = max / 127.</summary>
    private static (sbyte[] Q, float[] Scale) RefQuantize(float[] x, int m, int k)
    {
        var q = new sbyte[m * k];
        var s = new float[m];
        for (int i = 0; i < m; i++)
        {
            float max = 0;
            bool finite = true;
            for (int c = 0; c < k; c++)
            {
                float a = MathF.Abs(x[i * k + c]);
                if (!float.IsFinite(a)) finite = false;
                else if (a > max) max = a;
            }
            if (max == 0 || !finite) continue;
            float inv = 127f / max;
            for (int c = 0; c < k; c++)
                q[i * k + c] = (sbyte)Math.Clamp((int)MathF.Round(x[i * k + c] * inv, MidpointRounding.ToEven), -127, 127);
            s[i] = max / 127f;
        }
        return (q, s);
    }

    private static int[] RefSums(sbyte[] q, sbyte[] w, int m, int n, int k)
    {
        var acc = new int[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int sum = 0;
                for (int c = 0; c < k; c++) sum += q[i * k + c] * w[j * k + c];
                acc[i * n + j] = sum;
            }
        return acc;
    }

    /// <summary>y = act((float)acc · (s_a · s_w) + bias) + residual, the activation in double (the reference backend's).</summary>
    private static float[] RefLinear(float[] x, sbyte[] w, float[] ws, float[]? bias, float[]? residual, Activation act, int m, int n, int k)
    {
        var (q, sa) = RefQuantize(x, m, k);
        var acc = RefSums(q, w, m, n, k);
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float v = acc[i * n + j] * (sa[i] * ws[j]);
                if (bias is not null) v += bias[j];
                v = (float)ReferenceBackend.Activate(v, act);
                if (residual is not null) v += residual[i * n + j];
                y[i * n + j] = v;
            }
        return y;
    }

    private static int[] Pack(sbyte[] values, int rows, int k)
    {
        int k4 = Int8Gemm.PackedColumns(k);
        var words = new int[rows * k4];
        var bytes = MemoryMarshal.AsBytes(words.AsSpan());
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < k; c++) bytes[r * k4 * 4 + c] = (byte)values[r * k + c];
        return words;
    }

    private T[] ToArray<T>(ArrayView<T> view) where T : unmanaged
    {
        var values = new T[view.Length];
        _gpu.Stream.Synchronize();
        view.CopyToCPU(_gpu.Stream, values);
        return values;
    }

    private static sbyte[] RandomInt8(int count, int seed)
    {
        var rng = new Random(seed);
        var v = new sbyte[count];
        for (int i = 0; i < count; i++) v[i] = (sbyte)rng.Next(-127, 128);
        return v;
    }

    private static float[] RandomScales(int count, int seed)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (float)(0.001 + rng.NextDouble() * 0.02);
        return v;
    }

    private float[] DeviceLinear(float[] x, IlgpuInt8Weight w, float[]? bias, float[]? residual, Activation act, int m, int n, int k)
    {
        using var xt = Tensor(_gpu, x, m, k);
        using var bt = bias is null ? null : _gpu.UploadWeight(bias, 1, n, WeightRole.Vector);
        using var rt = residual is null ? null : Tensor(_gpu, residual, m, n);
        using var y = _gpu.Allocate(m + 2, n); // spare rows must stay untouched
        _gpu.Linear(xt, w, bt, act, y, rt, m);
        var all = Download(_gpu, y, (m + 2) * n);
        Assert.All(all[(m * n)..], v => Assert.Equal(0f, v));
        return all[..(m * n)];
    }

    // ---- Quantisation --------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(5, 7)]
    [InlineData(2, 33)]
    [InlineData(4, 64)]
    [InlineData(2, 130)]
    public void QuantizedRowsAndScalesAreExactlyTheContracts(int m, int k)
    {
        var x = Random(m * k, 100 + k, 3f);
        foreach (int groupSize in new[] { 1, 4, 16 }) // strided loops and the max tree, narrower and wider than a row
            AssertQuantizesLikeTheContract(x, m, k, groupSize);
    }

    [Fact]
    public void QuantizationEdgeRows()
    {
        const int k = 7;
        float nan = float.NaN, inf = float.PositiveInfinity;
        float[][] rows =
        {
            new[] { 127f, 2.5f, 3.5f, -2.5f, -0.5f, 0.5f, 1.5f }, // inv = 1: halfway cases go to even (2, 4, −2, 0, 0, 2)
            new[] { -127f, 126.5f, -125.5f, 0.49f, -1.5f, 63.5f, 64.5f },
            new[] { 0f, 0f, 0f, 0f, 0f, 0f, 0f },                 // zero row: zeros, scale 0
            new[] { 0f, 0f, 0f, -0.001f, 0f, 0f, 0f },            // a single non-zero: it becomes −127
            new[] { 1f, nan, 2f, 0f, 0f, 0f, 0f },                // not finite: zeros, scale 0
            new[] { 1f, 2f, -inf, 0f, 0f, 0f, 0f },
            new[] { 1e-30f, -3e-31f, 5e-31f, 0f, 1e-30f, 0f, 0f }, // tiny but 127 / max still finite
            new[] { 3e38f, -3e38f, 1e38f, 1f, 0f, 0f, 0f },       // huge but finite
        };
        var x = rows.SelectMany(r => r).ToArray();
        var (q, s) = AssertQuantizesLikeTheContract(x, rows.Length, k, 4);
        Assert.Equal(new sbyte[] { 127, 2, 4, -2, 0, 0, 2 }, q[..k]);
        Assert.Equal(1f, s[0]);
        Assert.Equal(new sbyte[] { -127, 126, -126, 0, -2, 64, 64 }, q[k..(2 * k)]);
        for (int r = 2; r <= 5; r++)
            if (r != 3) { Assert.All(q[(r * k)..((r + 1) * k)], v => Assert.Equal(0, v)); Assert.Equal(0f, s[r]); }
        Assert.Equal(-127, q[3 * k + 3]);
        Assert.Equal(0.001f / 127f, s[3]);
        Assert.Equal(new sbyte[] { 127, -127, 42, 0 }, q[(7 * k)..(7 * k + 4)]);
    }

    private (sbyte[] Q, float[] Scale) AssertQuantizesLikeTheContract(float[] x, int m, int k, int groupSize)
    {
        var (q, s) = RefQuantize(x, m, k);
        var kernels = _gpu.Kernels;
        int saved = kernels.ReductionGroupSize;
        int k4 = Int8Gemm.PackedColumns(k);
        try
        {
            kernels.ReductionGroupSize = groupSize;
            using var xb = _gpu.Accelerator.Allocate1D(x);
            using var qb = _gpu.Accelerator.Allocate1D<int>(m * k4 + 3);
            using var sb = _gpu.Accelerator.Allocate1D<float>(m + 1);
            qb.View.MemSet(_gpu.Stream, 0x5A); // padding bytes must be written as zeros
            kernels.Int8Gemm.Quantize(_gpu.Stream, xb.View, qb.View, sb.View, m, k);
            _gpu.Stream.Synchronize();
            var words = ToArray<int>(qb.View);
            var scales = ToArray<float>(sb.View);
            Assert.Equal(Pack(q, m, k), words[..(m * k4)]);
            for (int i = 0; i < m; i++)
                Assert.True(BitConverter.SingleToInt32Bits(s[i]) == BitConverter.SingleToInt32Bits(scales[i]), $"row {i} scale {scales[i]:g9}, expected {s[i]:g9} (group {groupSize})");
        }
        finally
        {
            kernels.ReductionGroupSize = saved;
        }
        return (q, s);
    }

    // ---- The int32 sums ------------------------------------------------------------------------------------------

    public static TheoryData<int, int, int> SumShapes => new()
    {
        // m, n, k
        { 1, 1, 1 }, { 2, 3, 3 }, { 3, 17, 7 }, { 5, 40, 33 }, { 4, 23, 64 }, { 1, 5, 65 }, { 17, 2, 130 },
    };

    [Theory]
    [MemberData(nameof(SumShapes))]
    public void Int32SumsAreExact(int m, int n, int k)
    {
        var q = RandomInt8(m * k, 200 + k);
        var w = RandomInt8(n * k, 300 + n);
        AssertSumsExact(q, w, m, n, k);
    }

    [Fact]
    public void SaturatedSumsAreExact()
    {
        // Every product ±127·127: K = 1100 sums to 17,741,900 > 2²⁴, which a float accumulator could not hold exactly
        // (each step adds an odd 16,129); the int32 sum converts once, the same as the reference's.
        const int k = 1100, n = 3;
        var q = Enumerable.Repeat((sbyte)127, k).Concat(Enumerable.Repeat((sbyte)-127, k)).ToArray();
        var w = new sbyte[n * k];
        for (int c = 0; c < k; c++) { w[c] = 127; w[k + c] = -127; w[2 * k + c] = (sbyte)(c % 2 == 0 ? 127 : -127); }
        var acc = AssertSumsExact(q, w, 2, n, k);
        Assert.Equal(new[] { 17_741_900, -17_741_900, 0, -17_741_900, 17_741_900, 0 }, acc);
    }

    /// <summary>Runs the GEMM alone with unit scales and no epilogue, so y = (float)acc; asserts it bit-exact.</summary>
    private int[] AssertSumsExact(sbyte[] q, sbyte[] w, int m, int n, int k)
    {
        var acc = RefSums(q, w, m, n, k);
        var a = _gpu.Accelerator;
        using var qb = a.Allocate1D(Pack(q, m, k));
        using var wb = a.Allocate1D(Pack(w, n, k));
        using var sa = a.Allocate1D(Enumerable.Repeat(1f, m).ToArray());
        using var sw = a.Allocate1D(Enumerable.Repeat(1f, n).ToArray());
        using var y = a.Allocate1D<float>(m * n);
        _gpu.Kernels.Int8Gemm.Multiply(_gpu.Stream, qb.View, sa.View, wb.View, sw.View, ArrayView<float>.Empty, ArrayView<float>.Empty,
            y.View, m, n, k, KernelActivation.None);
        _gpu.Stream.Synchronize();
        var got = ToArray<float>(y.View);
        for (int i = 0; i < acc.Length; i++) Assert.True((float)acc[i] == got[i], $"{m}x{n}x{k} element {i}: sum {acc[i]}, got {got[i]:R}");
        return acc;
    }

    // ---- The whole Linear ----------------------------------------------------------------------------------------

    public static TheoryData<int, int, int, string, bool, bool> LinearCases => new()
    {
        // m, n (out), k (in), activation, bias, residual
        { 1, 1, 1, nameof(Activation.None), false, false },
        { 2, 5, 3, nameof(Activation.Relu), true, false },
        { 3, 17, 7, nameof(Activation.Gelu), true, true },
        { 5, 40, 33, nameof(Activation.Tanh), false, true },
        { 4, 23, 64, nameof(Activation.None), true, true },
        { 17, 9, 130, nameof(Activation.Gelu), true, false }, // two row tiles of the CPU shape, three K steps
    };

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void LinearMatchesTheScalarContract(int m, int n, int k, string activation, bool withBias, bool withResidual)
    {
        var act = Enum.Parse<Activation>(activation);
        var x = Random(m * k, 400 + m * k, 2f);
        var w = RandomInt8(n * k, 500 + n);
        var ws = RandomScales(n, 600 + n);
        var bias = withBias ? Random(n, 700) : null;
        var res = withResidual ? Random(m * n, 800) : null;
        using var wt = new IlgpuInt8Weight(_gpu.Accelerator, w, ws, n, k);
        Assert.Equal(TensorType.I8, wt.StorageType);
        Assert.Equal((n, k), (wt.Rows, wt.Columns));
        // The sums are exact on both sides; only the fp32 epilogue (and the device's activation approximations) differ.
        AssertClose(RefLinear(x, w, ws, bias, res, act, m, n, k), DeviceLinear(x, wt, bias, res, act, m, n, k), 2e-5f,
            $"int8 linear {m}x{n}x{k} {act}");
    }

    [Fact]
    public void SaturationAndDegenerateRows()
    {
        const int m = 5, n = 6, k = 9;
        var x = new float[m * k];
        for (int c = 0; c < k; c++)
        {
            x[c] = c % 2 == 0 ? 4f : -4f;     // row 0: every value quantises to ±127
            x[k + c] = 0f;                      // row 1: zero row: y = act(bias) + residual
            x[3 * k + c] = c * 0.25f - 1f;      // row 3: ordinary
            x[4 * k + c] = c == 0 ? float.NaN : 1f; // row 4: not finite: products 0
        }
        x[2 * k + 5] = -0.3f;                   // row 2: a single non-zero (→ −127)
        var w = new sbyte[n * k];
        for (int j = 0; j < n; j++)
            for (int c = 0; c < k; c++)
                w[j * k + c] = j switch
                {
                    0 => 127, 1 => -127, 2 => (sbyte)(c % 2 == 0 ? 127 : -127), 3 => (sbyte)(c % 2 == 0 ? -127 : 127), 4 => 0,
                    _ => (sbyte)(c == 5 ? -127 : 1),
                };
        var ws = new[] { 1f / 127, 0.5f, 1e-3f, 2f, 1f, 0.25f };
        var bias = new[] { 0.5f, -0.25f, 1f, 0f, -1f, 2f };
        var res = Random(m * n, 900);
        using var wt = new IlgpuInt8Weight(_gpu.Accelerator, w, ws, n, k);
        foreach (var act in new[] { Activation.None, Activation.Relu })
        {
            var expected = RefLinear(x, w, ws, bias, res, act, m, n, k);
            var actual = DeviceLinear(x, wt, bias, res, act, m, n, k);
            AssertClose(expected, actual, 1e-6f, $"saturation {act}");
            // Row 0 against column 2: 9 products of +127·127 → acc = 9 · 16,129, times s_a = 4/127, s_w = 1e-3.
            Assert.Equal(9 * 16129 * (4f / 127f * 1e-3f) + 1f + res[2], expected[2], 5);
        }
        var plain = DeviceLinear(x, wt, bias, res, Activation.None, m, n, k);
        for (int j = 0; j < n; j++)
        {
            Assert.Equal(bias[j] + res[n + j], plain[n + j]);         // zero row
            Assert.Equal(bias[j] + res[4 * n + j], plain[4 * n + j]); // non-finite row
        }
    }

    [Fact]
    public void ResidualMayAliasTheOutput()
    {
        const int m = 3, n = 21, k = 10;
        var x = Random(m * k, 1000);
        var w = RandomInt8(n * k, 1001);
        var ws = RandomScales(n, 1002);
        var bias = Random(n, 1003);
        var h = Random(m * n, 1004);
        using var wt = new IlgpuInt8Weight(_gpu.Accelerator, w, ws, n, k);
        using var xt = Tensor(_gpu, x, m, k);
        using var bt = _gpu.UploadWeight(bias, 1, n, WeightRole.Vector);
        using var ht = Tensor(_gpu, h, m, n);
        _gpu.Linear(xt, wt, bt, Activation.None, ht, ht, m);
        AssertClose(RefLinear(x, w, ws, bias, h, Activation.None, m, n, k), Download(_gpu, ht, m * n), 2e-5f, "in-place residual");
    }

    [Fact]
    public void UploadKeepsI8MatMulWeightsInt8()
    {
        // 3 × 7 = 21 bytes, so the scales start at byte 24 (the next 4-byte boundary).
        const int n = 3, k = 7, m = 2;
        var values = Random(n * k, 1100, 0.7f);
        using var dir = Fixtures.TempDir();
        var writer = new WeightFileWriter(new ModelConfig
        {
            VocabSize = 4, HiddenSize = 4, NumLayers = 1, NumHeads = 1, IntermediateSize = 4, MaxPositions = 4,
            Tokenizer = new TokenizerConfig { MaxLength = 4 },
        });
        writer.Add("w", values, new long[] { n, k }, TensorType.I8);
        string path = dir.File("m.rem");
        writer.Write(path);
        using var file = WeightFile.Open(path);
        var view = file.Get("w", n, k);
        var stored = MemoryMarshal.Cast<byte, sbyte>(view.Bytes[..(n * k)]).ToArray();
        var scales = MemoryMarshal.Cast<byte, float>(view.Bytes.Slice(24, 4 * n)).ToArray();

        using var weight = _gpu.UploadWeight(view, WeightRole.MatMul);
        var wt = Assert.IsType<IlgpuInt8Weight>(weight);
        Assert.Equal((n, k, TensorType.I8), (wt.Rows, wt.Columns, wt.StorageType));
        Assert.Equal(Pack(stored, n, k), ToArray(wt.View));
        Assert.Equal(scales, ToArray(wt.Scales));
        var x = Random(m * k, 1101);
        AssertClose(RefLinear(x, stored, scales, null, null, Activation.None, m, n, k), DeviceLinear(x, wt, null, null, Activation.None, m, n, k),
            2e-5f, "uploaded i8");
        // Other roles are still dequantised.
        using var vector = _gpu.UploadWeight(view, WeightRole.Table);
        Assert.IsType<IlgpuTensor>(vector);
        Assert.Equal(view.ToFloat32(), Download(_gpu, (IlgpuTensor)vector, n * k));
    }

    /// <summary>
    /// The int8 Linear is close to the fp32 Linear of the dequantised weights Ŵ = q_w · s_w. The weights are the same
    /// on both sides, so the only quantisation error is the activations': x̂ = s_a · q with s_a = max|x_i| / 127 and
    /// q rounded to nearest, so |x_k − x̂_k| ≤ s_a / 2 = max|x_i| / 254 for every k. Then, before the epilogue,
    /// |y_int8 − y_fp32| = |Σ_k (x̂_k − x_k) · Ŵ[n,k]| ≤ (max|x_i| / 254) · Σ_k |Ŵ[n,k]|. Bias and residual add the same
    /// value to both, ReLU is 1-Lipschitz, so the bound holds after them too; 1e-5 · max|x_i| · Σ|Ŵ| (plus 1e-6) is
    /// slack for fp32 rounding (the scaled inverse, the fp32 sums).
    /// </summary>
    [Theory]
    [InlineData(3, 19, 33, nameof(Activation.None))]
    [InlineData(5, 40, 64, nameof(Activation.Relu))]
    public void CloseToFp32LinearOfDequantisedWeights(int m, int n, int k, string activation)
    {
        var act = Enum.Parse<Activation>(activation);
        var x = Random(m * k, 1200 + k, 1.5f);
        var w = RandomInt8(n * k, 1201);
        var ws = RandomScales(n, 1202);
        var bias = Random(n, 1203);
        var res = Random(m * n, 1204);
        var dequantised = new float[n * k];
        for (int j = 0; j < n; j++)
            for (int c = 0; c < k; c++) dequantised[j * k + c] = w[j * k + c] * ws[j];
        using var wt = new IlgpuInt8Weight(_gpu.Accelerator, w, ws, n, k);
        var int8 = DeviceLinear(x, wt, bias, res, act, m, n, k);
        float[] fp32;
        using (var xt = Tensor(_gpu, x, m, k))
        using (var wf = _gpu.UploadWeight(dequantised, n, k, WeightRole.MatMul))
        using (var bt = _gpu.UploadWeight(bias, 1, n, WeightRole.Vector))
        using (var rt = Tensor(_gpu, res, m, n))
        using (var y = _gpu.Allocate(m, n))
        {
            _gpu.Linear(xt, wf, bt, act, y, rt, m);
            fp32 = Download(_gpu, y, m * n);
        }
        double worst = 0;
        for (int i = 0; i < m; i++)
        {
            float max = 0;
            for (int c = 0; c < k; c++) max = Math.Max(max, Math.Abs(x[i * k + c]));
            for (int j = 0; j < n; j++)
            {
                double l1 = 0;
                for (int c = 0; c < k; c++) l1 += Math.Abs(dequantised[j * k + c]);
                double bound = max / 254.0 * l1 + 1e-5 * max * l1 + 1e-6;
                double err = Math.Abs(int8[i * n + j] - fp32[i * n + j]);
                Assert.True(err <= bound, $"{m}x{n}x{k} ({i},{j}): int8 {int8[i * n + j]:g9} vs fp32 {fp32[i * n + j]:g9}, error {err:g3} > bound {bound:g3}");
                worst = Math.Max(worst, err / bound);
            }
        }
        Assert.True(worst > 0, "the int8 path should differ from fp32 somewhere (else it did not quantise)");
    }

    [Fact]
    public void TinyBertWithInt8MatricesStaysCloseToPyTorch()
    {
        // The whole encoder with every matrix stored int8: each Linear runs the int8 path (int8 weights and
        // row-quantised activations), so hidden states differ from fp32 PyTorch by both quantisations.
        using var dir = Fixtures.TempDir();
        string path = dir.File("tiny-i8.rem");
        RankEngine.Model.Converters.BertSafetensorsConverter.Convert(Fixtures.Dir("TinyBert"),
            new RankEngine.Model.Converters.BertConversionOptions { MatrixStorage = TensorType.I8, Normalize = false }).Write(path);
        using var file = WeightFile.Open(path);
        using var encoder = new RankEngine.Encoders.TransformerEncoder(file, _gpu);
        var hidden = encoder.Encode(RankEngine.Encoders.EncoderInput.Pack(_bert.Sequences), returnHiddenStates: true).HiddenStates!;
        double cosine = Numerics.Cosine(hidden, _bert.Hidden);
        Assert.True(cosine >= 0.999, $"int8 ILGPU encoder: cosine to fp32 PyTorch {cosine:F6}");
    }

    [Fact]
    public void BadInputIsRejectedBeforeLaunch()
    {
        using var wt = new IlgpuInt8Weight(_gpu.Accelerator, RandomInt8(6 * 4, 1), RandomScales(6, 2), 6, 4);
        using var x = _gpu.Allocate(2, 5);
        using var y = _gpu.Allocate(2, 6);
        Assert.Throws<ArgumentException>(() => _gpu.Linear(x, wt, null, Activation.None, y, null, 2)); // K differs
        Assert.Throws<ArgumentException>(() => new IlgpuInt8Weight(_gpu.Accelerator, new sbyte[5], new float[2], 2, 3));
        Assert.Throws<ArgumentException>(() => new IlgpuInt8Weight(_gpu.Accelerator, new sbyte[6], new float[1], 2, 3));
        var big = _gpu.Accelerator.Allocate1D<int>(1);
        using (big)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => _gpu.Kernels.Int8Gemm.Multiply(_gpu.Stream, big.View, ((IlgpuTensor)y).View,
                big.View, ((IlgpuTensor)y).View, ArrayView<float>.Empty, ArrayView<float>.Empty, ((IlgpuTensor)y).View, 1, 1, Int8Gemm.MaxK + 1,
                KernelActivation.None));
            Assert.Throws<ArgumentException>(() => _gpu.Kernels.Int8Gemm.Multiply(_gpu.Stream, big.View, ((IlgpuTensor)y).View,
                wt.View, wt.Scales, ArrayView<float>.Empty, ArrayView<float>.Empty, ((IlgpuTensor)y).View, 2, 6, 4, KernelActivation.None));
        }
    }

    [Fact]
    public void Dot4MatchesFourProducts()
    {
        // The portable path of the packed dot product (the CPU accelerator, OpenCL and CUDA before sm_61 take it; CUDA uses dp4a).
        var rng = new Random(7);
        for (int t = 0; t < 1000; t++)
        {
            var a = RandomInt8(4, rng.Next());
            var b = RandomInt8(4, rng.Next());
            int c = rng.Next(-1_000_000, 1_000_000);
            int expected = c + a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
            Assert.Equal(expected, Int8Gemm.Dot4(Pack(a, 1, 4)[0], Pack(b, 1, 4)[0], c));
            Assert.Equal(expected, default(Dp4aDot).Dot(Pack(a, 1, 4)[0], Pack(b, 1, 4)[0], c)); // off CUDA: the same integers
        }
        Assert.Equal(4 * 127 * 127, Int8Gemm.Dot4(unchecked((int)0x7F7F7F7F), unchecked((int)0x7F7F7F7F), 0));
        Assert.Equal(-4 * 127 * 127, Int8Gemm.Dot4(unchecked((int)0x81818181), unchecked((int)0x7F7F7F7F), 0));
    }
}
