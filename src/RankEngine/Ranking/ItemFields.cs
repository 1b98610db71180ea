namespace RankEngine.Ranking;

/// <summary>Typed fields of an item: numbers, strings and tag sets, by field name.</summary>
internal sealed record ItemFields
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

