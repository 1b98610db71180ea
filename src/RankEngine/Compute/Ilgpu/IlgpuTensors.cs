using ILGPU;
using ILGPU.Runtime;
using RankEngine.Model;

namespace RankEngine.Compute.Ilgpu;

/// <summary>A float32 row-major matrix in device memory: an activation or an fp32 weight.</summary>
internal sealed class IlgpuTensor : IDeviceTensor, IDeviceWeight
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;

    public int Rows { get; }
    public int Columns { get; }
    public TensorType StorageType => TensorType.F32;
    public long Length => (long)Rows * Columns;

    public IlgpuTensor(Accelerator accelerator, int rows, int columns)
    {
        if (rows <= 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"tensor shape {rows}×{columns} must be positive");
        Rows = rows;
        Columns = columns;
        _buffer = accelerator.Allocate1D<float>(Length);
        _buffer.MemSetToZero();
    }

    public ArrayView<float> View => (_buffer ?? throw new ObjectDisposedException(nameof(IlgpuTensor))).View;

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }

    public static IlgpuTensor Cast(object tensor, string what) =>
        tensor as IlgpuTensor ?? throw new ArgumentException($"{what} was not created by an ILGPU backend (or is an fp16 weight where fp32 is needed)");
}

/// <summary>An fp16 matrix weight in device memory (the GEMM converts while staging tiles).</summary>
internal sealed class IlgpuHalfWeight : IDeviceWeight
{
    private MemoryBuffer1D<ILGPU.Half, Stride1D.Dense>? _buffer;

    public int Rows { get; }
    public int Columns { get; }
    public TensorType StorageType => TensorType.F16;

    public IlgpuHalfWeight(Accelerator accelerator, ReadOnlySpan<ILGPU.Half> values, int rows, int columns)
    {
        Rows = rows;
        Columns = columns;
        _buffer = accelerator.Allocate1D<ILGPU.Half>((long)rows * columns);
        _buffer.View.CopyFromCPU(accelerator.DefaultStream, values);
    }

    public ArrayView<ILGPU.Half> View => (_buffer ?? throw new ObjectDisposedException(nameof(IlgpuHalfWeight))).View;

    public void Dispose()
    {
        _buffer?.Dispose();
        _buffer = null;
    }
}
