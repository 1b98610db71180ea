using RankEngine.Catalog;

namespace RankEngine.Ranking;

/// <summary>A condition an item must meet to be ranked.</summary>
public abstract record ItemFilter(string Field)
{
    /// <summary>Clears the bits of the rows that fail (a bitset over the snapshot's rows).</summary>
    internal abstract void Apply(ShardSnapshot snapshot, Span<ulong> mask);

    /// <summary>True when the row passes (the same rule as <see cref="Apply"/>, one row at a time).</summary>
    internal abstract bool Matches(ShardSnapshot snapshot, int row);

    /// <summary>
    /// Parses "field=value" (string equality or tag membership), "field&gt;=x", "field&lt;=x", "field&gt;x", "field&lt;x".
    /// </summary>
    public static ItemFilter Parse(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        foreach (var op in new[] { ">=", "<=", ">", "<", "=" })
        {
            int at = text.IndexOf(op, StringComparison.Ordinal);
            if (at <= 0) continue;
            string field = text[..at].Trim(), value = text[(at + op.Length)..].Trim();
            if (field.Length == 0) break;
            if (op == "=") return new EqualsFilter(field, value);
            if (!double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
                throw new ArgumentException($"filter '{text}': '{value}' is not a number");
            return op switch
            {
                ">=" => new RangeFilter(field, x, double.PositiveInfinity, true, true),
                ">" => new RangeFilter(field, x, double.PositiveInfinity, false, true),
                "<=" => new RangeFilter(field, double.NegativeInfinity, x, true, true),
                _ => new RangeFilter(field, double.NegativeInfinity, x, true, false),
            };
        }
        throw new ArgumentException($"filter '{text}' is not of the form field=value, field>=number or field<=number");
    }
}

/// <summary>String field equals the value (ordinal, case-insensitive), or the tag field contains it.</summary>
public sealed record EqualsFilter(string Field, string Value) : ItemFilter(Field)
{
    // The value's posting list: a bitset of its rows ANDed into the mask.
    internal override void Apply(ShardSnapshot snapshot, Span<ulong> mask)
    {
        var rows = snapshot.RowsWith(Field, Value);
        int words = mask.Length;
        int r = 0;
        for (int w = 0; w < words; w++)
        {
            ulong bits = 0;
            int end = (w + 1) << 6;
            while (r < rows.Length && rows[r] < end) bits |= 1UL << (rows[r++] & 63);
            mask[w] &= bits;
        }
    }

    internal override bool Matches(ShardSnapshot snapshot, int row)
    {
        if (snapshot.StringOf(row, Field) is { } s) return string.Equals(s, Value, StringComparison.OrdinalIgnoreCase);
        if (snapshot.TagsOf(row, Field) is { } tags)
            foreach (var t in tags)
                if (string.Equals(t, Value, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }
}

/// <summary>Numeric field within [Min, Max] (bounds inclusive or not); items without the field fail.</summary>
public sealed record RangeFilter(string Field, double Min, double Max, bool MinInclusive, bool MaxInclusive) : ItemFilter(Field)
{
    // A scan of the field's column; rows without the field hold NaN, which fails every comparison.
    internal override void Apply(ShardSnapshot snapshot, Span<ulong> mask)
    {
        var column = snapshot.NumberColumn(Field);
        if (column.IsEmpty)
        {
            mask.Clear();
            return;
        }
        for (int w = 0; w < mask.Length; w++)
        {
            ulong word = mask[w];
            if (word == 0) continue;
            int start = w << 6, end = Math.Min(column.Length, start + 64);
            ulong bits = 0;
            for (int row = start; row < end; row++)
                if (InRange(column[row])) bits |= 1UL << (row - start);
            mask[w] = word & bits;
        }
    }

    internal override bool Matches(ShardSnapshot snapshot, int row) =>
        snapshot.TryGetNumber(row, Field, out double v) && InRange(v);

    private bool InRange(double v) => (MinInclusive ? v >= Min : v > Min) && (MaxInclusive ? v <= Max : v < Max);
}
