namespace RankEngine.Store;

/// <summary>Element type of a stored vector. Persisted (schema file): values are append-only.</summary>
internal enum VectorElementType : byte
{
    /// <summary>IEEE 754 binary32, 4 bytes per element.</summary>
    Float32 = 1,

    /// <summary>IEEE 754 binary16, 2 bytes per element; values are rounded on write and must fit ±65504.</summary>
    Float16 = 2,
}

/// <summary>One named vector of the schema: every item and user vector under this name has this dimension and type.</summary>
/// <param name="Name">Name, 1–64 ASCII letters, digits, '_', '-' or '.'.</param>
/// <param name="Dimension">Number of elements, 1–<see cref="StoreLimits.MaxDimension"/>.</param>
/// <param name="ElementType">How elements are stored.</param>
internal sealed record VectorSpec(string Name, int Dimension, VectorElementType ElementType = VectorElementType.Float32)
{
    /// <summary>Bytes one stored vector occupies (before 4-byte alignment).</summary>
    public int StoredBytes => Dimension * (ElementType == VectorElementType.Float16 ? 2 : 4);

    /// <summary>Short text such as <c>content(384, fp32)</c>.</summary>
    public override string ToString() => $"{Name}({Dimension}, {(ElementType == VectorElementType.Float16 ? "fp16" : "fp32")})";
}
