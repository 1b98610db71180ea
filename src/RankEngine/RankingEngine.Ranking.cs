using System.Numerics.Tensors;
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
        var parameters = Parameters(request, bucketIndex);

        UserRecord? user = null;
        if (!string.IsNullOrEmpty(request.UserId)) _store.TryGetUser(request.UserId, out user);
        float[]? userContent = null, userCollab = null;
        if (user is not null)
        {
            user.Vectors.TryGetValue(Content, out userContent);
            user.Vectors.TryGetValue(Collab, out userCollab);
        }
        float[]? queryVector = string.IsNullOrWhiteSpace(request.QueryText) ? null : Encode(new[] { request.QueryText! }).Vector(0).ToArray();

        RankStrategy strategy;
        string explanation;
        float[]? content = userContent;
        if (userContent is not null || userCollab is not null)
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

        var query = new RankingQuery(content ?? Array.Empty<float>(), userCollab ?? Array.Empty<float>());
        if (request.Candidates is null || request.Candidates.Count > 256)
        {
            // Whole-catalog (or large candidate) rankings: every dot product on the backend in one pass. Before the
            // catalog view below is opened: syncing the device copy takes the mirror's write lock briefly.
            lock (_scoringGate)
            {
                query = query with
                {
                    ContentScores = content is null || parameters.ContentWeight == 0 ? default : _deviceCatalog.Score(Content, content),
                    CollabScores = userCollab is null || parameters.CollabWeight == 0 || CollabDimension == 0 ? default : _deviceCatalog.Score(Collab, userCollab),
                };
            }
        }
        using var catalog = new MirrorRankingCatalog(_store.Catalog, _fields);
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

    private RankingParameters Parameters(RankRequest request, int bucketIndex)
    {
        var p = bucketIndex >= 0 ? Experiment.Buckets[bucketIndex].Parameters : Experiment.Buckets[0].Parameters;
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

    private static float[] Combine(float[] a, float[] b)
    {
        var sum = new float[a.Length];
        TensorPrimitives.Add(a, b, sum);
        float norm = TensorPrimitives.Norm(sum);
        if (norm > 0) TensorPrimitives.Multiply(sum, 1f / norm, sum);
        return sum;
    }
}
