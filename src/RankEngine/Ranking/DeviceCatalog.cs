using RankEngine.Compute;
using RankEngine.Store;

namespace RankEngine.Ranking;

/// <summary>
/// Keeps backend-resident copies (<see cref="ICatalogMatrix"/>) of the store's catalog mirror, one per vector name,
/// and scores queries against them on the backend (SIMD CPU or CUDA). Each <see cref="Score"/> first applies what
/// changed in the mirror since the last call (<see cref="CatalogMirror.TakeChanges"/>): dirty rows incrementally,
/// everything after a compaction or when the capacity must grow. Rows written after the sync are not on the device
/// yet; the scores array is then shorter than the mirror and the ranker computes those rows itself.
/// Not thread-safe: the engine serialises calls.
/// </summary>
internal sealed class DeviceCatalog : IDisposable
{
    private readonly IScoringBackend _backend;
    private readonly CatalogMirror _mirror;
    private readonly string[] _names;
    private readonly ICatalogMatrix?[] _matrices;
    private long _version = -1;

    public DeviceCatalog(IScoringBackend backend, CatalogMirror mirror, params string[] vectorNames)
    {
        _backend = backend;
        _mirror = mirror;
        _names = vectorNames;
        _matrices = new ICatalogMatrix?[vectorNames.Length];
    }

    /// <summary>Syncs, then returns <c>query · row</c> for every row on the device (length = rows synced).</summary>
    public float[] Score(string vectorName, ReadOnlySpan<float> query)
    {
        Sync();
        var matrix = _matrices[Array.IndexOf(_names, vectorName)];
        if (matrix is null || matrix.Count == 0 || query.IsEmpty) return Array.Empty<float>();
        var scores = new float[matrix.Count];
        _backend.Score(query, matrix, scores);
        return scores;
    }

    private void Sync()
    {
        var changes = _mirror.TakeChanges();
        using var view = _mirror.EnterRead();
        bool reload = changes.FullReload || changes.Version != _version;
        for (int i = 0; i < _names.Length; i++)
        {
            int dim = view.Dimension(_names[i]);
            var matrix = _matrices[i];
            int rows = reload ? view.RowCount : changes.RowCount;
            rows = Math.Min(rows, view.RowCount);
            if (matrix is null || rows > matrix.Capacity || reload)
            {
                if (matrix is null || rows > matrix.Capacity)
                {
                    matrix?.Dispose();
                    matrix = _matrices[i] = _backend.CreateCatalog(dim, Math.Max(1024, rows * 2));
                }
                if (rows > 0) matrix.Upload(view.Matrix(_names[i])[..(rows * dim)]);
                continue;
            }
            if (changes.DirtyRows.Length == 0) continue;
            var source = view.Matrix(_names[i]);
            var values = new float[changes.DirtyRows.Length * dim];
            for (int j = 0; j < changes.DirtyRows.Length; j++)
                source.Slice(changes.DirtyRows[j] * dim, dim).CopyTo(values.AsSpan(j * dim));
            matrix.UpdateRows(changes.DirtyRows, values);
        }
        _version = changes.Version;
    }

    public void Dispose()
    {
        foreach (var m in _matrices) m?.Dispose();
    }
}
