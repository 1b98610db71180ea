using RankEngine.Store;

namespace RankEngine.Ranking;

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
