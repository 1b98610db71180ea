using System.Runtime.InteropServices;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// A weight matrix W [N out, K in] laid out for the GEMM micro-kernel: N is cut into panels of
/// <see cref="PanelWidth"/> columns of the product, and panel <c>p</c> stores, for k = 0..K-1, the 32 values
/// <c>W[p·32 + j, k]</c> contiguously (zero beyond N). One row of a panel is then two aligned Vector512 loads.
/// </summary>
public sealed unsafe class PackedMatrix : IDeviceWeight
{
    /// <summary>Columns of the product per panel (two Vector512 or four Vector256).</summary>
    public const int PanelWidth = 32;

    private float* _data;

    public int Rows { get; }
    public int Columns { get; }
    public TensorType StorageType => TensorType.F32;
    /// <summary>N, the output width.</summary>
    public int OutputSize => Rows;
    /// <summary>K, the input width.</summary>
    public int InputSize => Columns;
    public int Panels { get; }

    /// <summary>Packs a row-major [outputSize, inputSize] matrix.</summary>
    public PackedMatrix(ReadOnlySpan<float> rowMajor, int outputSize, int inputSize)
    {
        if ((long)outputSize * inputSize != rowMajor.Length)
            throw new ArgumentException($"matrix {outputSize}×{inputSize} needs {(long)outputSize * inputSize} values, got {rowMajor.Length}");
        Rows = outputSize;
        Columns = inputSize;
        Panels = (outputSize + PanelWidth - 1) / PanelWidth;
        long length = (long)Panels * inputSize * PanelWidth;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)(length * sizeof(float)), 64);
        var dst = new Span<float>(_data, checked((int)length));
        dst.Clear();
        for (int n = 0; n < outputSize; n++)
        {
            int panel = n / PanelWidth, lane = n % PanelWidth;
            var src = rowMajor.Slice(n * inputSize, inputSize);
            float* p = _data + (long)panel * inputSize * PanelWidth + lane;
            for (int k = 0; k < inputSize; k++) p[(long)k * PanelWidth] = src[k];
        }
    }

    /// <summary>Start of panel <paramref name="panel"/> (K × 32 floats).</summary>
    public float* Panel(int panel)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        return _data + (long)panel * Columns * PanelWidth;
    }

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
    }
}
