using RankEngine.Store;

namespace RankEngine.Ranking;

/// <summary>How much each event kind pulls the user vector towards (positive) or away from (negative) the item.</summary>
public sealed record EventWeights
{
    /// <summary>Weight of a view.</summary>
    public float View { get; init; } = 0.25f;
    /// <summary>Weight of a click.</summary>
    public float Click { get; init; } = 1f;
    /// <summary>Weight of a like.</summary>
    public float Like { get; init; } = 2f;
    /// <summary>Weight of a dislike (negative: pushes away).</summary>
    public float Dislike { get; init; } = -2f;
    /// <summary>Weight of a purchase.</summary>
    public float Purchase { get; init; } = 3f;
    /// <summary>Weight of a skip (negative: pushes away).</summary>
    public float Skip { get; init; } = -0.5f;

    /// <summary>The default weights (view 0.25, click 1, like 2, dislike −2, purchase 3, skip −0.5).</summary>
    public static EventWeights Default { get; } = new();

    /// <summary>The weight of one event kind.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The kind is not a defined <see cref="UserEventKind"/>.</exception>
    public float For(UserEventKind kind) => kind switch
    {
        UserEventKind.View => View,
        UserEventKind.Click => Click,
        UserEventKind.Like => Like,
        UserEventKind.Dislike => Dislike,
        UserEventKind.Purchase => Purchase,
        UserEventKind.Skip => Skip,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown event kind"),
    };

    /// <summary>Parses "view", "click", … (case-insensitive); false for anything else, numbers included.</summary>
    public static bool TryParseKind(string? text, out UserEventKind kind)
    {
        kind = default;
        return !string.IsNullOrEmpty(text) && char.IsLetter(text[0]) && Enum.TryParse(text, ignoreCase: true, out kind) && Enum.IsDefined(kind);
    }
}
