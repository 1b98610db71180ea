using System.Numerics.Tensors;

namespace RankEngine.Ranking;

/// <summary>Typed fields of an item: numbers, strings and tag sets, by field name.</summary>
public sealed record ItemFields
{
    public IReadOnlyDictionary<string, double> Numbers { get; init; } = new Dictionary<string, double>();
    public IReadOnlyDictionary<string, string> Strings { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Tags { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    public static ItemFields Empty { get; } = new();

    /// <summary>String field <paramref name="field"/> equals <paramref name="value"/>, or tag field contains it (case-insensitive).</summary>
    public bool Matches(string field, string value)
    {
        if (Strings.TryGetValue(field, out var s) && string.Equals(s, value, StringComparison.OrdinalIgnoreCase)) return true;
        if (Tags.TryGetValue(field, out var tags))
            foreach (var t in tags)
                if (string.Equals(t, value, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}

/// <summary>
/// The in-memory ranking view of all items: a dense row space with content vectors (unit length), collaborative
/// vectors and fields. Upserts reuse an item's row; deletes leave a tombstone row that <see cref="Compact"/> removes.
/// Writers take a write lock per change; readers take none, so a ranking must not run while the catalog is written
/// (the evaluator alternates fitting and ranking). The engine ranks from the store's catalog mirror instead.
/// </summary>
public sealed class ItemCatalog : IRankingCatalog
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _rows = new(StringComparer.Ordinal);
    private readonly List<string> _ids = new();
    private readonly List<bool> _live = new();
    private readonly List<ItemFields> _fields = new();
    private float[] _content = Array.Empty<float>();
    private float[] _collab = Array.Empty<float>();
    private readonly List<bool> _hasContent = new();
    private readonly List<bool> _hasCollab = new();

    public int ContentDimension { get; }
    public int CollabDimension { get; }
    public int RowCount => _ids.Count;
    /// <summary>Live (not deleted) items.</summary>
    public int LiveCount { get; private set; }

    public ItemCatalog(int contentDimension, int collabDimension)
    {
        if (contentDimension < 0 || collabDimension < 0) throw new ArgumentOutOfRangeException(nameof(contentDimension));
        ContentDimension = contentDimension;
        CollabDimension = collabDimension;
    }

    /// <summary>Adds or replaces an item. Empty spans mean "no such vector"; a given content vector is normalised.</summary>
    public void Upsert(string id, ReadOnlySpan<float> content, ReadOnlySpan<float> collab, ItemFields? fields)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (!content.IsEmpty && content.Length != ContentDimension)
            throw new ArgumentException($"item '{id}': content vector has {content.Length} dimensions, expected {ContentDimension}");
        if (!collab.IsEmpty && collab.Length != CollabDimension)
            throw new ArgumentException($"item '{id}': collab vector has {collab.Length} dimensions, expected {CollabDimension}");
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.TryGetValue(id, out int row))
            {
                row = _ids.Count;
                _rows[id] = row;
                _ids.Add(id);
                _live.Add(true);
                _fields.Add(ItemFields.Empty);
                _hasContent.Add(false);
                _hasCollab.Add(false);
                EnsureCapacity(row + 1);
                LiveCount++;
            }
            else if (!_live[row])
            {
                _live[row] = true;
                LiveCount++;
            }
            _fields[row] = fields ?? ItemFields.Empty;
            _hasContent[row] = !content.IsEmpty;
            if (!content.IsEmpty)
            {
                var dst = _content.AsSpan(row * ContentDimension, ContentDimension);
                float norm = TensorPrimitives.Norm(content);
                if (norm > 0) TensorPrimitives.Multiply(content, 1f / norm, dst); else content.CopyTo(dst);
            }
            _hasCollab[row] = !collab.IsEmpty;
            if (!collab.IsEmpty) collab.CopyTo(_collab.AsSpan(row * CollabDimension, CollabDimension));
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Sets only the collaborative vector of an existing item.</summary>
    public bool SetCollab(string id, ReadOnlySpan<float> collab)
    {
        if (collab.Length != CollabDimension) throw new ArgumentException($"collab vector has {collab.Length} dimensions, expected {CollabDimension}");
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.TryGetValue(id, out int row) || !_live[row]) return false;
            collab.CopyTo(_collab.AsSpan(row * CollabDimension, CollabDimension));
            _hasCollab[row] = true;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Replaces the fields of an existing item; false if it is not there.</summary>
    public bool SetFields(string id, ItemFields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.TryGetValue(id, out int row) || !_live[row]) return false;
            _fields[row] = fields;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Marks an item deleted; false if it was not there.</summary>
    public bool Delete(string id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.TryGetValue(id, out int row) || !_live[row]) return false;
            _live[row] = false;
            LiveCount--;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Drops tombstone rows; row numbers change.</summary>
    public void Compact()
    {
        _lock.EnterWriteLock();
        try
        {
            int write = 0;
            for (int read = 0; read < _ids.Count; read++)
            {
                if (!_live[read]) { _rows.Remove(_ids[read]); continue; }
                if (write != read)
                {
                    _ids[write] = _ids[read];
                    _fields[write] = _fields[read];
                    _hasContent[write] = _hasContent[read];
                    _hasCollab[write] = _hasCollab[read];
                    _live[write] = true;
                    _content.AsSpan(read * ContentDimension, ContentDimension).CopyTo(_content.AsSpan(write * ContentDimension));
                    _collab.AsSpan(read * CollabDimension, CollabDimension).CopyTo(_collab.AsSpan(write * CollabDimension));
                    _rows[_ids[write]] = write;
                }
                write++;
            }
            int removed = _ids.Count - write;
            _ids.RemoveRange(write, removed);
            _fields.RemoveRange(write, removed);
            _hasContent.RemoveRange(write, removed);
            _hasCollab.RemoveRange(write, removed);
            _live.RemoveRange(write, removed);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private void EnsureCapacity(int rows)
    {
        if ((long)rows * ContentDimension > _content.Length)
            Array.Resize(ref _content, (int)Math.Max((long)rows * ContentDimension, Math.Min(int.MaxValue / 2, 2L * _content.Length)));
        if ((long)rows * CollabDimension > _collab.Length)
            Array.Resize(ref _collab, (int)Math.Max((long)rows * CollabDimension, Math.Min(int.MaxValue / 2, 2L * _collab.Length)));
    }

    public bool IsLive(int row) => _live[row];
    public string IdOf(int row) => _ids[row];
    public bool TryGetRow(string id, out int row) => _rows.TryGetValue(id, out row) && _live[row];

    public ReadOnlySpan<float> Content(int row) =>
        _hasContent[row] ? _content.AsSpan(row * ContentDimension, ContentDimension) : ReadOnlySpan<float>.Empty;

    public ReadOnlySpan<float> Collab(int row) =>
        _hasCollab[row] ? _collab.AsSpan(row * CollabDimension, CollabDimension) : ReadOnlySpan<float>.Empty;

    public bool TryGetNumber(int row, string field, out double value) => _fields[row].Numbers.TryGetValue(field, out value);

    public bool FieldMatches(int row, string field, string value) => _fields[row].Matches(field, value);
}
