using RankEngine.Models;

namespace RankEngine.Catalog;

/// <summary>
/// The served model's item factors for one shard, row-aligned with its current generation (learned factors, or
/// factors predicted from a row's content vector for items the model has not seen). Rows are immutable, so the
/// matrix only grows: a request whose snapshot has rows the cache has not filled yet fills them (one writer at a
/// time); every other request reads without a lock. A new model or a new generation (compaction) starts a new matrix.
/// </summary>
internal sealed class ShardFactorCache
{
    private readonly object _fillLock = new();
    private readonly int _contentSlot;
    private volatile Entry? _entry;

    private sealed record Entry(RankingModel Model, int Generation, float[] Matrix, int Filled);

    public ShardFactorCache(int contentSlot) => _contentSlot = contentSlot;

    /// <summary>Factors covering every row of <paramref name="snapshot"/> for <paramref name="model"/>.</summary>
    public ShardFactors For(ShardSnapshot snapshot, RankingModel model)
    {
        var entry = _entry;
        if (entry is null || !ReferenceEquals(entry.Model, model) || entry.Generation != snapshot.Generation || entry.Filled < snapshot.RowCount)
        {
            lock (_fillLock)
            {
                entry = _entry;
                if (entry is null || !ReferenceEquals(entry.Model, model) || entry.Generation != snapshot.Generation || entry.Filled < snapshot.RowCount)
                    _entry = entry = Fill(entry, snapshot, model);
            }
        }
        return new ShardFactors(entry.Matrix, model.Rank, entry.Filled);
    }

    private Entry Fill(Entry? entry, ShardSnapshot snapshot, RankingModel model)
    {
        int r = model.Rank, rows = snapshot.RowCount;
        bool reuse = entry is not null && ReferenceEquals(entry.Model, model) && entry.Generation == snapshot.Generation;
        // A request with an older snapshot than the cache's can still be served by the larger matrix.
        if (reuse && entry!.Filled >= rows) return entry;
        int from = reuse ? entry!.Filled : 0;
        float[] matrix = reuse && (long)rows * r <= entry!.Matrix.Length ? entry.Matrix
            : GC.AllocateArray<float>(checked(Math.Max(rows + rows / 2, 1024) * r), pinned: true);
        if (reuse && !ReferenceEquals(matrix, entry!.Matrix)) entry.Matrix.AsSpan(0, from * r).CopyTo(matrix);
        var content = snapshot.Matrix(_contentSlot);
        int d = snapshot.Schema.Vectors[_contentSlot].Dimension;
        for (int row = from; row < rows; row++)
        {
            var destination = matrix.AsSpan(row * r, r);
            if (!model.TryOutputFor(snapshot.IdOf(row), content.Slice(row * d, d), destination)) destination.Clear();
            // A factor predicted from odd content must not poison a scan with NaN.
            foreach (float x in destination)
                if (!float.IsFinite(x)) { destination.Clear(); break; }
        }
        return new Entry(model, snapshot.Generation, matrix, rows);
    }
}
