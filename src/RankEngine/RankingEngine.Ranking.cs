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
        ArgumentNullException.ThrowIfNull(request);
        if (request.K <= 0 || request.K > RankRequest.MaxK)
            throw new ArgumentOutOfRangeException(nameof(request), request.K, $"k must be between 1 and {RankRequest.MaxK}");

        // The model and one version of the catalog are read once: a refit or a write meanwhile changes neither.
        int bucketIndex = string.IsNullOrEmpty(request.UserId) ? -1 : Experiment.BucketOf(request.UserId);
        var model = _model;
        var parameters = RankParameterResolver.Resolve(request, Experiment, bucketIndex, UsesTunedDefaults, model);
        UserRecord? user = null;
        if (!string.IsNullOrEmpty(request.UserId)) _store.TryGetUser(request.UserId, out user);
        var snapshot = _store.Catalog.Snapshot();

        float[]? modelVector = model is null ? null : ModelUserVector(model, user, snapshot);
        float[]? userContent = null, userCollab = null;
        if (user is not null)
        {
            user.Vectors.TryGetValue(Content, out userContent);
            // With a trained model the collaborative part is the model's score; the pooled collab vector is unused.
            if (model is null) user.Vectors.TryGetValue(Collab, out userCollab);
        }
        float[]? queryVector = string.IsNullOrWhiteSpace(request.QueryText) ? null : Encode([request.QueryText!]).Vector(0).ToArray();
        var choice = RankStrategyChooser.Choose(request.UserId, user is not null, userContent, userCollab, modelVector, queryVector, parameters,
            contentWeightGiven: request.ContentWeight is not null);
        parameters = choice.Parameters;

        var query = new ShardQuery
        {
            Content = choice.Content ?? [],
            ContentWeight = parameters.ContentWeight,
            Second = modelVector ?? userCollab ?? [],
            SecondWeight = parameters.CollabWeight,
            SecondIsModel = modelVector is not null,
            Boosts = [.. parameters.Boosts],
            Filters = request.Filters,
            Candidates = request.Candidates,
            Excluded = request.ExcludeSeen && user is not null ? SeenItems(user) : null,
        };
        var factors = new ShardFactors?[snapshot.Shards.Count];
        if (model is not null && modelVector is not null)
            for (int s = 0; s < factors.Length; s++) factors[s] = _factorCaches[s].For(snapshot.Shards[s], model);
        var diversity = new CatalogRanker.Diversity(parameters.Diversity, model?.ContentMean ?? ReadOnlyMemory<float>.Empty, model?.Description.DiversityTagField);
        // On a device backend (CUDA, OpenCL) the dot products over every row are computed there.
        ShardDots?[]? dots = null;
        RankedItem[] items;
        try
        {
            if (_deviceCopies is not null)
            {
                dots = new ShardDots?[snapshot.Shards.Count];
                for (int s = 0; s < dots.Length; s++) dots[s] = _deviceCopies[s].TryDots(snapshot.Shards[s], factors[s], query, _contentSlot, _collabSlot);
            }
            items = CatalogRanker.Rank(snapshot, factors, query, diversity, request.K, _contentSlot, _collabSlot, dots);
        }
        finally
        {
            if (dots is not null)
                foreach (var d in dots) ShardDeviceCopy.Release(d);
        }

        if (bucketIndex >= 0) Experiment.RecordImpressions(bucketIndex, items.Length);
        return new RankResponse
        {
            Items = items,
            Strategy = choice.Strategy,
            Explanation = choice.Explanation,
            Bucket = bucketIndex >= 0 ? Experiment.Buckets[bucketIndex].Name : null,
            UnknownCandidates = UnknownCandidates(request.Candidates, snapshot),
        };
    }

    /// <summary>Scores given items for a user (no top-k cut, no diversity), best first; unknown ids are reported.</summary>
    /// <param name="userId">The user to score for (unknown: cold start).</param>
    /// <param name="itemIds">The items to score.</param>
    public RankResponse Score(string userId, IReadOnlyList<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        if (itemIds.Count == 0) throw new ArgumentException("give at least one item id to score");
        return Rank(new RankRequest { UserId = userId, Candidates = itemIds, K = Math.Min(itemIds.Count, RankRequest.MaxK), Diversity = 0 });
    }

    private static HashSet<string> SeenItems(UserRecord user)
    {
        var seen = new HashSet<string>(user.Events.Count, StringComparer.Ordinal);
        foreach (var e in user.Events) seen.Add(e.ItemId);
        return seen;
    }

    private static List<string> UnknownCandidates(IReadOnlyList<string>? candidates, CatalogSnapshot snapshot)
    {
        var unknown = new List<string>();
        if (candidates is not null)
            foreach (var id in candidates)
                if (id is null || !snapshot.Contains(id)) unknown.Add(id ?? "(null)");
        return unknown;
    }
}
