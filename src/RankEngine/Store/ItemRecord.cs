namespace RankEngine.Store;

/// <summary>
/// An item: its id, one or more named vectors (names and dimensions from the <see cref="StoreSchema"/>), typed fields
/// and optional text. Writes validate every part against <see cref="StoreLimits"/> and the schema; a read returns a
/// new instance the caller owns.
/// </summary>
public sealed class ItemRecord
{
    /// <summary>Creates an empty item with the given id.</summary>
    public ItemRecord(string id) => Id = id;

    /// <summary>The item id: non-empty, at most <see cref="StoreLimits.MaxIdBytes"/> UTF-8 bytes.</summary>
    public string Id { get; }

    /// <summary>Vectors by schema name. fp16 vectors are given and returned as floats (rounded to fp16 when stored).</summary>
    public Dictionary<string, float[]> Vectors { get; } = new(StringComparer.Ordinal);

    /// <summary>Typed fields by name.</summary>
    public Dictionary<string, FieldValue> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>Optional free text (for example the text the content vector was encoded from).</summary>
    public string? Text { get; set; }
}
