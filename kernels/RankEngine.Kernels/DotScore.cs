using ILGPU;
using ILGPU.Runtime;
using Half = ILGPU.Half;

namespace RankEngine.Kernels;

/// <summary>A device-resident catalog matrix [rows × dimension], fp32 or fp16, as the kernels see it.</summary>
public readonly struct CatalogView
{
    public ArrayView<float> F32 { get; }
    public ArrayView<Half> F16 { get; }
    public bool IsHalf { get; }
    public int Dimension { get; }

    public CatalogView(ArrayView<float> values, int dimension) { F32 = values; F16 = default; IsHalf = false; Dimension = dimension; }
    public CatalogView(ArrayView<Half> values, int dimension) { F32 = default; F16 = values; IsHalf = true; Dimension = dimension; }

    /// <summary>Rows the storage can hold.</summary>
    public long Capacity => (IsHalf ? F16.Length : F32.Length) / Dimension;
}

/// <summary>
/// Batched dot-product scoring <c>scores[q, r] = query[q] · catalog[rowStart + r]</c> and the row scatter that keeps
/// the catalog up to date. Scoring is the tiled GEMM kernel with the catalog on the weight side (so fp16 catalogs
/// are converted while staging into shared memory and never expanded in device memory).
/// </summary>
public static class DotScore
{
    /// <summary>Writes <c>values[i]</c> into catalog row <c>rows[i]</c>. Values arrive already in the storage type
    /// (fp16 is rounded on the host with IEEE round-to-nearest-even, so every device stores identical bits).</summary>
    public static void ScatterKernel<T>(Index2D index, ArrayView<int> rows, ArrayView<T> values, ArrayView<T> catalog, int dimension)
        where T : unmanaged
    {
        int column = index.X, i = index.Y;
        catalog[(long)rows[i] * dimension + column] = values[(long)i * dimension + column];
    }
}

/// <summary>Launches scoring (through <see cref="GemmLauncher"/>) and the catalog scatter after checking sizes.</summary>
public sealed class DotScoreLauncher
{
    private readonly KernelSet _set;
    private readonly Lazy<Action<AcceleratorStream, Index2D, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>> _scatterF32;
    private readonly Lazy<Action<AcceleratorStream, Index2D, ArrayView<int>, ArrayView<Half>, ArrayView<Half>, int>> _scatterF16;

    public DotScoreLauncher(KernelSet set)
    {
        _set = set;
        _scatterF32 = new(() => set.Accelerator.LoadAutoGroupedKernel<Index2D, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(
            DotScore.ScatterKernel<float>));
        _scatterF16 = new(() => set.Accelerator.LoadAutoGroupedKernel<Index2D, ArrayView<int>, ArrayView<Half>, ArrayView<Half>, int>(
            DotScore.ScatterKernel<Half>));
    }

    /// <summary>Queues <c>scores[q × rows] = queries[q × dim] · catalog[rowStart .. rowStart+rows]ᵀ</c>.</summary>
    public void Score(AcceleratorStream stream, ArrayView<float> queries, int queryCount, CatalogView catalog, int rowStart, int rows,
        ArrayView<float> scores)
    {
        int dim = catalog.Dimension;
        if (queryCount <= 0 || rows <= 0 || rowStart < 0) throw new ArgumentOutOfRangeException(nameof(queryCount), $"{queryCount} queries over rows {rowStart}+{rows} is invalid");
        if (rowStart + (long)rows > catalog.Capacity) throw new ArgumentException($"rows {rowStart}..{rowStart + rows} exceed the catalog's {catalog.Capacity}");
        long offset = (long)rowStart * dim, length = (long)rows * dim;
        var none = ArrayView<float>.Empty;
        if (catalog.IsHalf)
            _set.Gemm.Run(stream, queries, catalog.F16.SubView(offset, length), none, none, scores, queryCount, rows, dim, KernelActivation.None);
        else
            _set.Gemm.Run(stream, queries, catalog.F32.SubView(offset, length), none, none, scores, queryCount, rows, dim, KernelActivation.None);
    }

    /// <summary>Queues the write of <paramref name="count"/> fp32 rows (indices on the device, validated by the caller).</summary>
    public void Scatter(AcceleratorStream stream, ArrayView<int> rows, ArrayView<float> values, int count, CatalogView catalog)
    {
        if (catalog.IsHalf) throw new ArgumentException("an fp16 catalog takes fp16 values");
        if (CheckScatter(rows, values.Length, count, catalog)) _scatterF32.Value(stream, new Index2D(catalog.Dimension, count), rows, values, catalog.F32, catalog.Dimension);
    }

    /// <summary>Queues the write of <paramref name="count"/> fp16 rows (indices on the device, validated by the caller).</summary>
    public void Scatter(AcceleratorStream stream, ArrayView<int> rows, ArrayView<Half> values, int count, CatalogView catalog)
    {
        if (!catalog.IsHalf) throw new ArgumentException("an fp32 catalog takes fp32 values");
        if (CheckScatter(rows, values.Length, count, catalog)) _scatterF16.Value(stream, new Index2D(catalog.Dimension, count), rows, values, catalog.F16, catalog.Dimension);
    }

    private static bool CheckScatter(ArrayView<int> rows, long values, int count, CatalogView catalog)
    {
        if (count <= 0) return false;
        if (rows.Length < count || values < (long)count * catalog.Dimension)
            throw new ArgumentException($"scatter of {count} rows needs {count} indices and {count}×{catalog.Dimension} values");
        return true;
    }
}
