using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>Pooling modes (same order as RankEngine.Model.Pooling).</summary>
public enum KernelPooling
{
    Cls = 0,
    Mean = 1,
    SqrtLengthSum = 2,
}

/// <summary>
/// One pooled row per packed sequence: one thread per (sequence, column) walks the sequence's rows, so reads of a
/// row are coalesced across the column threads. CLS copies the first row; mean divides by the length;
/// sqrt-length sum divides by √length.
/// </summary>
public static class Pooling
{
    public static void Kernel(Index2D index, ArrayView<float> hidden, ArrayView<int> starts, ArrayView<float> pooled, int columns, int mode)
    {
        int column = index.X, sequence = index.Y;
        int start = starts[sequence], length = starts[sequence + 1] - start;
        if (mode == (int)KernelPooling.Cls)
        {
            pooled[(long)sequence * columns + column] = hidden[(long)start * columns + column];
            return;
        }
        float sum = 0;
        for (int t = 0; t < length; t++) sum += hidden[(long)(start + t) * columns + column];
        float divisor = mode == (int)KernelPooling.Mean ? length : MathF.Sqrt(length);
        pooled[(long)sequence * columns + column] = sum / divisor;
    }
}

/// <summary>Launches <see cref="Pooling.Kernel"/> after checking the layout.</summary>
public sealed class PoolingLauncher
{
    private readonly Action<AcceleratorStream, Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int> _kernel;

    public PoolingLauncher(KernelSet set) =>
        _kernel = set.Accelerator.LoadAutoGroupedKernel<Index2D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(Pooling.Kernel);

    public void Run(AcceleratorStream stream, ArrayView<float> hidden, ArrayView<int> starts, ReadOnlySpan<int> hostStarts,
        ArrayView<float> pooled, int columns, KernelPooling mode)
    {
        int sequences = hostStarts.Length - 1;
        if (sequences < 1) throw new ArgumentException("pooling needs at least one sequence");
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode));
        if (starts.Length < hostStarts.Length) throw new ArgumentException("the device starts hold fewer entries than the layout");
        if (hidden.Length < (long)hostStarts[sequences] * columns) throw new ArgumentException("hidden is smaller than the layout");
        if (pooled.Length < (long)sequences * columns) throw new ArgumentException($"pooled is smaller than {sequences}×{columns}");
        _kernel(stream, new Index2D(columns, sequences), hidden, starts, pooled, columns, (int)mode);
    }
}
