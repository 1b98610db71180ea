using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using Half = System.Half;
using RankEngine.Kernels;
using RankEngine.Model;

namespace RankEngine.Compute.Ilgpu;

/// <summary>
/// A catalog in device memory (fp32 or fp16), uploaded once and then updated row by row with a scatter kernel.
/// Values are checked for NaN/∞ on the host before anything reaches the device.
/// </summary>
internal sealed class IlgpuCatalog : ICatalogMatrix
{
    private const int ConvertChunk = 1 << 20; // floats converted to fp16 per staging step
    private MemoryBuffer1D<float, Stride1D.Dense>? _f32;
    private MemoryBuffer1D<ILGPU.Half, Stride1D.Dense>? _f16;
    private MemoryBuffer1D<int, Stride1D.Dense>? _rowStage;
    private MemoryBuffer1D<float, Stride1D.Dense>? _valueStage;
    private MemoryBuffer1D<ILGPU.Half, Stride1D.Dense>? _halfStage;

    public IlgpuBackend Owner { get; }
    public int Count { get; private set; }
    public int Capacity { get; }
    public int Dimension { get; }
    public TensorType StorageType { get; }

    public IlgpuCatalog(IlgpuBackend owner, int dimension, int capacity, TensorType storage)
    {
        ScoringLimits.CheckCatalog(dimension, capacity, storage);
        Owner = owner;
        Dimension = dimension;
        Capacity = capacity;
        StorageType = storage;
        long length = (long)dimension * capacity;
        if (storage == TensorType.F16) _f16 = owner.Accelerator.Allocate1D<ILGPU.Half>(length);
        else _f32 = owner.Accelerator.Allocate1D<float>(length);
    }

    public CatalogView View => _f16 is not null ? new CatalogView(_f16.View, Dimension)
        : new CatalogView((_f32 ?? throw new ObjectDisposedException(nameof(IlgpuCatalog))).View, Dimension);

    public void Upload(ReadOnlySpan<float> values)
    {
        int rows = ScoringLimits.CheckUpload(values, Capacity, Dimension);
        var stream = Owner.Stream;
        if (_f32 is not null)
        {
            _f32.View.SubView(0, values.Length).CopyFromCPU(stream, values);
        }
        else
        {
            var staging = ArrayPool<Half>.Shared.Rent(Math.Min(values.Length, ConvertChunk));
            try
            {
                for (int start = 0; start < values.Length; start += ConvertChunk)
                {
                    int n = Math.Min(ConvertChunk, values.Length - start);
                    TensorPrimitives.ConvertToHalf(values.Slice(start, n), staging.AsSpan(0, n));
                    ReadOnlySpan<ILGPU.Half> half = MemoryMarshal.Cast<Half, ILGPU.Half>(staging.AsSpan(0, n));
                    _f16!.View.SubView(start, n).CopyFromCPU(stream, half);
                }
            }
            finally
            {
                ArrayPool<Half>.Shared.Return(staging);
            }
        }
        Count = rows;
    }

    public void UpdateRows(ReadOnlySpan<int> rows, ReadOnlySpan<float> values)
    {
        int newCount = ScoringLimits.CheckUpdate(rows, values, Count, Capacity, Dimension);
        if (rows.IsEmpty) return;
        if (HasDuplicates(rows))
        {
            // Threads of the scatter kernel race on a repeated row; keep only each row's last entry (host semantics).
            (var keptRows, var keptValues) = LastOccurrences(rows, values);
            rows = keptRows;
            values = keptValues;
        }
        var rowView = Owner.Stage(ref _rowStage, rows);
        if (_f16 is not null)
        {
            // Round on the host (IEEE round-to-nearest-even, as Upload does) so every device stores the same bits.
            var half = new Half[values.Length];
            TensorPrimitives.ConvertToHalf(values, half);
            var halfView = Owner.Stage(ref _halfStage, MemoryMarshal.Cast<Half, ILGPU.Half>(half));
            Owner.Kernels.DotScore.Scatter(Owner.Stream, rowView, halfView, rows.Length, View);
        }
        else
        {
            var valueView = Owner.Stage(ref _valueStage, values);
            Owner.Kernels.DotScore.Scatter(Owner.Stream, rowView, valueView, rows.Length, View);
        }
        Owner.Stream.Synchronize();
        Count = newCount;
    }

    private static bool HasDuplicates(ReadOnlySpan<int> rows)
    {
        var seen = new HashSet<int>(rows.Length);
        foreach (int r in rows)
            if (!seen.Add(r)) return true;
        return false;
    }

    private (int[] Rows, float[] Values) LastOccurrences(ReadOnlySpan<int> rows, ReadOnlySpan<float> values)
    {
        var last = new Dictionary<int, int>(rows.Length);
        for (int i = 0; i < rows.Length; i++) last[rows[i]] = i;
        var keptRows = new int[last.Count];
        var keptValues = new float[(long)last.Count * Dimension];
        int n = 0;
        foreach (var (row, index) in last)
        {
            keptRows[n] = row;
            values.Slice(index * Dimension, Dimension).CopyTo(keptValues.AsSpan(n * Dimension, Dimension));
            n++;
        }
        return (keptRows, keptValues);
    }

    public void Dispose()
    {
        _f32?.Dispose();
        _f16?.Dispose();
        _rowStage?.Dispose();
        _valueStage?.Dispose();
        _halfStage?.Dispose();
        _f32 = null;
        _f16 = null;
    }
}
