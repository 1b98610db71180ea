using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// A catalog in 64-byte aligned native memory, fp32 or fp16 (fp16 rows are widened block by block while scoring).
/// Native memory keeps a multi-GB catalog out of the GC heap.
/// </summary>
internal sealed unsafe class SimdCatalog : ICatalogMatrix
{
    private void* _data;

    public int Count { get; private set; }
    public int Capacity { get; }
    public int Dimension { get; }
    public TensorType StorageType { get; }
    public SimdCpuBackend Owner { get; }

    public SimdCatalog(SimdCpuBackend owner, int dimension, int capacity, TensorType storage)
    {
        ScoringLimits.CheckCatalog(dimension, capacity, storage);
        Owner = owner;
        Dimension = dimension;
        Capacity = capacity;
        StorageType = storage;
        nuint bytes = (nuint)((long)dimension * capacity * (storage == TensorType.F16 ? 2 : 4));
        _data = NativeMemory.AlignedAlloc(bytes, 64);
    }

    public bool IsHalf => StorageType == TensorType.F16;

    /// <summary>Row 0 of an fp32 catalog.</summary>
    public float* F32
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return (float*)_data;
        }
    }

    /// <summary>Row 0 of an fp16 catalog.</summary>
    public Half* F16
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return (Half*)_data;
        }
    }

    public void Upload(ReadOnlySpan<float> values)
    {
        int rows = ScoringLimits.CheckUpload(values, Capacity, Dimension);
        Write(0, values);
        Count = rows;
    }

    public void UpdateRows(ReadOnlySpan<int> rows, ReadOnlySpan<float> values)
    {
        int newCount = ScoringLimits.CheckUpdate(rows, values, Count, Capacity, Dimension);
        for (int i = 0; i < rows.Length; i++) Write(rows[i], values.Slice(i * Dimension, Dimension)); // in order: the last write of a row wins
        Count = newCount;
    }

    private void Write(int row, ReadOnlySpan<float> values)
    {
        long offset = (long)row * Dimension;
        if (IsHalf)
        {
            // Chunked so spans stay under int.MaxValue elements for any catalog size.
            const int chunk = 1 << 24;
            for (int start = 0; start < values.Length; start += chunk)
            {
                int n = Math.Min(chunk, values.Length - start);
                TensorPrimitives.ConvertToHalf(values.Slice(start, n), new Span<Half>(F16 + offset + start, n));
            }
        }
        else
        {
            values.CopyTo(new Span<float>(F32 + offset, values.Length));
        }
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
