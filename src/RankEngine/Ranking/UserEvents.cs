namespace RankEngine.Ranking;

/// <summary>
/// Kinds of user feedback. The numeric values are persisted (event logs, user records): append new kinds,
/// never renumber (frozen by a golden test).
/// </summary>
public enum EventKind : byte
{
    View = 1,
    Click = 2,
    Like = 3,
    Dislike = 4,
    Purchase = 5,
    Skip = 6,
}

/// <summary>One feedback event: a user did <see cref="Kind"/> to an item at <see cref="Timestamp"/>.</summary>
/// <param name="ItemId">The item.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Weight">Multiplier on the kind's weight (e.g. a rating strength); 1 by default, must be finite and ≥ 0.</param>
/// <param name="Timestamp">Unix time in seconds.</param>
public readonly record struct UserEvent(string ItemId, EventKind Kind, float Weight, long Timestamp);

/// <summary>How much each event kind pulls the user vector towards (positive) or away from (negative) the item.</summary>
public sealed record EventWeights
{
    public float View { get; init; } = 0.25f;
    public float Click { get; init; } = 1f;
    public float Like { get; init; } = 2f;
    public float Dislike { get; init; } = -2f;
    public float Purchase { get; init; } = 3f;
    public float Skip { get; init; } = -0.5f;

    public static EventWeights Default { get; } = new();

    public float For(EventKind kind) => kind switch
    {
        EventKind.View => View,
        EventKind.Click => Click,
        EventKind.Like => Like,
        EventKind.Dislike => Dislike,
        EventKind.Purchase => Purchase,
        EventKind.Skip => Skip,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown event kind"),
    };

    /// <summary>Parses "view", "click", … (case-insensitive).</summary>
    public static bool TryParseKind(string? text, out EventKind kind) =>
        Enum.TryParse(text, ignoreCase: true, out kind) && Enum.IsDefined(kind);
}
