using System.Runtime.InteropServices;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// A weight matrix W [N out, K in] laid out for the GEMM micro-kernel: N is cut into panels of
/// <see cref="PanelWidth"/> columns of the product, and panel <c>p</c> stores, for k = 0..K-1, the 32 values
/// <c>W[p·32 + j, k]</c> contiguously (zero beyond N). One row of a panel is then two aligned Vector512 loads.
/// </summary>
internal sealed unsafe class PackedMatrix : IDeviceWeight
{
    /// <summary>Columns of the product per panel (two Vector512 or four Vector256).</summary>
    public const int PanelWidth = 32;

    private float* _data;   // fp32 panels, or null
    private Half* _half;    // fp16 panels, or null

    public int Rows { get; }
    public int Columns { get; }
    /// <summary>F32, or F16 when the panels hold half floats (half the memory traffic; converted per K block in the GEMM).</summary>
    public TensorType StorageType => _half != null ? TensorType.F16 : TensorType.F32;
    public bool IsHalf => _half != null;
    /// <summary>N, the output width.</summary>
    public int OutputSize => Rows;
    /// <summary>K, the input width.</summary>
    public int InputSize => Columns;
    public int Panels { get; }

    /// <summary>Packs a row-major [outputSize, inputSize] matrix.</summary>
    public PackedMatrix(ReadOnlySpan<float> rowMajor, int outputSize, int inputSize)
    {
        (Rows, Columns, Panels) = (outputSize, inputSize, PanelCount(outputSize));
        _data = Pack(rowMajor, outputSize, inputSize);
    }

    /// <summary>Packs a row-major [outputSize, inputSize] matrix of half floats, keeping them half (fp16 storage).</summary>
    public PackedMatrix(ReadOnlySpan<Half> rowMajor, int outputSize, int inputSize)
    {
        (Rows, Columns, Panels) = (outputSize, inputSize, PanelCount(outputSize));
        _half = Pack(rowMajor, outputSize, inputSize);
    }

    private static int PanelCount(int outputSize) => (outputSize + PanelWidth - 1) / PanelWidth;

    /// <summary>Aligned panel layout of a row-major matrix (zero beyond N); the caller owns the memory.</summary>
    private static T* Pack<T>(ReadOnlySpan<T> rowMajor, int outputSize, int inputSize) where T : unmanaged
    {
        if ((long)outputSize * inputSize != rowMajor.Length)
            throw new ArgumentException($"matrix {outputSize}×{inputSize} needs {(long)outputSize * inputSize} values, got {rowMajor.Length}");
        long length = (long)PanelCount(outputSize) * inputSize * PanelWidth;
        var data = (T*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(T)), 64);
        new Span<T>(data, checked((int)length)).Clear();
        for (int n = 0; n < outputSize; n++)
        {
            int panel = n / PanelWidth, lane = n % PanelWidth;
            var src = rowMajor.Slice(n * inputSize, inputSize);
            T* p = data + (long)panel * inputSize * PanelWidth + lane;
            for (int k = 0; k < inputSize; k++) p[(long)k * PanelWidth] = src[k];
        }
        return data;
    }

    /// <summary>Start of fp32 panel <paramref name="panel"/> (K × 32 floats).</summary>
    public float* Panel(int panel)
    {
        ObjectDisposedException.ThrowIf(_data == null && _half == null, this);
        if (_data == null) throw new InvalidOperationException("this matrix stores fp16 panels: use PanelHalf");
        return _data + (long)panel * Columns * PanelWidth;
    }

    /// <summary>Start of fp16 panel <paramref name="panel"/> (K × 32 halves).</summary>
    public Half* PanelHalf(int panel)
    {
        ObjectDisposedException.ThrowIf(_data == null && _half == null, this);
        if (_half == null) throw new InvalidOperationException("this matrix stores fp32 panels: use Panel");
        return _half + (long)panel * Columns * PanelWidth;
    }

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
        if (_half != null)
        {
            NativeMemory.AlignedFree(_half);
            _half = null;
        }
    }
}
