using System.Numerics.Tensors;
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
        if (request.K <= 0 || request.K > HybridRanker.MaxK)
            throw new ArgumentOutOfRangeException(nameof(request), request.K, $"k must be between 1 and {HybridRanker.MaxK}");

        int bucketIndex = string.IsNullOrEmpty(request.UserId) ? -1 : Experiment.BucketOf(request.UserId);
        var model = _model;
        var parameters = Parameters(request, bucketIndex, model);

        UserRecord? user = null;
        if (!string.IsNullOrEmpty(request.UserId)) _store.TryGetUser(request.UserId, out user);
        float[]? userContent = null, userCollab = null;
        float[]? modelVector = model is null ? null : ModelUserVector(model, user);
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

        var query = new RankingQuery(content ?? Array.Empty<float>(), userCollab ?? Array.Empty<float>())
        {
            DiversityCentre = model?.ContentMean ?? ReadOnlyMemory<float>.Empty,
            DiversityTagField = model?.Description.DiversityTagField,
        };
        bool wholeCatalog = request.Candidates is null || request.Candidates.Count > 256;
        MirrorRankingCatalog? catalog = null;
        // Scores come from the device copies, the ranking reads the mirror: both must be the same version of the
        // catalog, or a write (or a compaction renumbering rows) in between would pair one item's score with another
        // item. Sync, score, open the view, and check no change slipped in; retry if one did.
        for (int attempt = 0; catalog is null; attempt++)
        {
            long synced = -1;
            RankingQuery scored;
            lock (_scoringGate)
            {
                if (!ReferenceEquals(_model, model) && modelVector is not null && _model is { } swapped)
                {
                    // A refit was swapped in since this request read the model: score with the new one throughout,
                    // never the user vector of one model against the item factors of another.
                    model = swapped;
                    modelVector = ModelUserVector(model, user) ?? new float[model.Rank];
                    parameters = Parameters(request, bucketIndex, model);
                    query = query with { DiversityCentre = model.ContentMean ?? ReadOnlyMemory<float>.Empty, DiversityTagField = model.Description.DiversityTagField };
                }
                scored = query;
                if (wholeCatalog || modelVector is not null)
                {
                    _deviceCatalog.Sync();
                    synced = _deviceCatalog.SyncedChangeCount;
                    scored = query with
                    {
                        ContentScores = !wholeCatalog || content is null || parameters.ContentWeight == 0 ? default : _deviceCatalog.ScoreSynced(Content, content),
                        CollabScores = modelVector is not null && parameters.CollabWeight != 0 ? _deviceCatalog.ScoreModelSynced(modelVector)
                            : !wholeCatalog || userCollab is null || parameters.CollabWeight == 0 || CollabDimension == 0 ? default : _deviceCatalog.ScoreSynced(Collab, userCollab),
                    };
                }
            }
            var opened = new MirrorRankingCatalog(_store.Catalog, _fields);
            if (synced < 0 || opened.ChangeCount == synced || attempt >= 8)
            {
                catalog = opened;
                query = scored;
            }
            else opened.Dispose();
        }
        using var _ = catalog;
        var unknown = new List<string>();
        List<int>? rows = null;
        if (request.Candidates is not null)
        {
            rows = new List<int>(request.Candidates.Count);
            var seenCandidates = new HashSet<int>();
            foreach (var id in request.Candidates)
            {
                if (id is not null && catalog.TryGetRow(id, out int row)) { if (seenCandidates.Add(row)) rows.Add(row); }
                else unknown.Add(id ?? "(null)");
            }
        }
        HashSet<int>? excluded = null;
        if (request.ExcludeSeen && user is not null)
        {
            excluded = new HashSet<int>();
            foreach (var e in user.Events)
                if (catalog.TryGetRow(e.ItemId, out int row)) excluded.Add(row);
        }
        var items = HybridRanker.Rank(catalog, query, parameters,
            new CandidateSet { Rows = rows, Excluded = excluded, Filters = request.Filters }, request.K);
        if (bucketIndex >= 0) Experiment.RecordImpressions(bucketIndex, items.Count);
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
        return Rank(new RankRequest { UserId = userId, Candidates = itemIds, K = Math.Min(itemIds.Count, HybridRanker.MaxK), Diversity = 0 });
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
