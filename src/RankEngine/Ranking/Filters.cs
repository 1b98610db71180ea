namespace RankEngine.Ranking;

/// <summary>A condition an item must meet to be ranked.</summary>
public abstract record ItemFilter(string Field)
{
    public abstract bool Matches(IRankingCatalog catalog, int row);

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
    public override bool Matches(IRankingCatalog catalog, int row) => catalog.FieldMatches(row, Field, Value);
}

/// <summary>Numeric field within [Min, Max] (bounds inclusive or not); items without the field fail.</summary>
public sealed record RangeFilter(string Field, double Min, double Max, bool MinInclusive, bool MaxInclusive) : ItemFilter(Field)
{
    public override bool Matches(IRankingCatalog catalog, int row)
    {
        if (!catalog.TryGetNumber(row, Field, out double v)) return false;
        bool lower = MinInclusive ? v >= Min : v > Min;
        bool upper = MaxInclusive ? v <= Max : v < Max;
        return lower && upper;
    }
}
