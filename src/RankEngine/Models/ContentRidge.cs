using System.Numerics.Tensors;
using RankEngine.Models.Linear;

namespace RankEngine.Models;

/// <summary>
/// Ridge regression from items' content vectors E (one row per learned item) to any of their factor matrices:
/// <c>W = (EᵀE + μI)⁻¹·EᵀY</c>, the Cholesky factor of <c>EᵀE + μI</c> computed once for every target. μ is a tenth of
/// the mean eigenvalue of EᵀE (unit rows: trace n), so the map shrinks towards 0 where content says little.
/// </summary>
internal sealed class ContentRidge
{
    private readonly float[] _content; // learned items × d
    private readonly double[] _cholesky;
    private readonly int _items, _dimension;

    public ContentRidge(TrainingCatalog catalog, int[] rows)
    {
        _items = rows.Length;
        _dimension = catalog.ContentDimension;
        int d = _dimension;
        _content = new float[_items * d];
        for (int i = 0; i < _items; i++) catalog.Content.AsSpan(rows[i] * d, d).CopyTo(_content.AsSpan(i * d, d));
        var gram = DenseOps.Gram(_content, _items, d);
        double mu = Math.Max(1e-3, 0.1 * _items / d);
        for (int j = 0; j < d; j++) gram[j * d + j] += mu;
        _cholesky = DenseOps.Cholesky(gram, d);
    }

    /// <summary>The d × r map W for targets Y (learned items × r, rows in the order given at construction).</summary>
    public float[] Map(float[] targets, int rank)
    {
        var rhs = DenseOps.TransposeMultiply(_content, targets, _items, _dimension, rank);
        DenseOps.CholeskySolve(_cholesky, _dimension, rhs, rank);
        var map = new float[_dimension * rank];
        for (int i = 0; i < map.Length; i++) map[i] = (float)rhs[i];
        return map;
    }

    /// <summary><c>destination += contentᵀ·W</c> for a d × r map (row-major; destination has r values).</summary>
    public static void Predict(ReadOnlySpan<float> map, ReadOnlySpan<float> content, Span<float> destination)
    {
        int r = destination.Length;
        for (int c = 0; c < content.Length; c++)
            if (content[c] != 0) TensorPrimitives.MultiplyAdd(map.Slice(c * r, r), content[c], destination, destination);
    }
}
