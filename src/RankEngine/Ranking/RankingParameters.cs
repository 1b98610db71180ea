namespace RankEngine.Ranking;

/// <summary>
/// Per-query weights of the hybrid score <c>U = w_e·(u·e_i) + w_c·(u_c·c_i) + Σ_f b_f·x_{i,f}</c> and the MMR
/// diversity weight. Validated before use: NaN or infinite weights are errors.
/// </summary>
public sealed record RankingParameters
{
    /// <summary>w_e: weight of the encoder (content) similarity.</summary>
    public float ContentWeight { get; init; } = 1f;
    /// <summary>w_c: weight of the collaborative similarity.</summary>
    public float CollabWeight { get; init; } = 1f;
    /// <summary>b_f: per numeric field (e.g. "popularity", "recency"), added as b_f × the item's value (missing = 0).</summary>
    public IReadOnlyDictionary<string, float> Boosts { get; init; } = new Dictionary<string, float>();
    /// <summary>
    /// λ in [0, 1]: 0 ranks by relevance only; larger values trade relevance for diversity (MMR:
    /// <c>(1 − λ)·rel − λ·max sim to already chosen</c>, with relevance min-max scaled to [0, 1] over the pool).
    /// </summary>
    public float Diversity { get; init; }

    /// <summary>The defaults: content and collaborative weight 1, no boosts, no diversity.</summary>
    public static RankingParameters Default { get; } = new();

    /// <exception cref="ArgumentException">A weight is NaN/infinite or λ is outside [0, 1].</exception>
    public void Validate()
    {
        if (!float.IsFinite(ContentWeight)) throw new ArgumentException("content weight must be a finite number");
        if (!float.IsFinite(CollabWeight)) throw new ArgumentException("collab weight must be a finite number");
        foreach (var (field, w) in Boosts)
        {
            if (string.IsNullOrEmpty(field)) throw new ArgumentException("a boost names no field");
            if (!float.IsFinite(w)) throw new ArgumentException($"boost weight for '{field}' must be a finite number");
        }
        if (!(Diversity >= 0f && Diversity <= 1f)) throw new ArgumentException($"diversity λ must be in [0, 1], got {Diversity}");
    }
}
