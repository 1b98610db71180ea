using RankEngine.Models;

namespace RankEngine.Ranking;

/// <summary>
/// The parameters one request ranks with: its A/B bucket's (or, when no experiment is configured, the trained
/// model's tuned defaults), overridden by whatever the request sets. Validated before use.
/// </summary>
internal static class RankParameterResolver
{
    /// <summary>Field used to rank for cold-start users without a query (and the tuned popularity boost).</summary>
    public const string PopularityField = "popularity";

    /// <exception cref="ArgumentException">A weight is NaN or infinite, or λ is outside [0, 1].</exception>
    public static RankingParameters Resolve(RankRequest request, Experiment experiment, int bucketIndex, bool usesTunedDefaults, RankingModel? model)
    {
        var p = experiment.Buckets[Math.Max(0, bucketIndex)].Parameters;
        if (usesTunedDefaults && model is not null) p = Tuned(model);
        var boosts = new Dictionary<string, float>(p.Boosts);
        if (request.Boosts is not null)
            foreach (var (k, v) in request.Boosts) boosts[k] = v;
        p = p with
        {
            ContentWeight = request.ContentWeight ?? p.ContentWeight,
            CollabWeight = request.CollabWeight ?? p.CollabWeight,
            Diversity = request.Diversity ?? p.Diversity,
            Boosts = boosts,
        };
        p.Validate();
        return p;
    }

    /// <summary>The ranking parameters training chose on validation (diversity stays off unless asked for).</summary>
    private static RankingParameters Tuned(RankingModel model)
    {
        var d = model.Description.Defaults;
        var boosts = new Dictionary<string, float>();
        if (d.PopularityBoost != 0) boosts[PopularityField] = d.PopularityBoost;
        return new RankingParameters { ContentWeight = d.ContentWeight, CollabWeight = d.CollabWeight, Boosts = boosts, Diversity = 0 };
    }
}
