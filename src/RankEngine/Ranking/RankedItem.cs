namespace RankEngine.Ranking;

/// <summary>How an item's score was made (explainability). <c>Total = Content + Collab + Σ Boosts</c>.</summary>
/// <param name="Content">The content term: content weight × (query · item content vector).</param>
/// <param name="Collab">The collaborative term: collab weight × the model's (or the collab vectors') score.</param>
/// <param name="Boosts">Each boost's term: weight × the item's value of that field (0 when it has none).</param>
public sealed record ScoreParts(float Content, float Collab, IReadOnlyList<KeyValuePair<string, float>> Boosts)
{
    /// <summary>The sum of the boost terms.</summary>
    public float BoostTotal
    {
        get
        {
            float s = 0;
            foreach (var b in Boosts) s += b.Value;
            return s;
        }
    }
}

/// <summary>One ranked item.</summary>
/// <param name="Id">The item id.</param>
/// <param name="Parts">The score's parts.</param>
/// <param name="Score">The hybrid relevance <c>U</c> (MMR changes the order, not this value).</param>
public sealed record RankedItem(string Id, float Score, ScoreParts Parts);
