using RankEngine.Store;

namespace RankEngine.Catalog;

/// <summary>
/// One published version of a <see cref="CatalogShard"/>: immutable for its holder, however the shard is written or
/// compacted meanwhile, and needing no lock or release. Rows are numbered within the snapshot's generation; a row
/// number means the same item with the same vectors and fields for as long as the snapshot is held.
/// </summary>
internal sealed class ShardSnapshot
{
    private readonly ShardGeneration _generation;
    private readonly string?[] _ids;
    private readonly long[] _died;
    private readonly float[][] _vectors;
    private readonly ulong[][] _present;
    private readonly sbyte[]? _int8;
    private readonly float[]? _int8Scales;
    private readonly int[]? _int8Sums;
    private readonly Half[]? _half;

    private ShardSnapshot(ShardGeneration generation, long version, int liveCount)
    {
        _generation = generation;
        Version = version;
        LiveCount = liveCount;
        RowCount = generation.RowCount;
        _ids = generation.Ids;
        _died = generation.Died;
        _vectors = generation.Vectors;
        _present = generation.Present;
        if (generation.Quantized is Int8Matrix q)
        {
            _int8 = q.Values;
            _int8Scales = q.Scales;
            _int8Sums = q.Sums;
        }
        else if (generation.Quantized is HalfMatrix h) _half = h.Values;
    }

    internal static ShardSnapshot Capture(ShardGeneration generation, long version, int liveCount) => new(generation, version, liveCount);

    /// <summary>The shard version this snapshot shows (one per write or compaction).</summary>
    public long Version { get; }

    /// <summary>Generation number: changes with each compaction (rows were renumbered in the new one).</summary>
    public int Generation => _generation.Number;

    /// <summary>Rows below this number exist in the snapshot, visible or not.</summary>
    public int RowCount { get; }

    /// <summary>Items visible in this snapshot.</summary>
    public int LiveCount { get; }

    public StoreSchema Schema => _generation.Schema;

    /// <summary>True when row <paramref name="row"/> shows an item in this version.</summary>
    public bool IsVisible(int row) => (uint)row < (uint)RowCount && _died[row] > Version;

    /// <summary>The visibility-interval ends of every row (visible at this version when greater than <see cref="Version"/>).</summary>
    internal long[] DiedArray => _died;

    /// <summary>The row's item id (also for a row no longer visible).</summary>
    public string IdOf(int row) => _ids[row]!;

    /// <summary>The row that shows <paramref name="id"/> in this version; false when the item is not in it.</summary>
    public bool TryGetRow(string id, out int row)
    {
        row = -1;
        if (!_generation.NewestRow.TryGetValue(id, out int r)) return false;
        // Rows past this snapshot were appended later: walk back to the one this version saw.
        var previous = Volatile.Read(ref _generation.Previous);
        while (r >= RowCount) r = previous[r];
        if (r < 0 || !IsVisible(r)) return false;
        row = r;
        return true;
    }

    /// <summary>The vector slot with an int8 or fp16 copy for quantised scans, or −1.</summary>
    public int QuantizedSlot => _generation.Quantized?.Slot ?? -1;

    /// <summary>How <see cref="QuantizedSlot"/> is kept: Int8, Fp16, or None when no slot is.</summary>
    public CatalogQuantization QuantizedFormat => _generation.Quantized?.Format ?? CatalogQuantization.None;

    /// <summary>The int8 copy (rows <see cref="Int8Matrix.Stride"/> bytes apart), per-row scales and sums; arrays of this version.</summary>
    internal (sbyte[] Values, float[] Scales, int[] Sums, int Stride) Int8 =>
        (_int8 ?? throw new InvalidOperationException("this shard keeps no int8 copy"), _int8Scales!, _int8Sums!, ((Int8Matrix)_generation.Quantized!).Stride);

    /// <summary>The fp16 copy (row-major, rows one dimension apart); the array of this version.</summary>
    internal Half[] Fp16 => _half ?? throw new InvalidOperationException("this shard keeps no fp16 copy");

    /// <summary>The fp32 matrix of a schema vector: <see cref="RowCount"/> × dimension, row-major; rows without the vector are zero.</summary>
    public ReadOnlySpan<float> Matrix(int slot) => _vectors[slot].AsSpan(0, RowCount * _generation.Schema.Vectors[slot].Dimension);

    /// <summary>The backing array of <see cref="Matrix"/> (pinned; rows past <see cref="RowCount"/> are not this version's).</summary>
    internal float[] MatrixArray(int slot) => _vectors[slot];

    /// <summary>Row <paramref name="row"/> of a schema vector, or empty when the item has none.</summary>
    public ReadOnlySpan<float> Vector(int slot, int row)
    {
        if (!HasVector(slot, row)) return default;
        int dim = _generation.Schema.Vectors[slot].Dimension;
        return _vectors[slot].AsSpan(row * dim, dim);
    }

    public bool HasVector(int slot, int row) => (uint)row < (uint)RowCount && (_present[slot][row >> 6] & (1UL << (row & 63))) != 0;

    /// <summary>The numeric column of a field (NaN where a row lacks it), or empty when no row has the field.</summary>
    public ReadOnlySpan<double> NumberColumn(string field) =>
        _generation.Columns.Number(field) is { } c ? c.Values.AsSpan(0, RowCount) : default;

    /// <summary>The backing array of <see cref="NumberColumn"/>, or null (rows past <see cref="RowCount"/> are not this version's).</summary>
    internal double[]? NumberColumnArray(string field) => _generation.Columns.Number(field)?.Values;

    public bool TryGetNumber(int row, string field, out double value)
    {
        value = 0;
        if (_generation.Columns.Number(field) is not { } c) return false;
        value = c.Values[row];
        return !double.IsNaN(value);
    }

    /// <summary>The row's string value of a field, or null.</summary>
    public string? StringOf(int row, string field) => _generation.Columns.Values(field)?.StringOf(row);

    /// <summary>The row's tags in a tag field, or null when it has none.</summary>
    public IReadOnlyList<string>? TagsOf(int row, string field) => _generation.Columns.Values(field)?.TagsOf(row);

    /// <summary>
    /// Rows (of any visibility, ascending) whose string field equals <paramref name="value"/> or whose tag field
    /// contains it, case-insensitively; rows past <see cref="RowCount"/> are cut off.
    /// </summary>
    public ReadOnlySpan<int> RowsWith(string field, string value)
    {
        if (_generation.Columns.Values(field) is not { } c) return default;
        var rows = c.RowsWith(value);
        int n = rows.Length;
        while (n > 0 && rows[n - 1] >= RowCount) n--;
        return rows[..n];
    }

    /// <summary>True when some row has (or had) a field of this name.</summary>
    public bool HasField(string field) => _generation.Columns.Number(field) is not null || _generation.Columns.Values(field) is not null;

    /// <summary>Names of the tag and string fields.</summary>
    public ICollection<string> ValueFieldNames => _generation.Columns.ValueFields;

    /// <summary>Rebuilds a row's fields (compaction copies them into the next generation).</summary>
    internal void CopyFields(int row, Dictionary<string, FieldValue> into)
    {
        into.Clear();
        foreach (var name in _generation.Columns.NumberFields)
            if (TryGetNumber(row, name, out double v)) into[name] = FieldValue.Num(v);
        foreach (var name in _generation.Columns.ValueFields)
        {
            var column = _generation.Columns.Values(name)!;
            if (column.StringOf(row) is { } s) into[name] = FieldValue.String(s);
            else if (column.TagsOf(row) is { } tags) into[name] = FieldValue.Tags(tags as string[] ?? tags.ToArray());
        }
    }
}
