using ILGPU;
using ILGPU.Runtime;
using RankEngine.Kernels;
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

/// <summary>
/// An int8 matrix weight W [Rows = N out, Columns = K in] in device memory, exactly as stored (<see cref="TensorType.I8"/>):
/// the int8 values, each row packed little-endian four to an int and padded with zero bytes to ⌈K/4⌉ ints, and one
/// float32 scale per row (value = q · scale[row]). The int8 GEMM multiplies it with row-quantised activations.
/// </summary>
internal sealed class IlgpuInt8Weight : IDeviceWeight
{
    private MemoryBuffer1D<int, Stride1D.Dense>? _data;
    private MemoryBuffer1D<float, Stride1D.Dense>? _scales;

    public int Rows { get; }
    public int Columns { get; }
    public TensorType StorageType => TensorType.I8;
    /// <summary>Ints per packed row (⌈Columns / 4⌉).</summary>
    public int PackedColumns => Int8Gemm.PackedColumns(Columns);

    /// <summary>Packs and uploads <paramref name="values"/> (rows × columns int8, row-major) and
    /// <paramref name="scales"/> (one per row).</summary>
    public IlgpuInt8Weight(Accelerator accelerator, ReadOnlySpan<sbyte> values, ReadOnlySpan<float> scales, int rows, int columns)
    {
        if (rows <= 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"weight shape {rows}×{columns} must be positive");
        if (values.Length != (long)rows * columns) throw new ArgumentException($"{values.Length} int8 values for a {rows}×{columns} weight");
        if (scales.Length != rows) throw new ArgumentException($"{scales.Length} scales for {rows} rows");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("int8 weights are packed for a little-endian host");
        Rows = rows;
        Columns = columns;
        int packed = PackedColumns;
        var words = new int[checked(rows * packed)];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(words.AsSpan());
        var source = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values);
        for (int r = 0; r < rows; r++) source.Slice(r * columns, columns).CopyTo(bytes.Slice(r * packed * 4));
        _data = accelerator.Allocate1D(words);
        _scales = accelerator.Allocate1D(scales.ToArray());
    }

    /// <summary>Uploads an <see cref="TensorType.I8"/> tensor of a weight file: rows·cols bytes, then at the next 4-byte
    /// boundary rows float32 scales.</summary>
    public static IlgpuInt8Weight FromTensor(Accelerator accelerator, TensorView tensor)
        => new(accelerator, tensor.Int8Values, tensor.Int8Scales, tensor.Rows, tensor.Columns);

    /// <summary>The packed rows, <see cref="Rows"/> × <see cref="PackedColumns"/> ints.</summary>
    public ArrayView<int> View => (_data ?? throw new ObjectDisposedException(nameof(IlgpuInt8Weight))).View;
    /// <summary>One float32 scale per row.</summary>
    public ArrayView<float> Scales => (_scales ?? throw new ObjectDisposedException(nameof(IlgpuInt8Weight))).View;

    public void Dispose()
    {
        _data?.Dispose();
        _data = null;
        _scales?.Dispose();
        _scales = null;
    }
}
