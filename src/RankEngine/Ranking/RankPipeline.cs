using RankEngine.Catalog;
using RankEngine.Models;
using RankEngine.Store;

namespace RankEngine.Ranking;

/// <summary>
/// The catalog a RANK runs against: one version of the single node's sharded catalog, or a cluster's shard grains.
/// Both cut by the one merge (<see cref="CatalogRanker.MergeTopK"/>) and diversify with the one MMR
/// (<see cref="CatalogRanker.Choose"/>), so a request ranks the same wherever the catalog lives.
/// </summary>
internal interface IRankCatalog
{
    /// <summary>An item's content vector (for the model's cold items), empty when the catalog has no such item.</summary>
    ReadOnlyMemory<float> ContentOf(string id);

    /// <summary>The top <paramref name="k"/> for the query, diversified and explained (<see cref="CatalogRanker.Rank"/>'s contract).</summary>
    RankedItem[] Rank(ShardQuery query, CatalogRanker.Diversity diversity, int k);

    /// <summary>The candidate ids the catalog does not hold, in request order.</summary>
    List<string> UnknownCandidates(IReadOnlyList<string>? candidates);

    /// <summary>Share of the catalog the last <see cref="Rank"/> covered (1 on a single node) and the shards it missed.</summary>
    CatalogCoverage Coverage { get; }
}

/// <summary>What a request reads once: the experiment, whether it serves tuned defaults, the model and the query encoder.</summary>
internal readonly record struct RankContext(Experiment Experiment, bool UsesTunedDefaults, RankingModel? Model, Func<string, float[]>? EncodeQuery);

/// <summary>
/// The RANK of every deployment, the embedded engine's and the cluster's: resolves the parameters, chooses the
/// strategy from the user's record, builds the one shard query, asks the catalog and writes the response.
/// </summary>
internal static class RankPipeline
{
    public const string ContentVector = "content";
    public const string CollabVector = "collab";

    /// <summary>Checks what every deployment refuses before ranking.</summary>
    /// <exception cref="ArgumentOutOfRangeException">k is not in 1..4096.</exception>
    public static void Check(RankRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K <= 0 || request.K > RankRequest.MaxK)
            throw new ArgumentOutOfRangeException(nameof(request), request.K, $"k must be between 1 and {RankRequest.MaxK}");
    }

    /// <summary>SCORE as a RANK: the given items only, no cut below their number, no diversity.</summary>
    public static RankRequest ScoreRequest(string userId, IReadOnlyList<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        if (itemIds.Count == 0) throw new ArgumentException("give at least one item id to score");
        return new RankRequest { UserId = userId, Candidates = itemIds, K = Math.Min(itemIds.Count, RankRequest.MaxK), Diversity = 0 };
    }

    /// <param name="request">A checked request (<see cref="Check"/>).</param>
    /// <param name="context">The experiment, model and encoder this request reads.</param>
    /// <param name="user">The user's record, or null when unknown or none was named.</param>
    /// <param name="catalog">The catalog version to rank.</param>
    public static RankResponse Run(RankRequest request, RankContext context, UserRecord? user, IRankCatalog catalog)
    {
        var experiment = context.Experiment;
        var model = context.Model;
        int bucketIndex = string.IsNullOrEmpty(request.UserId) ? -1 : experiment.BucketOf(request.UserId);
        var parameters = RankParameterResolver.Resolve(request, experiment, bucketIndex, context.UsesTunedDefaults, model);

        float[]? modelVector = model is null ? null : ModelUserVector(model, user, catalog);
        float[]? userContent = null, userCollab = null;
        if (user is not null)
        {
            user.Vectors.TryGetValue(ContentVector, out userContent);
            // With a trained model the collaborative part is the model's score; the pooled collab vector is unused.
            if (model is null) user.Vectors.TryGetValue(CollabVector, out userCollab);
        }
        float[]? queryVector = string.IsNullOrWhiteSpace(request.QueryText) ? null
            : (context.EncodeQuery ?? throw new InvalidOperationException("this engine was opened without a model: it cannot encode text"))(request.QueryText!);
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
        var diversity = new CatalogRanker.Diversity(parameters.Diversity, model?.ContentMean ?? ReadOnlyMemory<float>.Empty, model?.Description.DiversityTagField);
        var items = catalog.Rank(query, diversity, request.K);

        if (bucketIndex >= 0) experiment.RecordImpressions(bucketIndex, items.Length);
        return new RankResponse
        {
            Items = items,
            Strategy = choice.Strategy,
            Explanation = choice.Explanation,
            Bucket = bucketIndex >= 0 ? experiment.Buckets[bucketIndex].Name : null,
            UnknownCandidates = catalog.UnknownCandidates(request.Candidates),
            Coverage = catalog.Coverage,
        };
    }

    /// <summary>The model's user vector from the user's events (items' content read from the catalog for cold items).</summary>
    private static float[]? ModelUserVector(RankingModel model, UserRecord? user, IRankCatalog catalog)
    {
        if (user is null || user.Events.Count == 0) return null;
        var vector = new float[model.Rank];
        return model.TryUserVector(user.Events, catalog.ContentOf, vector) ? vector : null;
    }

    private static HashSet<string> SeenItems(UserRecord user)
    {
        var seen = new HashSet<string>(user.Events.Count, StringComparer.Ordinal);
        foreach (var e in user.Events) seen.Add(e.ItemId);
        return seen;
    }
}
