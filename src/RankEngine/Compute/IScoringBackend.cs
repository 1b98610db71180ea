using RankEngine.Model;

namespace RankEngine.Compute;

/// <summary>
/// A catalog of item vectors resident on a backend: <see cref="Count"/> rows of <see cref="Dimension"/> values,
/// stored as fp32 or fp16 (fp16 halves memory and bandwidth; scores are always computed in fp32).
/// Row <c>r</c> is the item with dense id <c>r</c>; mapping external ids to rows is the caller's business.
/// Not thread-safe: updates and queries must not overlap.
/// </summary>
internal interface ICatalogMatrix : IDisposable
{
    /// <summary>Rows in use (the rows that scoring sees).</summary>
    int Count { get; }
    /// <summary>Most rows this catalog can hold (fixed at creation).</summary>
    int Capacity { get; }
    int Dimension { get; }
    /// <summary><see cref="TensorType.F32"/> or <see cref="TensorType.F16"/>.</summary>
    TensorType StorageType { get; }

    /// <summary>Replaces the whole catalog with <c>values.Length / Dimension</c> rows (row-major).</summary>
    /// <exception cref="ArgumentException">Length not a multiple of the dimension, more rows than the capacity, or a
    /// NaN/∞ value (nothing is uploaded then).</exception>
    void Upload(ReadOnlySpan<float> values);

    /// <summary>
    /// Overwrites rows <paramref name="rows"/>[i] with <c>values[i·Dimension ..]</c>. A row index may be any existing
    /// row or exactly <see cref="Count"/> (append; the next append goes one further), so the catalog never has holes.
    /// All inputs are checked first: on error nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">Bad index, length mismatch, capacity exceeded, or a NaN/∞ value.</exception>
    void UpdateRows(ReadOnlySpan<int> rows, ReadOnlySpan<float> values);
}

/// <summary>
/// Dot-product scoring and exact top-k over a backend-resident catalog (FAISS IndexFlatIP semantics).
/// Queries are row-major <c>[queryCount × Dimension]</c> float32 on the host; results land in caller-owned spans.
/// </summary>
internal interface IScoringBackend
{
    /// <summary>An empty catalog with room for <paramref name="capacity"/> rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Non-positive dimension or capacity.</exception>
    /// <exception cref="NotSupportedException">A storage type other than F32/F16.</exception>
    ICatalogMatrix CreateCatalog(int dimension, int capacity, TensorType storage = TensorType.F32);

    /// <summary><c>scores[q·Count + r] = queries[q] · catalog[r]</c> for every query and row.</summary>
    /// <exception cref="ArgumentException">Shapes disagree, the catalog is empty or belongs to another backend, or a query holds NaN/∞.</exception>
    void Score(ReadOnlySpan<float> queries, ICatalogMatrix catalog, Span<float> scores);

    /// <summary>
    /// The <paramref name="k"/> best rows per query: <c>ids[q·k + j]</c> / <c>scores[q·k + j]</c> sorted by score
    /// descending, ties broken by the lower row. When k exceeds <see cref="ICatalogMatrix.Count"/>, the first Count
    /// entries are filled and the rest are id −1 with score −∞.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">k outside 1..<see cref="ScoringLimits.MaxK"/>.</exception>
    /// <exception cref="ArgumentException">As for <see cref="Score"/>, or output spans shorter than queryCount × k.</exception>
    void TopK(ReadOnlySpan<float> queries, ICatalogMatrix catalog, int k, Span<int> ids, Span<float> scores);
}

/// <summary>Limits and argument checks shared by every scoring backend, so all reject bad input the same way.</summary>
internal static class ScoringLimits
{
    /// <summary>Largest k (the protocol's limit, DESIGN §4).</summary>
    public const int MaxK = 4096;

    /// <summary>Validates a new catalog's shape and storage type (fp32 or fp16).</summary>
    public static void CheckCatalog(int dimension, int capacity, Model.TensorType storage)
    {
        if (dimension <= 0 || capacity <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), $"catalog {capacity}×{dimension} must be positive");
        if (storage is not (Model.TensorType.F32 or Model.TensorType.F16)) throw new NotSupportedException($"catalog storage {storage} is not supported (F32 or F16)");
    }

    /// <summary>Throws if any value is NaN or ±∞, naming the row and column.</summary>
    public static void CheckFinite(ReadOnlySpan<float> values, int dimension, string what)
    {
        // v − v is 0 for finite v and NaN for NaN/±∞: a vector scan finds the first bad block, then the exact element.
        var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(values);
        int start = vectors.Length * System.Numerics.Vector<float>.Count;
        for (int v = 0; v < vectors.Length; v++)
        {
            if (!System.Numerics.Vector.EqualsAll(vectors[v] - vectors[v], System.Numerics.Vector<float>.Zero))
            {
                start = v * System.Numerics.Vector<float>.Count;
                break;
            }
        }
        for (int j = start; j < values.Length; j++)
            if (!float.IsFinite(values[j]))
                throw new ArgumentException($"{what} row {j / dimension}, column {j % dimension} is {values[j]}: vectors must be finite (NaN and ∞ are rejected)");
    }

    /// <summary>Validates a query batch against a catalog; returns the query count.</summary>
    public static int CheckQueries(ReadOnlySpan<float> queries, ICatalogMatrix catalog)
    {
        if (catalog.Count == 0) throw new ArgumentException("the catalog is empty: upload rows before scoring");
        if (queries.IsEmpty || queries.Length % catalog.Dimension != 0)
            throw new ArgumentException($"{queries.Length} query values are not a whole number of {catalog.Dimension}-d vectors");
        CheckFinite(queries, catalog.Dimension, "query");
        return queries.Length / catalog.Dimension;
    }

    /// <summary>Validates k and the output spans of a top-k call.</summary>
    public static void CheckTopK(int queryCount, int k, int idsLength, int scoresLength)
    {
        if (k < 1 || k > MaxK) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k}; it must be between 1 and {MaxK}");
        long needed = (long)queryCount * k;
        if (idsLength < needed || scoresLength < needed)
            throw new ArgumentException($"outputs hold {idsLength} ids and {scoresLength} scores; {queryCount} queries × k {k} = {needed} needed");
    }

    /// <summary>
    /// Validates an incremental update and returns the row count after it (rows may be existing or appended at the
    /// current end, in order). Checks values for NaN/∞ too.
    /// </summary>
    public static int CheckUpdate(ReadOnlySpan<int> rows, ReadOnlySpan<float> values, int count, int capacity, int dimension)
    {
        if ((long)rows.Length * dimension != values.Length)
            throw new ArgumentException($"{rows.Length} row indices need {(long)rows.Length * dimension} values, got {values.Length}");
        int newCount = count;
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if (r < 0 || r > newCount)
                throw new ArgumentException($"row index {r} (entry {i}) is outside 0..{newCount}: update an existing row or append at the end");
            if (r == newCount)
            {
                if (newCount == capacity) throw new ArgumentException($"appending row {r} exceeds the catalog capacity {capacity}");
                newCount++;
            }
        }
        CheckFinite(values, dimension, "update");
        return newCount;
    }

    /// <summary>Validates a full upload and returns its row count.</summary>
    public static int CheckUpload(ReadOnlySpan<float> values, int capacity, int dimension)
    {
        if (values.Length % dimension != 0) throw new ArgumentException($"{values.Length} values are not a whole number of {dimension}-d rows");
        int rows = values.Length / dimension;
        if (rows > capacity) throw new ArgumentException($"{rows} rows exceed the catalog capacity {capacity}");
        CheckFinite(values, dimension, "catalog");
        return rows;
    }
}
