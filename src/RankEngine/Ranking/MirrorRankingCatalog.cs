using RankEngine.Store;

namespace RankEngine.Ranking;

/// <summary>
/// The ranker's view of a store: vectors straight from the <see cref="CatalogMirror"/> (held under its read lock
/// for the lifetime of this object) and fields from the engine's field table. Dispose to release the lock.
/// </summary>
internal sealed class MirrorRankingCatalog : IRankingCatalog, IDisposable
{
    public const string ContentVector = "content";
    public const string CollabVector = "collab";

    private readonly CatalogMirror.CatalogView _view;
    private readonly IReadOnlyDictionary<string, ItemFields> _fields;
    private readonly bool _hasCollab;

    public MirrorRankingCatalog(CatalogMirror mirror, IReadOnlyDictionary<string, ItemFields> fields)
    {
        _view = mirror.EnterRead();
        _fields = fields;
        ContentDimension = _view.Dimension(ContentVector);
        _hasCollab = mirror.Schema.TryGetSlot(CollabVector, out _);
        CollabDimension = _hasCollab ? _view.Dimension(CollabVector) : 0;
    }

    public int RowCount => _view.RowCount;
    /// <summary>The mirror's change count this view sees.</summary>
    public long ChangeCount => _view.ChangeCount;
    public int ContentDimension { get; }
    public int CollabDimension { get; }

    public bool IsLive(int row) => _view.IsLive(row);
    public string IdOf(int row) => _view.Ids[row] ?? "";
    public bool TryGetRow(string id, out int row) => _view.TryGetRow(id, out row) && _view.IsLive(row);

    public ReadOnlySpan<float> Content(int row) =>
        _view.HasVector(row, ContentVector) ? _view.Matrix(ContentVector).Slice(row * ContentDimension, ContentDimension) : default;

    public ReadOnlySpan<float> Collab(int row) =>
        _hasCollab && _view.HasVector(row, CollabVector) ? _view.Matrix(CollabVector).Slice(row * CollabDimension, CollabDimension) : default;

    public bool TryGetNumber(int row, string field, out double value)
    {
        value = 0;
        return _fields.TryGetValue(IdOf(row), out var f) && f.Numbers.TryGetValue(field, out value);
    }

    public bool FieldMatches(int row, string field, string value) =>
        _fields.TryGetValue(IdOf(row), out var f) && f.Matches(field, value);

    public IReadOnlyList<string>? TagsOf(int row, string field) =>
        _fields.TryGetValue(IdOf(row), out var f) && f.Tags.TryGetValue(field, out var tags) ? tags : null;

    public void Dispose() => _view.Dispose();
}
