using System.Numerics.Tensors;
using RankEngine.Catalog;
using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

public sealed partial class RankingEngine
{
    /// <summary>Field used to rank for cold-start users without a query.</summary>
    public const string PopularityField = "popularity";

    /// <summary>
    /// Ranks items for a user and/or a query text: hybrid score, filters, exclusion of seen items, MMR. Unknown
    /// users fall back to the query alone or to popularity, and the response says so.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">k is not in 1..4096.</exception>
    /// <exception cref="ArgumentException">A weight is NaN or infinite, or λ is outside [0, 1].</exception>
    public RankResponse Rank(RankRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K <= 0 || request.K > RankRequest.MaxK)
            throw new ArgumentOutOfRangeException(nameof(request), request.K, $"k must be between 1 and {RankRequest.MaxK}");

        int bucketIndex = string.IsNullOrEmpty(request.UserId) ? -1 : Experiment.BucketOf(request.UserId);
        var model = _model;
        var parameters = Parameters(request, bucketIndex, model);

        UserRecord? user = null;
        if (!string.IsNullOrEmpty(request.UserId)) _store.TryGetUser(request.UserId, out user);
        // One version of the catalog from scoring to reply: writes and compactions meanwhile publish newer ones.
        var snapshot = _store.Catalog.Snapshot();
        float[]? userContent = null, userCollab = null;
        float[]? modelVector = model is null ? null : ModelUserVector(model, user, snapshot);
        if (user is not null)
        {
            user.Vectors.TryGetValue(Content, out userContent);
            // With a trained model the collaborative part is the model's score; the pooled collab vector is unused.
            if (model is null) user.Vectors.TryGetValue(Collab, out userCollab);
        }
        float[]? queryVector = string.IsNullOrWhiteSpace(request.QueryText) ? null : Encode(new[] { request.QueryText! }).Vector(0).ToArray();

        RankStrategy strategy;
        string explanation;
        float[]? content = userContent;
        if (userContent is not null || userCollab is not null || modelVector is not null)
        {
            strategy = RankStrategy.Personalized;
            explanation = queryVector is null ? "personalised from the user's profile" : "personalised from the user's profile and the query";
            if (queryVector is not null) content = userContent is null ? queryVector : Combine(userContent, queryVector);
        }
        else
        {
            string who = request.UserId is null ? "no user given" : user is null ? $"unknown user '{request.UserId}'" : $"user '{request.UserId}' has no usable history";
            if (queryVector is not null)
            {
                strategy = RankStrategy.QueryOnly;
                explanation = $"{who}: cold start, ranked by the query alone";
                content = queryVector;
            }
            else
            {
                strategy = RankStrategy.Popularity;
                explanation = $"{who}: cold start, ranked by popularity";
                var boosts = new Dictionary<string, float>(parameters.Boosts) { [PopularityField] = 1f };
                parameters = parameters with { Boosts = boosts };
            }
        }

        var boostList = new List<KeyValuePair<string, float>>(parameters.Boosts);
        var query = new ShardQuery
        {
            Content = content ?? ReadOnlyMemory<float>.Empty,
            ContentWeight = parameters.ContentWeight,
            Second = modelVector ?? userCollab ?? [],
            SecondWeight = parameters.CollabWeight,
            SecondIsModel = modelVector is not null,
            Boosts = boostList,
            Filters = request.Filters,
            Candidates = request.Candidates,
            Excluded = request.ExcludeSeen && user is not null ? SeenItems(user) : null,
        };
        var unknown = new List<string>();
        if (request.Candidates is not null)
            foreach (var id in request.Candidates)
                if (id is null || !snapshot.Contains(id)) unknown.Add(id ?? "(null)");
        var factors = new ShardFactors?[snapshot.Shards.Count];
        if (model is not null && modelVector is not null)
            for (int s = 0; s < factors.Length; s++) factors[s] = _factorCaches[s].For(snapshot.Shards[s], model);
        var diversity = new CatalogRanker.Diversity(parameters.Diversity, model?.ContentMean ?? ReadOnlyMemory<float>.Empty, model?.Description.DiversityTagField);
        var items = CatalogRanker.Rank(snapshot, factors, query, diversity, request.K, _contentSlot, _collabSlot);
        if (bucketIndex >= 0) Experiment.RecordImpressions(bucketIndex, items.Length);
        return new RankResponse
        {
            Items = items,
            Strategy = strategy,
            Explanation = explanation,
            Bucket = bucketIndex >= 0 ? Experiment.Buckets[bucketIndex].Name : null,
            UnknownCandidates = unknown,
        };
    }

    /// <summary>Scores given items for a user (no top-k cut, no diversity), best first; unknown ids are reported.</summary>
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

    private RankingParameters Parameters(RankRequest request, int bucketIndex, RankingModel? model)
    {
        var p = bucketIndex >= 0 ? Experiment.Buckets[bucketIndex].Parameters : Experiment.Buckets[0].Parameters;
        if (UsesTunedDefaults && model is not null) p = TunedParameters(model);
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
    private static RankingParameters TunedParameters(RankingModel model)
    {
        var d = model.Description.Defaults;
        var boosts = new Dictionary<string, float>();
        if (d.PopularityBoost != 0) boosts[PopularityField] = d.PopularityBoost;
        return new RankingParameters { ContentWeight = d.ContentWeight, CollabWeight = d.CollabWeight, Boosts = boosts, Diversity = 0 };
    }

    private static float[] Combine(float[] a, float[] b)
    {
        var sum = new float[a.Length];
        TensorPrimitives.Add(a, b, sum);
        float norm = TensorPrimitives.Norm(sum);
        if (norm > 0) TensorPrimitives.Multiply(sum, 1f / norm, sum);
        return sum;
    }
}
