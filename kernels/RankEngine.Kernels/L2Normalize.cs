using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>Scales each row to unit L2 norm in place, one group per row; a zero row stays zero.</summary>
public static class L2Normalize
{
    public static void Kernel(ArrayView<float> x, int columns)
    {
        var scratch = SharedMemory.Allocate<float>(DeviceMath.MaxGroupSize);
        int t = Group.IdxX, groupSize = Group.DimX;
        long offset = (long)Grid.IdxX * columns;
        float squares = 0;
        for (int c = t; c < columns; c += groupSize)
        {
            float v = x[offset + c];
            squares += v * v;
        }
        float total = DeviceMath.GroupSum(scratch, squares, t);
        if (total <= 0f) return;
        float inv = 1f / MathF.Sqrt(total);
        for (int c = t; c < columns; c += groupSize) x[offset + c] *= inv;
    }
}

/// <summary>Launches <see cref="L2Normalize.Kernel"/> after checking shapes.</summary>
public sealed class L2NormalizeLauncher
{
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, int> _kernel;

    private readonly KernelSet _set;

    public L2NormalizeLauncher(KernelSet set)
    {
        _set = set;
        _kernel = set.Accelerator.LoadKernel<ArrayView<float>, int>(L2Normalize.Kernel);
    }

    public void Run(AcceleratorStream stream, ArrayView<float> x, int rows, int columns)
    {
        if (rows < 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"shape {rows}×{columns} is invalid");
        if (x.Length < (long)rows * columns) throw new ArgumentException($"x is smaller than {rows}×{columns}");
        if (rows == 0) return;
        _kernel(stream, new KernelConfig(rows, _set.ReductionGroupSize), x, columns);
    }
}
