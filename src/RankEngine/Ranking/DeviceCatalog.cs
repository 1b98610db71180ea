using RankEngine.Compute;
using RankEngine.Models;
using RankEngine.Store;

namespace RankEngine.Ranking;

/// <summary>
/// Keeps backend-resident copies (<see cref="ICatalogMatrix"/>) of the store's catalog mirror, one per vector name,
/// plus the served model's output factors aligned with the mirror's rows, and scores queries against them on the
/// backend (SIMD CPU or CUDA). <see cref="Sync"/> applies what changed in the mirror since the last call
/// (<see cref="CatalogMirror.TakeChanges"/>): dirty rows incrementally, everything after a compaction, a model swap or
/// when the capacity must grow; <see cref="SyncedChangeCount"/> tells the caller which catalog version the scores are
/// of. Not thread-safe: the engine serialises calls.
/// </summary>
internal sealed class DeviceCatalog : IDisposable
{
    private readonly IScoringBackend _backend;
    private readonly CatalogMirror _mirror;
    private readonly string[] _names;
    private readonly ICatalogMatrix?[] _matrices;
    private long _version = -1;
    private RankingModel? _model;
    private RankingModel? _modelOnDevice;
    private ICatalogMatrix? _modelMatrix;

    /// <summary>The mirror's change count the device copies reflect (see <see cref="CatalogMirror.CatalogView.ChangeCount"/>).</summary>
    public long SyncedChangeCount { get; private set; } = -1;

    /// <summary>
    /// Serves this model's scores from the next sync on: a device matrix with the model's output factor for every
    /// catalog row (learned, or predicted from the row's content vector), kept in step like the others.
    /// </summary>
    public void SetModel(RankingModel? model) => _model = model;

    public DeviceCatalog(IScoringBackend backend, CatalogMirror mirror, params string[] vectorNames)
    {
        _backend = backend;
        _mirror = mirror;
        _names = vectorNames;
        _matrices = new ICatalogMatrix?[vectorNames.Length];
    }

    /// <summary><c>query · row</c> for every row as of the last <see cref="Sync"/>.</summary>
    public float[] ScoreSynced(string vectorName, ReadOnlySpan<float> query)
    {
        var matrix = _matrices[Array.IndexOf(_names, vectorName)];
        if (matrix is null || matrix.Count == 0 || query.IsEmpty) return Array.Empty<float>();
        var scores = new float[matrix.Count];
        _backend.Score(query, matrix, scores);
        return scores;
    }

    /// <summary>Model scores <c>userVector · output_row</c> for every row as of the last <see cref="Sync"/>.</summary>
    public float[] ScoreModelSynced(ReadOnlySpan<float> userVector)
    {
        if (_modelMatrix is null || _modelMatrix.Count == 0 || userVector.Length != _modelMatrix.Dimension) return Array.Empty<float>();
        var scores = new float[_modelMatrix.Count];
        _backend.Score(userVector, _modelMatrix, scores);
        return scores;
    }

    /// <summary>Applies what changed in the mirror since the last call to every device copy.</summary>
    public void Sync()
    {
        var changes = _mirror.TakeChanges();
        using var view = _mirror.EnterRead();
        SyncModel(view, changes);
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
        SyncedChangeCount = changes.ChangeCount;
    }

    private void SyncModel(CatalogMirror.CatalogView view, CatalogChanges changes)
    {
        var model = _model;
        if (model is null)
        {
            _modelMatrix?.Dispose();
            _modelMatrix = null;
            _modelOnDevice = null;
            return;
        }
        int r = model.Rank;
        int rows = Math.Min(changes.FullReload || changes.Version != _version ? view.RowCount : changes.RowCount, view.RowCount);
        bool rebuild = changes.FullReload || changes.Version != _version || !ReferenceEquals(model, _modelOnDevice)
                       || _modelMatrix is null || _modelMatrix.Dimension != r || rows > _modelMatrix.Capacity;
        int d = view.Dimension(MirrorRankingCatalog.ContentVector);
        void Fill(int row, Span<float> destination) => FillModelRow(view, model, view.Matrix(MirrorRankingCatalog.ContentVector), d, row, destination);
        if (rebuild)
        {
            if (_modelMatrix is null || _modelMatrix.Dimension != r || rows > _modelMatrix.Capacity)
            {
                _modelMatrix?.Dispose();
                _modelMatrix = _backend.CreateCatalog(r, Math.Max(1024, rows * 2));
            }
            var all = new float[rows * r];
            for (int row = 0; row < rows; row++) Fill(row, all.AsSpan(row * r, r));
            _modelMatrix.Upload(all);
            _modelOnDevice = model;
            return;
        }
        if (changes.DirtyRows.Length == 0) return;
        var values = new float[changes.DirtyRows.Length * r];
        for (int j = 0; j < changes.DirtyRows.Length; j++) Fill(changes.DirtyRows[j], values.AsSpan(j * r, r));
        _modelMatrix!.UpdateRows(changes.DirtyRows, values);
    }

    private static void FillModelRow(CatalogMirror.CatalogView view, RankingModel model, ReadOnlySpan<float> content, int d, int row, Span<float> destination)
    {
        string? id = view.Ids[row];
        if (id is null || !model.TryOutputFor(id, content.Slice(row * d, d), destination)) destination.Clear();
        // A factor predicted from odd content must not poison a scan with NaN.
        for (int j = 0; j < destination.Length; j++)
            if (!float.IsFinite(destination[j])) { destination.Clear(); break; }
    }

    public void Dispose()
    {
        foreach (var m in _matrices) m?.Dispose();
        _modelMatrix?.Dispose();
    }
}
