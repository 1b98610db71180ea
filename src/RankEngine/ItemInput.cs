using RankEngine.Store;

namespace RankEngine;

/// <summary>An item to add: text to encode and/or vectors given directly, plus fields.</summary>
public sealed record ItemInput(string Id)
{
    /// <summary>Text encoded into the content vector (ignored when <see cref="ContentVector"/> is set).</summary>
    public string? Text { get; init; }
    /// <summary>Content vector given directly (<see cref="RankingEngine.ContentDimension"/> wide; normalised to unit length).</summary>
    public float[]? ContentVector { get; init; }
    /// <summary>Collaborative vector given directly; not allowed when collaborative vectors are disabled.</summary>
    public float[]? CollabVector { get; init; }
    /// <summary>Named field values, used by filters, boosts and diversity.</summary>
    public IReadOnlyDictionary<string, FieldValue> Fields { get; init; } = new Dictionary<string, FieldValue>();
}
