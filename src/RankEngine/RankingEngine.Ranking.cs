using RankEngine.Catalog;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

public sealed partial class RankingEngine
{
    /// <summary>Field used to rank for cold-start users without a query.</summary>
    public const string PopularityField = RankParameterResolver.PopularityField;

    /// <summary>
    /// Ranks items for a user and/or a query text: hybrid score, filters, exclusion of seen items, MMR. Unknown
    /// users fall back to the query alone or to popularity, and the response says so.
    /// </summary>
    /// <param name="request">Who to rank for, how many, and the request's filters and overrides.</param>
    /// <exception cref="ArgumentOutOfRangeException">k is not in 1..4096.</exception>
    /// <exception cref="ArgumentException">A weight is NaN or infinite, or λ is outside [0, 1].</exception>
    public RankResponse Rank(RankRequest request)
    {
        RankPipeline.Check(request);

        // The model and one version of the catalog are read once: a refit or a write meanwhile changes neither.
        var model = _model;
        UserRecord? user = null;
        if (!string.IsNullOrEmpty(request.UserId)) _store.TryGetUser(request.UserId, out user);
        var snapshot = _store.Catalog.Snapshot();
        using var catalog = new SnapshotRankCatalog(snapshot, s => model is null ? null : _factorCaches[s].For(snapshot.Shards[s], model),
            _deviceCopies, _contentSlot, _collabSlot);
        return RankPipeline.Run(request, new RankContext(Experiment, UsesTunedDefaults, model, EncodeQuery), user, catalog);
    }

    private float[] EncodeQuery(string text) => Encode([text]).Vector(0).ToArray();

    /// <summary>Scores given items for a user (no top-k cut, no diversity), best first; unknown ids are reported.</summary>
    /// <param name="userId">The user to score for (unknown: cold start).</param>
    /// <param name="itemIds">The items to score.</param>
    public RankResponse Score(string userId, IReadOnlyList<string> itemIds) => Rank(RankPipeline.ScoreRequest(userId, itemIds));
}
