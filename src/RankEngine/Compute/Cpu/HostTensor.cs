using System.Runtime.InteropServices;

namespace RankEngine.Compute.Cpu;

/// <summary>
/// A 64-byte aligned float32 matrix in native host memory, used by the CPU backends for activations and weights.
/// Native (not GC) memory: no GC pauses over large buffers and cache-line aligned rows for SIMD loads.
/// </summary>
internal sealed unsafe class HostTensor : IDeviceTensor, IDeviceWeight
{
    private float* _data;

    public int Rows { get; }
    public int Columns { get; }
    public long Length { get; }
    public Model.TensorType StorageType => Model.TensorType.F32;

    public HostTensor(int rows, int columns)
    {
        if (rows <= 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"tensor shape {rows}×{columns} must be positive");
        Rows = rows;
        Columns = columns;
        Length = (long)rows * columns;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)(Length * sizeof(float)), 64);
        new Span<float>(_data, checked((int)Length)).Clear();
    }

    /// <summary>Raw pointer to element [0, 0].</summary>
    public float* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return _data;
        }
    }

    /// <summary>All elements.</summary>
    public Span<float> Span => new(Pointer, checked((int)Length));

    /// <summary>One row.</summary>
    public Span<float> Row(int row) => new(Pointer + (long)row * Columns, Columns);

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }

    internal static HostTensor Cast(object tensor, string what) =>
        tensor as HostTensor ?? throw new ArgumentException($"{what} was not created by a CPU backend");
}
