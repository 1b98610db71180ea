using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>
/// Row-wise LayerNorm, one group per row: the group sums the row (mean), then the squared deviations (two-pass
/// variance, stable for rows with a large mean), then writes <c>(x − mean)·rsqrt(var + eps)·γ + β</c>.
/// y may alias x: each thread rewrites only the columns it read.
/// </summary>
public static class LayerNorm
{
    public const int GroupSize = 128;

    public static void Kernel(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y, int columns, float eps)
    {
        var scratch = SharedMemory.Allocate<float>(GroupSize);
        int t = Group.IdxX;
        long offset = (long)Grid.IdxX * columns;
        float sum = 0;
        for (int c = t; c < columns; c += GroupSize) sum += x[offset + c];
        float mean = DeviceMath.GroupSum(scratch, sum, t, GroupSize) / columns;
        float squares = 0;
        for (int c = t; c < columns; c += GroupSize)
        {
            float d = x[offset + c] - mean;
            squares += d * d;
        }
        float variance = DeviceMath.GroupSum(scratch, squares, t, GroupSize) / columns;
        float inv = 1f / MathF.Sqrt(variance + eps);
        for (int c = t; c < columns; c += GroupSize)
            y[offset + c] = (x[offset + c] - mean) * inv * gamma[c] + beta[c];
    }
}

/// <summary>Launches <see cref="LayerNorm.Kernel"/> after checking shapes.</summary>
public sealed class LayerNormLauncher
{
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> _kernel;

    public LayerNormLauncher(KernelSet set) =>
        _kernel = set.Accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(LayerNorm.Kernel);

    public void Run(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y,
        int rows, int columns, float eps)
    {
        if (rows < 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"LayerNorm shape {rows}×{columns} is invalid");
        if (x.Length < (long)rows * columns || y.Length < (long)rows * columns) throw new ArgumentException($"x or y is smaller than {rows}×{columns}");
        if (gamma.Length < columns || beta.Length < columns) throw new ArgumentException($"gamma and beta need {columns} values");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), "eps must be a non-negative number");
        if (rows == 0) return;
        _kernel(stream, new KernelConfig(rows, LayerNorm.GroupSize), x, gamma, beta, y, columns, eps);
    }
}
