namespace RankEngine.Ranking;

/// <summary>
/// What the ranker reads about items: a dense row space (rows may be deleted), vectors per row and fields.
/// Rows are stable between calls of one ranking; implementations must be safe for concurrent readers.
/// </summary>
public interface IRankingCatalog
{
    /// <summary>Row count including deleted rows.</summary>
    int RowCount { get; }
    /// <summary>Dimension of content (encoder) vectors; 0 when the catalog has none.</summary>
    int ContentDimension { get; }
    /// <summary>Dimension of collaborative vectors; 0 when the catalog has none.</summary>
    int CollabDimension { get; }

    bool IsLive(int row);
    string IdOf(int row);
    bool TryGetRow(string id, out int row);

    /// <summary>The row's unit content vector, or empty when the item has none.</summary>
    ReadOnlySpan<float> Content(int row);
    /// <summary>The row's collaborative vector, or empty when the item has none.</summary>
    ReadOnlySpan<float> Collab(int row);

    bool TryGetNumber(int row, string field, out double value);
    /// <summary>String field equal to <paramref name="value"/> (case-insensitive) or tag field containing it.</summary>
    bool FieldMatches(int row, string field, string value);
    /// <summary>The row's tags in a tag field, or null when it has none (diversity by metadata).</summary>
    IReadOnlyList<string>? TagsOf(int row, string field) => null;
}
