using System.Collections.Concurrent;
using RankEngine.Store;

namespace RankEngine.Catalog;

/// <summary>
/// The item fields of one shard generation as columns, indexed by row: a numeric field is a column of doubles (NaN
/// where a row lacks it; doubles, not floats, so a filter bound compares exactly as the value was written); a string
/// or tag field keeps each row's value(s) for MMR and explanations, and a posting list of rows per distinct value
/// (case-insensitive), so an equality filter reads only the rows that have the value.
/// </summary>
/// <remarks>
/// Append-only, like the rows: a row's entries are written once, before the row is published, and never change, so
/// readers of any published version read them without a lock while one writer appends. Growing a column copies it
/// into a larger array; a reader keeps the array it loaded, whose first rows are the same.
/// </remarks>
internal sealed class FieldColumns
{
    private readonly ConcurrentDictionary<string, NumberColumn> _numbers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ValueColumn> _values = new(StringComparer.Ordinal);
    private int _capacity;

    public FieldColumns(int capacity) => _capacity = capacity;

    /// <summary>Names of every numeric field some row has (or had).</summary>
    public ICollection<string> NumberFields => _numbers.Keys;

    /// <summary>Names of every string or tag field some row has (or had).</summary>
    public ICollection<string> ValueFields => _values.Keys;

    /// <summary>Writer only: room for <paramref name="capacity"/> rows in every column.</summary>
    public void Grow(int capacity)
    {
        foreach (var column in _numbers.Values) column.Grow(capacity);
        foreach (var column in _values.Values) column.Grow(capacity);
        _capacity = capacity;
    }

    /// <summary>Writer only: records a new row's fields (the row is not yet visible to readers).</summary>
    public void Write(int row, IReadOnlyDictionary<string, FieldValue> fields)
    {
        foreach (var (name, value) in fields)
        {
            switch (value.Kind)
            {
                case FieldKind.Number:
                    _numbers.GetOrAdd(name, _ => new NumberColumn(_capacity)).Set(row, value.Number);
                    break;
                case FieldKind.String:
                    _values.GetOrAdd(name, _ => new ValueColumn(_capacity)).Set(row, value.Text!, null);
                    break;
                case FieldKind.Tags:
                    _values.GetOrAdd(name, _ => new ValueColumn(_capacity)).Set(row, null, value.TagList);
                    break;
            }
        }
    }

    /// <summary>The numeric column of a field, or null when no row has that field.</summary>
    public NumberColumn? Number(string field) => _numbers.TryGetValue(field, out var c) ? c : null;

    /// <summary>The string/tag column of a field, or null when no row has that field.</summary>
    public ValueColumn? Values(string field) => _values.TryGetValue(field, out var c) ? c : null;
}

/// <summary>One numeric field: a double per row, NaN where the row lacks the field.</summary>
internal sealed class NumberColumn
{
    private double[] _values;

    public NumberColumn(int capacity)
    {
        _values = new double[capacity];
        _values.AsSpan().Fill(double.NaN);
    }

    /// <summary>The current array (rows of any published version are final in it).</summary>
    public double[] Values => Volatile.Read(ref _values);

    public void Set(int row, double value) => _values[row] = value;

    public void Grow(int capacity)
    {
        if (capacity <= _values.Length) return;
        var grown = new double[capacity];
        _values.CopyTo(grown, 0);
        grown.AsSpan(_values.Length).Fill(double.NaN);
        Volatile.Write(ref _values, grown);
    }
}

/// <summary>One string or tag field: each row's value(s) and a posting list of rows per distinct value.</summary>
internal sealed class ValueColumn
{
    private static readonly string[] NoTags = [];
    private object?[] _rowValues; // string, IReadOnlyList<string> or null
    private readonly ConcurrentDictionary<string, PostingList> _postings = new(StringComparer.OrdinalIgnoreCase);

    public ValueColumn(int capacity) => _rowValues = new object?[capacity];

    public void Set(int row, string? text, IReadOnlyList<string>? tags)
    {
        _rowValues[row] = (object?)text ?? tags ?? NoTags;
        if (text is not null) Post(text, row);
        else
            foreach (var tag in tags!)
                Post(tag, row);
    }

    private void Post(string value, int row) => _postings.GetOrAdd(value, _ => new PostingList()).Append(row);

    public void Grow(int capacity)
    {
        if (capacity <= _rowValues.Length) return;
        var grown = new object?[capacity];
        _rowValues.CopyTo(grown, 0);
        Volatile.Write(ref _rowValues, grown);
    }

    /// <summary>The row's string value, or null when the field is not a string on that row.</summary>
    public string? StringOf(int row) => Volatile.Read(ref _rowValues)[row] as string;

    /// <summary>The row's tags, or null when the field is not a tag set on that row.</summary>
    public IReadOnlyList<string>? TagsOf(int row) => Volatile.Read(ref _rowValues)[row] as IReadOnlyList<string>;

    /// <summary>Rows whose value (or one of whose tags) equals <paramref name="value"/>, case-insensitively; ascending.</summary>
    public ReadOnlySpan<int> RowsWith(string value) => _postings.TryGetValue(value, out var list) ? list.Rows : default;
}

/// <summary>An append-only, ascending list of rows; readers see a consistent prefix while one writer appends.</summary>
internal sealed class PostingList
{
    private int[] _rows = new int[4];
    private int _count;

    public void Append(int row)
    {
        // A row lists a value once even when its tag set repeats it.
        if (_count > 0 && _rows[_count - 1] == row) return;
        if (_count == _rows.Length)
        {
            var grown = new int[_rows.Length * 2];
            _rows.CopyTo(grown, 0);
            Volatile.Write(ref _rows, grown);
        }
        _rows[_count] = row;
        Volatile.Write(ref _count, _count + 1);
    }

    /// <summary>The rows appended so far (count read first: the array read after it holds at least that many).</summary>
    public ReadOnlySpan<int> Rows
    {
        get
        {
            int count = Volatile.Read(ref _count);
            return Volatile.Read(ref _rows).AsSpan(0, count);
        }
    }
}
