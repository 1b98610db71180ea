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
    public static void Kernel(ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y, int columns, float eps)
    {
        var scratch = SharedMemory.Allocate<float>(DeviceMath.MaxGroupSize);
        int t = Group.IdxX, groupSize = Group.DimX;
        long offset = (long)Grid.IdxX * columns;
        float sum = 0;
        for (int c = t; c < columns; c += groupSize) sum += x[offset + c];
        float mean = DeviceMath.GroupSum(scratch, sum, t) / columns;
        float squares = 0;
        for (int c = t; c < columns; c += groupSize)
        {
            float d = x[offset + c] - mean;
            squares += d * d;
        }
        float variance = DeviceMath.GroupSum(scratch, squares, t) / columns;
        float inv = 1f / MathF.Sqrt(variance + eps);
        for (int c = t; c < columns; c += groupSize)
            y[offset + c] = (x[offset + c] - mean) * inv * gamma[c] + beta[c];
    }
}

/// <summary>Launches <see cref="LayerNorm.Kernel"/> after checking shapes.</summary>
public sealed class LayerNormLauncher
{
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> _kernel;

    private readonly KernelSet _set;

    public LayerNormLauncher(KernelSet set)
    {
        _set = set;
        _kernel = set.Accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(LayerNorm.Kernel);
    }

    public void Run(AcceleratorStream stream, ArrayView<float> x, ArrayView<float> gamma, ArrayView<float> beta, ArrayView<float> y,
        int rows, int columns, float eps)
    {
        if (rows < 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"LayerNorm shape {rows}×{columns} is invalid");
        if (x.Length < (long)rows * columns || y.Length < (long)rows * columns) throw new ArgumentException($"x or y is smaller than {rows}×{columns}");
        if (gamma.Length < columns || beta.Length < columns) throw new ArgumentException($"gamma and beta need {columns} values");
        if (!(eps >= 0)) throw new ArgumentOutOfRangeException(nameof(eps), "eps must be a non-negative number");
        if (rows == 0) return;
        _kernel(stream, new KernelConfig(rows, _set.ReductionGroupSize), x, gamma, beta, y, columns, eps);
    }
}
