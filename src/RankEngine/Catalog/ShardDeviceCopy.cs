using System.Buffers;
using RankEngine.Compute;

namespace RankEngine.Catalog;

/// <summary>
/// A shard's matrices on a compute backend that is not host memory (CUDA, OpenCL, ILGPU's CPU accelerator): the
/// content and collab vectors and the served model's factors, row-aligned with the shard's current generation and
/// kept in step by appending the rows a snapshot has that the device has not (rows never change once written). The
/// device computes the dot products of a request's queries with every row; the shard scan then only adds boosts,
/// filters and selects. One request at a time uses the device copy (the device serialises its work anyway); a
/// request holding an older generation than the device has moved on to is scanned on the host instead.
/// </summary>
internal sealed class ShardDeviceCopy : IDisposable
{
    private readonly IScoringBackend _backend;
    private readonly object _gate = new();
    private readonly ICatalogMatrix?[] _slots;
    private readonly int[] _slotRows;
    private ICatalogMatrix? _factors;
    private float[]? _factorSource;
    private int _factorRows;
    private int _generation = -1;

    public ShardDeviceCopy(IScoringBackend backend, int slotCount)
    {
        _backend = backend;
        _slots = new ICatalogMatrix?[slotCount];
        _slotRows = new int[slotCount];
    }

    /// <summary>
    /// The dot products the query's content and second terms need, for every row of <paramref name="snapshot"/>;
    /// null when the host should scan (an older generation, an empty shard, or no term to compute). Return the
    /// arrays with <see cref="Release"/>.
    /// </summary>
    public ShardDots? TryDots(ShardSnapshot snapshot, ShardFactors? factors, ShardQuery query, int contentSlot, int collabSlot)
    {
        int rows = snapshot.RowCount;
        if (rows == 0 || query.Candidates is not null) return null;
        // The terms the scan will use, by the scan's own rule: a dot array for an unused term would be wasted work.
        var (content, second) = ShardSearch.ActiveTerms(snapshot, factors, query, contentSlot, collabSlot);
        if (!content && !second) return null;
        // Backends refuse non-finite queries; the host scan treats such a term as 0, so let it.
        if (!AllFinite(query.Content.Span) || !AllFinite(query.Second.Span)) return null;
        lock (_gate)
        {
            if (snapshot.Generation < _generation) return null;
            if (snapshot.Generation != _generation)
            {
                DisposeMatrices();
                _generation = snapshot.Generation;
            }
            float[]? contentDots = content ? Dots(snapshot, contentSlot, query.Content.Span, rows) : null;
            float[]? secondDots = null;
            if (second) secondDots = query.SecondIsModel ? FactorDots(factors!, query.Second.Span, rows) : Dots(snapshot, collabSlot, query.Second.Span, rows);
            return new ShardDots(contentDots, secondDots);
        }
    }

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!float.IsFinite(v)) return false;
        return true;
    }

    /// <summary>Returns the arrays of <see cref="TryDots"/> to the pool.</summary>
    public static void Release(ShardDots? dots)
    {
        if (dots?.Content is { } c) ArrayPool<float>.Shared.Return(c);
        if (dots?.Second is { } s) ArrayPool<float>.Shared.Return(s);
    }

    private float[] Dots(ShardSnapshot snapshot, int slot, ReadOnlySpan<float> query, int rows)
    {
        int dim = snapshot.Schema.Vectors[slot].Dimension;
        var matrix = Sync(ref _slots[slot], ref _slotRows[slot], snapshot.Matrix(slot), dim, rows);
        return Score(matrix, query, rows);
    }

    private float[] FactorDots(ShardFactors factors, ReadOnlySpan<float> query, int rows)
    {
        // A new model (or a refilled matrix) starts over; otherwise the rows are appended like the vectors.
        if (!ReferenceEquals(factors.Matrix, _factorSource) || _factors?.Dimension != factors.Dimension)
        {
            _factors?.Dispose();
            _factors = null;
            _factorRows = 0;
            _factorSource = factors.Matrix;
        }
        var matrix = Sync(ref _factors, ref _factorRows, factors.Matrix.AsSpan(0, factors.RowCount * factors.Dimension), factors.Dimension, rows);
        return Score(matrix, query, rows);
    }

    /// <summary>Appends the rows [synced, rows) to the device matrix (a larger one, re-uploaded, when full).</summary>
    private ICatalogMatrix Sync(ref ICatalogMatrix? matrix, ref int synced, ReadOnlySpan<float> source, int dim, int rows)
    {
        if (matrix is null || rows > matrix.Capacity)
        {
            matrix?.Dispose();
            matrix = _backend.CreateCatalog(dim, Math.Max(1024, rows + rows / 2));
            matrix.Upload(source[..(rows * dim)]);
            synced = rows;
            return matrix;
        }
        if (rows > synced)
        {
            var indexes = ArrayPool<int>.Shared.Rent(rows - synced);
            try
            {
                for (int i = 0; i < rows - synced; i++) indexes[i] = synced + i;
                matrix.UpdateRows(indexes.AsSpan(0, rows - synced), source[(synced * dim)..(rows * dim)]);
            }
            finally
            {
                ArrayPool<int>.Shared.Return(indexes);
            }
            synced = rows;
        }
        return matrix;
    }

    private float[] Score(ICatalogMatrix matrix, ReadOnlySpan<float> query, int rows)
    {
        // The device may hold more rows than this snapshot (a newer request synced them): the extra scores are ignored.
        var scores = ArrayPool<float>.Shared.Rent(Math.Max(matrix.Count, rows));
        _backend.Score(query, matrix, scores);
        return scores;
    }

    private void DisposeMatrices()
    {
        for (int s = 0; s < _slots.Length; s++)
        {
            _slots[s]?.Dispose();
            _slots[s] = null;
            _slotRows[s] = 0;
        }
        _factors?.Dispose();
        _factors = null;
        _factorSource = null;
        _factorRows = 0;
    }

    public void Dispose()
    {
        lock (_gate) DisposeMatrices();
    }
}
