using System.Runtime.InteropServices;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// An int8 weight matrix W [N out, K in] with one float scale per output row (<c>W[n,k] ≈ q[n,k] · scale[n]</c>), laid
/// out for <see cref="Int8Gemm"/>: N is cut into panels of <see cref="PanelWidth"/> columns of the product; K into
/// groups of four. Panel <c>p</c> stores, for each group g, the 16 × 4 bytes <c>q[p·16 + j, 4g .. 4g+3]</c> (zero
/// beyond N and K): one 64-byte line is one <c>vpdpbusd</c> operand pair for 16 outputs (two ymm or one zmm).
/// </summary>
internal sealed unsafe class Int8PackedMatrix : IDeviceWeight
{
    /// <summary>Output columns per panel: 16 int32 accumulators (one Vector512, two Vector256).</summary>
    public const int PanelWidth = 16;
    /// <summary>Bytes of one K group of a panel.</summary>
    public const int GroupBytes = PanelWidth * 4;

    private sbyte* _data;
    private readonly float[] _scales;
    private readonly int[] _rowSums;

    public int Rows { get; }
    public int Columns { get; }
    public TensorType StorageType => TensorType.I8;
    /// <summary>N, the output width.</summary>
    public int OutputSize => Rows;
    /// <summary>K, the input width.</summary>
    public int InputSize => Columns;
    /// <summary>K rounded up to groups of four.</summary>
    public int Groups { get; }
    public int Panels { get; }
    /// <summary>Per-output scales, padded with zeros to whole panels.</summary>
    public ReadOnlySpan<float> Scales => _scales;
    /// <summary><c>Σ_k q[n,k]</c> per output, padded to whole panels: carries the activation rows' lower bound.</summary>
    public ReadOnlySpan<int> RowSums => _rowSums;

    /// <summary>Packs row-major int8 values [outputSize, inputSize] with one scale per output row.</summary>
    public Int8PackedMatrix(ReadOnlySpan<sbyte> rowMajor, ReadOnlySpan<float> scales, int outputSize, int inputSize)
    {
        if ((long)outputSize * inputSize != rowMajor.Length)
            throw new ArgumentException($"matrix {outputSize}×{inputSize} needs {(long)outputSize * inputSize} values, got {rowMajor.Length}");
        if (scales.Length != outputSize) throw new ArgumentException($"{outputSize} output rows need {outputSize} scales, got {scales.Length}");
        (Rows, Columns) = (outputSize, inputSize);
        Groups = (inputSize + 3) / 4;
        Panels = (outputSize + PanelWidth - 1) / PanelWidth;
        _scales = new float[Panels * PanelWidth];
        _rowSums = new int[Panels * PanelWidth];
        scales.CopyTo(_scales);
        long length = (long)Panels * Groups * GroupBytes;
        _data = (sbyte*)NativeMemory.AlignedAlloc((nuint)length, 64);
        new Span<sbyte>(_data, checked((int)length)).Clear();
        for (int n = 0; n < outputSize; n++)
        {
            var src = rowMajor.Slice(n * inputSize, inputSize);
            sbyte* p = _data + (long)(n / PanelWidth) * Groups * GroupBytes + n % PanelWidth * 4;
            int sum = 0;
            for (int k = 0; k < inputSize; k++)
            {
                p[(long)(k >> 2) * GroupBytes + (k & 3)] = src[k];
                sum += src[k];
            }
            _rowSums[n] = sum;
        }
    }

    /// <summary>Packs a weight file's <see cref="TensorType.I8"/> tensor as stored (no requantisation).</summary>
    public static Int8PackedMatrix FromTensor(TensorView tensor) =>
        new(tensor.Int8Values, tensor.Int8Scales, tensor.Rows, tensor.Columns);

    /// <summary>
    /// Quantises a float matrix per output row (<c>scale = max|w| / 127</c>, round to nearest, as
    /// <see cref="Int8Dots.QuantizeRow"/>): for weights computed at load rather than read from a file.
    /// </summary>
    public static Int8PackedMatrix Quantize(ReadOnlySpan<float> rowMajor, int outputSize, int inputSize)
    {
        var q = new sbyte[(long)outputSize * inputSize];
        var scales = new float[outputSize];
        for (int n = 0; n < outputSize; n++)
            scales[n] = Int8Dots.QuantizeRow(rowMajor.Slice(n * inputSize, inputSize), q.AsSpan(n * inputSize, inputSize)).Scale;
        return new Int8PackedMatrix(q, scales, outputSize, inputSize);
    }

    /// <summary>Start of panel <paramref name="panel"/> (Groups × 64 bytes).</summary>
    public sbyte* Panel(int panel)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        return _data + (long)panel * Groups * GroupBytes;
    }

    public void Dispose()
    {
        if (_data == null) return;
        NativeMemory.AlignedFree(_data);
        _data = null;
    }
}
