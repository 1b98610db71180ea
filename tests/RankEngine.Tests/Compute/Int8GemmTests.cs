using RankEngine.Compute.Cpu;
using RankEngine.Compute.Simd;
using RankEngine.Model;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Compute;

/// <summary>
/// The encoder's int8 GEMM: every micro-kernel the CPU has against a scalar reference written here (saturation at
/// ±127 / 255, zero rows, odd K, column and row tails), the activation quantiser on hand-computed values, and the whole
/// Linear against the same contract computed in double precision and against the fp32 GEMM of the dequantised weights.
/// </summary>
public class Int8GemmTests(ITestOutputHelper output)
{
    private static readonly Int8Kernel[] Kernels = [Int8Kernel.AvxVnni, Int8Kernel.Avx512BW, Int8Kernel.Avx2, Int8Kernel.Scalar];

    private bool Available(Int8Kernel kernel)
    {
        if (Int8Dots.IsSupported(kernel)) return true;
        output.WriteLine($"skipped {kernel}: not on this CPU");
        return false;
    }

    /// <summary>Runs one micro-kernel call over packed weights and row-major unsigned activations.</summary>
    private static unsafe int[] RunKernel(Int8Kernel kernel, byte[] activations, int rows, Int8PackedMatrix w, int panel)
    {
        var acc = new int[8 * Int8PackedMatrix.PanelWidth];
        fixed (byte* q = activations)
        fixed (int* a = acc)
            Int8Gemm.RunKernel(kernel, q, w.Groups * 4, rows, w.Panel(panel), w.Groups, a);
        return acc;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(7, 17)]
    [InlineData(63, 16)]
    [InlineData(65, 33)]
    [InlineData(385, 40)]
    public void Every_kernel_equals_the_scalar_reference_at_the_extremes(int k, int n)
    {
        var random = new Random(k * 100 + n);
        var weights = new sbyte[n * k];
        for (int o = 0; o < n; o++)
            for (int j = 0; j < k; j++)
                weights[o * k + j] = o switch
                {
                    0 => 127,                                     // the largest products everywhere
                    1 => -127,
                    2 => 0,                                       // a zero output row
                    3 => (sbyte)(j % 2 == 0 ? 127 : -127),
                    _ => (sbyte)random.Next(-127, 128),
                };
        using var w = new Int8PackedMatrix(weights, Enumerable.Repeat(1f, n).ToArray(), n, k);
        foreach (var kernel in Kernels)
        {
            if (!Available(kernel)) continue;
            int top = Int8Gemm.ActivationLevels(kernel);          // 255 for VNNI and scalar, 127 for the vpmaddubsw pair
            for (int rows = 1; rows <= 8; rows++)
            {
                int rowBytes = w.Groups * 4;
                var q = new byte[rows * rowBytes];
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < rowBytes; j++)
                        q[r * rowBytes + j] = j >= k ? (byte)0 : (byte)(r switch
                        {
                            0 => top,                             // saturates any int16 pair sum that is not exact
                            1 => 0,                               // a zero activation row
                            _ => random.Next(0, top + 1),
                        });
                for (int panel = 0; panel < w.Panels; panel++)
                {
                    var got = RunKernel(kernel, q, Math.Min(rows, KernelRows(kernel)), w, panel);
                    for (int r = 0; r < Math.Min(rows, KernelRows(kernel)); r++)
                        for (int j = 0; j < Int8PackedMatrix.PanelWidth; j++)
                        {
                            int o = panel * Int8PackedMatrix.PanelWidth + j;
                            long expected = 0;
                            if (o < n)
                                for (int t = 0; t < k; t++) expected += q[r * rowBytes + t] * weights[o * k + t];
                            Assert.True(expected == got[r * Int8PackedMatrix.PanelWidth + j],
                                $"{kernel}, row {r}, output {o}: expected {expected}, got {got[r * Int8PackedMatrix.PanelWidth + j]}");
                        }
                }
            }
        }
        // By hand: a row of 255s against a row of 127s is 255 · 127 · k.
        if (Available(Int8Kernel.Scalar))
        {
            var q = Enumerable.Repeat((byte)255, w.Groups * 4).ToArray();
            Assert.Equal(255 * 127 * k, RunKernel(Int8Kernel.Scalar, q, 1, w, 0)[0]);
        }
    }

    private static int KernelRows(Int8Kernel kernel) => kernel switch
    {
        Int8Kernel.AvxVnni => 6,
        Int8Kernel.Avx512BW => 8,
        Int8Kernel.Avx2 => 4,
        _ => 1,
    };

    [Fact]
    public void The_activation_quantiser_matches_hand_computed_values()
    {
        var bytes = new byte[8];
        var (scale, low) = Int8Gemm.QuantizeRow([1f, -0.5f, 0.25f, 0f, -1f], bytes, 255);
        // Range [−1, 1] in 255 steps: u = round((x + 1) · 127.5) = [255, 63.75 → 64, 159.375 → 159, 127.5 → 128 (to even), 0].
        Assert.Equal(2f / 255, scale);
        Assert.Equal(-1f, low);
        Assert.Equal(new byte[] { 255, 64, 159, 128, 0, 0, 0, 0 }, bytes);

        // A ReLU-like row (no negatives) uses the whole byte from 0: u = round(x · 127 / 2).
        (scale, low) = Int8Gemm.QuantizeRow([2f, 0f, 0.5f], bytes.AsSpan(0, 4), 127);
        Assert.Equal(2f / 127, scale);
        Assert.Equal(0f, low);
        Assert.Equal(new byte[] { 127, 0, 32, 0 }, bytes[..4]);   // 31.75 → 32; the padding byte is 0

        // The range always holds 0: an all-positive row starting at 1 still quantises from 0.
        (scale, low) = Int8Gemm.QuantizeRow([1f, 3f], bytes.AsSpan(0, 4), 255);
        Assert.Equal((3f / 255, 0f), (scale, low));
        Assert.Equal(new byte[] { 85, 255, 0, 0 }, bytes[..4]);

        Assert.Equal((0f, 0f), Int8Gemm.QuantizeRow([0f, 0f, 0f], bytes.AsSpan(0, 4), 255));
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, bytes[..4]);
        Assert.Equal((0f, 0f), Int8Gemm.QuantizeRow([1f, float.NaN, 0f], bytes.AsSpan(0, 4), 255));
        Assert.Equal((0f, 0f), Int8Gemm.QuantizeRow([1f, float.NegativeInfinity], bytes.AsSpan(0, 4), 255));
    }

    [Theory]
    [InlineData(255)]
    [InlineData(127)]
    public void The_vector_quantiser_equals_the_scalar_formula(int levels)
    {
        var random = new Random(levels);
        var row = Enumerable.Range(0, 200).Select(_ => (float)(random.NextDouble() * 6 - 2)).ToArray();
        row[17] = -3.5f;                                          // the row's low end
        row[99] = 4.25f;                                          // and its high end
        var bytes = new byte[200];
        var (scale, low) = Int8Gemm.QuantizeRow(row, bytes, levels);
        float inverse = levels / 7.75f;
        Assert.Equal(7.75f / levels, scale);
        Assert.Equal(-3.5f, low);
        for (int j = 0; j < row.Length; j++)
            Assert.Equal(Math.Clamp((int)MathF.Round((row[j] + 3.5f) * inverse), 0, levels), bytes[j]);
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(5, 33, 17)]
    [InlineData(70, 64, 48)]
    [InlineData(9, 384, 1536)]
    public unsafe void The_int8_linear_follows_the_contract_and_stays_near_fp32(int m, int k, int n)
    {
        var random = new Random(m * 7 + k + n);
        var x = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        for (int j = 0; j < k; j++) x[1 % m * k + j] = 0;         // a zero row (row 1, or row 0 when m = 1)
        var wf = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() * 0.2 - 0.1)).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        using var w = Int8PackedMatrix.Quantize(wf, n, k);
        var wq = new sbyte[n * k];
        var ws = new float[n];
        for (int o = 0; o < n; o++) ws[o] = Int8Dots.QuantizeRow(wf.AsSpan(o * k, k), wq.AsSpan(o * k, k)).Scale;

        foreach (var kernel in Kernels)
        {
            if (!Available(kernel)) continue;
            int levels = Int8Gemm.ActivationLevels(kernel);
            var y = new float[m * n];
            fixed (float* xp = x, yp = y, bp = bias)
                Int8Gemm.Multiply(kernel, xp, k, w, yp, n, m, new Epilogue(bp, Activation.None, null, 0, residualInOutput: false));

            double worstContract = 0, worstFp32 = 0, scaleFp32 = 0;
            for (int i = 0; i < m; i++)
            {
                // The contract, independently: per-row asymmetric quantisation over [min(0, lo), max(0, hi)], exact
                // integer dot, the low end carried by the weights' sums.
                var row = x.AsSpan(i * k, k);
                float lo = 0, hi = 0;
                foreach (float v in row) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                var qa = new int[k];
                float sa = hi == lo ? 0 : (hi - lo) / levels;
                if (hi > lo)
                    for (int j = 0; j < k; j++) qa[j] = Math.Clamp((int)MathF.Round((row[j] - lo) * (levels / (hi - lo))), 0, levels);
                if (hi == lo) lo = 0;
                for (int o = 0; o < n; o++)
                {
                    long dot = 0, weightSum = 0;
                    double exact = 0;
                    for (int j = 0; j < k; j++)
                    {
                        dot += qa[j] * wq[o * k + j];
                        weightSum += wq[o * k + j];
                        exact += (double)row[j] * wf[o * k + j];
                    }
                    double product = ws[o] * ((double)sa * dot + (double)lo * weightSum), expected = product + bias[o];
                    // Relative to the terms' sizes: the two terms and the bias partly cancel, and the float sum carries
                    // the rounding of each.
                    double terms = ws[o] * (Math.Abs((double)sa * dot) + Math.Abs((double)lo * weightSum)) + Math.Abs(bias[o]);
                    worstContract = Math.Max(worstContract, Math.Abs(y[i * n + o] - expected) / (terms + 1e-30));
                    worstFp32 = Math.Max(worstFp32, Math.Abs(y[i * n + o] - (exact + bias[o])));
                    scaleFp32 = Math.Max(scaleFp32, Math.Abs(exact));
                }
            }
            // Float rounding only: the integer part is exact, the rescale is a couple of float multiplies.
            Assert.True(worstContract < 1e-6, $"{kernel}: relative error to the contract {worstContract}");
            // Against fp32: each product's error is at most |a|·Δw/2 + |w|·Δa/2 + Δa·Δw/4, summed over k, with Δ the
            // quantisation steps (range / L = 2 / L for activations in [−1, 1], max|w| / 127 for weights): a loose
            // bound is k · (1 · 0.1/127 + 0.1 · 2/L) / 2 — random errors cancel far below that.
            double bound = k * (0.1 / 127 + 0.2 / levels) / 2;
            Assert.True(worstFp32 < bound, $"{kernel}: error to fp32 {worstFp32} above the bound {bound} (outputs up to {scaleFp32})");
            output.WriteLine($"{kernel}: m {m} k {k} n {n}: worst abs error to fp32 {worstFp32:E2} (bound {bound:E2}, outputs up to {scaleFp32:F3})");
        }
    }

    [Fact]
    public void The_backend_runs_int8_weights_with_the_chosen_kernel_and_fused_epilogue()
    {
        const int m = 10, k = 48, n = 20;
        var random = new Random(5);
        var x = Enumerable.Range(0, m * k).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var wf = Enumerable.Range(0, n * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var residual = Enumerable.Range(0, m * n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        foreach (var kernel in Kernels)
        {
            if (!Available(kernel)) continue;
            using var backend = new SimdCpuBackend(kernel);
            Assert.Equal(kernel, backend.Int8Kernel);
            Assert.Contains(kernel.ToString(), backend.DeviceDescription);
            using var w = Int8PackedMatrix.Quantize(wf, n, k);
            using var xt = new HostTensor(m, k);
            using var bt = new HostTensor(1, n);
            using var gelu = new HostTensor(m, n);
            using var inPlace = new HostTensor(m, n);
            using var plain = new HostTensor(m, n);
            x.CopyTo(xt.Span);
            bias.CopyTo(bt.Span);
            residual.CopyTo(inPlace.Span);
            backend.Linear(xt, w, bt, Activation.None, plain, null, m);
            backend.Linear(xt, w, bt, Activation.Gelu, gelu, null, m);
            backend.Linear(xt, w, bt, Activation.None, inPlace, inPlace, m);   // residual already in the output
            for (int i = 0; i < m * n; i++)
            {
                Assert.Equal(Gelu(plain.Span[i]), gelu.Span[i], 1e-5f);
                Assert.Equal(plain.Span[i] + residual[i], inPlace.Span[i], 1e-5f);
            }
        }
        Assert.Throws<NotSupportedException>(() => new SimdCpuBackend((Int8Kernel)99));
    }

    // The exact GELU (erf form), as the encoder's activation: 0.5 · x · (1 + erf(x / √2)).
    private static float Gelu(float x) => (float)(0.5 * x * (1 + Erf(x / Math.Sqrt(2))));

    private static double Erf(double x)
    {
        // Abramowitz–Stegun 7.1.26 is only 1.5e-7 accurate: use the series, exact to double precision for |x| < 3.
        double sum = x, term = x;
        for (int n = 1; n < 60; n++)
        {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}
