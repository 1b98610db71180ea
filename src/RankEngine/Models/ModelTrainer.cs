using System.Diagnostics;
using System.Numerics.Tensors;
using RankEngine.Models.Linear;
using RankEngine.Ranking;
using RankEngine.Ranking.Collaborative;
using RankEngine.Store;

namespace RankEngine.Models;

/// <summary>Options of <see cref="ModelTrainer"/>.</summary>
public sealed record TrainOptions
{
    /// <summary>Largest factor rank tried (validation picks among 128, 256 and this, never above it).</summary>
    public int MaxRank { get; init; } = 512;
    /// <summary>Share of each user's strong positives held out (from the end of their history) for validation.</summary>
    public double ValidationFraction { get; init; } = 0.2;
    /// <summary>Users sampled for validation at most (the cost of tuning is bounded on large stores).</summary>
    public int MaxValidationUsers { get; init; } = 3000;
    /// <summary>Learn ridge maps from content vectors to factors, so items without events are ranked from their text.</summary>
    public bool ContentMapping { get; init; } = true;
    /// <summary>Seed of the randomized decomposition and of the user sample.</summary>
    public int Seed { get; init; } = 42;
    /// <summary>List length the settings are tuned for (NDCG@K).</summary>
    public int K { get; init; } = 10;
    /// <summary>
    /// Memory for the decomposition's tall matrices (items × (rank + 16) floats, about five of them at once): the
    /// rank is lowered for large catalogs so training stays within it.
    /// </summary>
    public long MemoryBudgetBytes { get; init; } = 6L << 30;
    /// <summary>Validation scoring work per candidate setting (users × items × rank multiply-adds): fewer validation users on large catalogs.</summary>
    public double ValidationWorkPerSetting { get; init; } = 2e10;

    /// <summary>The largest rank that fits the memory budget for this many items (at least 16).</summary>
    internal int RankFor(int items) => (int)Math.Clamp(MemoryBudgetBytes / (5L * 4 * Math.Max(1, items)) - 16, 16, MaxRank);

    /// <summary>Validation users for this many items and this rank (between 100 and <see cref="MaxValidationUsers"/>).</summary>
    internal int ValidationUsersFor(int items, int rank) => (int)Math.Clamp(ValidationWorkPerSetting / ((double)Math.Max(1, items) * rank), 100, MaxValidationUsers);
}

/// <summary>One user's events as training reads them (oldest first or in any order).</summary>
internal sealed record TrainingUser(string Id, IReadOnlyList<UserEvent> Events);

/// <summary>What training needs of the catalog: every item id with its content vector (rows of one matrix) and popularity.</summary>
internal sealed record TrainingCatalog(string[] Ids, float[] Content, int ContentDimension, float[]? Popularity)
{
    /// <summary>The main tag field (see <see cref="ModelDescription.DiversityTagField"/>) and each item's tags in it.</summary>
    public string? TagField { get; init; }
    public IReadOnlyList<string>?[]? Tags { get; init; }
}

/// <summary>
/// Fits <see cref="RankingModel"/> from the store's own events. A validation split is carved from the events
/// (each user's last strong positives, in time order); the model (λ, rank), the user-vector weights (recency
/// half-life, views, negatives) and the served score weights (content, popularity) are chosen by NDCG@K on it by
/// coordinate search; then the model is refitted on every event with the chosen settings. The ranking used to
/// score validation is the served one: score = w_collab·(u·Output_i) + w_content·(profile·e_i) + b·popularity_i
/// over the whole catalog minus the items the user has events on.
/// </summary>
internal static class ModelTrainer
{
    public static RankingModel Train(IReadOnlyList<TrainingUser> users, TrainingCatalog catalog, TrainOptions options,
        long version, EventWeights eventWeights, TimeSpan profileHalfLife, Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        var index = new Dictionary<string, int>(catalog.Ids.Length, StringComparer.Ordinal);
        for (int i = 0; i < catalog.Ids.Length; i++) index[catalog.Ids[i]] = i;

        // 1. Validation split.
        int maxRank = options.RankFor(catalog.Ids.Length);
        // Negative feedback pushes away unless validation shows it hurts; view-only streams learn from views.
        bool anyStrong = users.Any(u => u.Events.Any(e => ModelInputWeights.IsStrongPositive(e.Kind) && e.Weight > 0));
        var startWeights = new ModelInputWeights { HalfLifeDays = 0, Negative = -0.5f, ViewsArePositive = !anyStrong };
        var (fitUsers, validation) = Split(users, options with { MaxValidationUsers = options.ValidationUsersFor(catalog.Ids.Length, maxRank) }, index, startWeights);
        var settings = new Settings(200, maxRank, startWeights, 0, 0);
        double validationNdcg = double.NaN;
        if (validation.Count >= 10)
        {
            log?.Invoke($"validation: {validation.Count} users, fitting on {fitUsers.Sum(u => u.Events.Count)} events");
            var data = Matrix(fitUsers, index, startWeights, out var activeCatalogRows);
            if (activeCatalogRows.Length > 1)
            {
                var decomposition = SpectralEase.Fit(data, Math.Min(maxRank, activeCatalogRows.Length), options.Seed,
                    progress: s => log?.Invoke($"validation fit: {s}"));
                using var tuner = new ValidationTuner(decomposition, activeCatalogRows, SeenRows(fitUsers, index), catalog, index, validation, options, eventWeights, profileHalfLife);
                (settings, validationNdcg) = tuner.Tune(settings, log);
            }
        }
        else log?.Invoke($"validation: only {validation.Count} users with enough history; default settings");

        // 2. Final fit on everything.
        var all = Matrix(users, index, startWeights, out var active);
        if (active.Length == 0) throw new InvalidOperationException("no user has a click, like, purchase or view on a catalog item: nothing to learn from");
        int rank = Math.Min(settings.Rank, active.Length);
        var final = SpectralEase.Fit(all, rank, options.Seed, progress: s => log?.Invoke($"final fit: {s}"));
        var factors = final.FactorsFor(settings.Lambda, rank);
        rank = factors.Rank; // the data may support fewer eigenpairs than asked for (few users)
        var (toInput, toOutput, mean) = options.ContentMapping && catalog.ContentDimension > 0
            ? ContentMaps(catalog, active, factors)
            : (null, null, catalog.ContentDimension > 0 ? Mean(catalog) : null);
        double scale = ScoreScale(users, index, active, factors, settings.Weights, options.Seed);
        for (int i = 0; i < factors.Output.Length; i++) factors.Output[i] = (float)(factors.Output[i] * scale);
        if (toOutput is not null)
            for (int i = 0; i < toOutput.Length; i++) toOutput[i] = (float)(toOutput[i] * scale);
        if (toOutput is not null)
            for (int i = 0; i < toOutput.Length; i++) toOutput[i] *= settings.ColdScale;
        // Items with events but no positive are known, not cold: zero factors (no content prediction for them).
        var activeSet = new HashSet<int>(active);
        var seenOnly = SeenRows(users, index).Where(row => !activeSet.Contains(row)).OrderBy(row => row).ToArray();
        var ids = new string[active.Length + seenOnly.Length];
        for (int i = 0; i < active.Length; i++) ids[i] = catalog.Ids[active[i]];
        for (int i = 0; i < seenOnly.Length; i++) ids[active.Length + i] = catalog.Ids[seenOnly[i]];
        var input = new float[ids.Length * rank];
        var output = new float[ids.Length * rank];
        factors.Input.CopyTo(input, 0);
        factors.Output.CopyTo(output, 0);
        var description = new ModelDescription
        {
            Version = version,
            Rank = rank,
            ContentDimension = toInput is null ? 0 : catalog.ContentDimension,
            Lambda = settings.Lambda,
            InputWeights = settings.Weights,
            Defaults = new TunedDefaults
            {
                ContentWeight = settings.ContentWeight,
                CollabWeight = 1,
                PopularityBoost = settings.PopularityBoost,
                RecommendedDiversity = settings.Diversity,
                ColdItemWeight = toOutput is null ? 0 : settings.ColdScale,
            },
            ScoreScale = scale,
            DiversityTagField = catalog.TagField,
            TrainedAt = DateTimeOffset.UtcNow,
            Users = users.Count,
            Items = active.Length,
            Events = all.NonZeros,
            ValidationNdcg = validationNdcg,
            TrainSeconds = clock.Elapsed.TotalSeconds,
        };
        return new RankingModel(description, ids, input, output, toInput, toOutput, toInput is null ? null : mean);
    }

    internal sealed record Settings(double Lambda, int Rank, ModelInputWeights Weights, float ContentWeight, float PopularityBoost, float Diversity = 0)
    {
        /// <summary>Weight of content-predicted factors of cold items (0 during the main tuning: the warm model alone).</summary>
        public float ColdScale { get; init; }
    }

    internal sealed record ValidationUser(TrainingUser Train, IReadOnlySet<int> HeldOut);

    /// <summary>Per user: the last h = max(1, round(f·n)) strong positives (n ≥ 5) are held out with everything after the first of them.</summary>
    internal static (List<TrainingUser> Fit, List<ValidationUser> Validation) Split(IReadOnlyList<TrainingUser> users, TrainOptions options,
        Dictionary<string, int> index, ModelInputWeights weights)
    {
        var fit = new List<TrainingUser>(users.Count);
        var validation = new List<ValidationUser>();
        foreach (var user in users)
        {
            var events = user.Events.OrderBy(e => e.TimestampMs).ToList(); // stable: ties keep history order
            int positives = events.Count(e => weights.IsPositive(e.Kind) && index.ContainsKey(e.ItemId));
            if (positives < 5) { fit.Add(user with { Events = events }); continue; }
            int hold = Math.Max(1, (int)Math.Round(positives * options.ValidationFraction, MidpointRounding.AwayFromZero));
            int cut = 0, seen = 0;
            for (; cut < events.Count; cut++)
                if (weights.IsPositive(events[cut].Kind) && index.ContainsKey(events[cut].ItemId) && ++seen == positives - hold + 1) break;
            var train = events.GetRange(0, cut);
            var trainItems = new HashSet<string>(train.Select(e => e.ItemId), StringComparer.Ordinal);
            var held = new List<int>();
            for (int i = cut; i < events.Count; i++)
            {
                var e = events[i];
                if (weights.IsPositive(e.Kind) && !trainItems.Contains(e.ItemId) && index.TryGetValue(e.ItemId, out int row) && !held.Contains(row))
                    held.Add(row);
            }
            var trainUser = user with { Events = train };
            fit.Add(trainUser);
            if (held.Count > 0) validation.Add(new ValidationUser(trainUser, held.ToHashSet()));
        }
        if (validation.Count > options.MaxValidationUsers)
        {
            var random = new Random(options.Seed);
            validation = validation.OrderBy(_ => random.Next()).Take(options.MaxValidationUsers).ToList();
        }
        return (fit, validation);
    }

    /// <summary>Catalog rows with any event of these users.</summary>
    internal static HashSet<int> SeenRows(IReadOnlyList<TrainingUser> users, Dictionary<string, int> index)
    {
        var rows = new HashSet<int>();
        foreach (var user in users)
            foreach (var e in user.Events)
                if (index.TryGetValue(e.ItemId, out int row)) rows.Add(row);
        return rows;
    }

    /// <summary>Binary users × active items matrix of positives; <paramref name="activeRows"/> maps model index → catalog row.</summary>
    internal static InteractionMatrix Matrix(IReadOnlyList<TrainingUser> users, Dictionary<string, int> index, ModelInputWeights weights, out int[] activeRows)
    {
        var modelIndex = new Dictionary<int, int>();
        var rows = new List<int>();
        var pairs = new List<Interaction>();
        var seen = new HashSet<int>();
        for (int u = 0; u < users.Count; u++)
        {
            seen.Clear();
            foreach (var e in users[u].Events)
            {
                if (!weights.IsPositive(e.Kind) || !(e.Weight > 0) || !index.TryGetValue(e.ItemId, out int row) || !seen.Add(row)) continue;
                if (!modelIndex.TryGetValue(row, out int m)) { modelIndex[row] = m = rows.Count; rows.Add(row); }
                pairs.Add(new Interaction(u, m, 1f));
            }
        }
        activeRows = rows.ToArray();
        return InteractionMatrix.Build(users.Count, rows.Count, pairs.ToArray());
    }

    /// <summary>Ridge regression from content vectors to the input and output factors over the learned items.</summary>
    private static (float[] ToInput, float[] ToOutput, float[] Mean) ContentMaps(TrainingCatalog catalog, int[] active, SpectralEase.Factors f)
    {
        var ridge = new ContentRidge(catalog, active);
        return (ridge.Map(f.Input, f.Rank), ridge.Map(f.Output, f.Rank), Mean(catalog));
    }

    /// <summary>The catalog's mean content vector.</summary>
    internal static float[] Mean(TrainingCatalog catalog)
    {
        int d = catalog.ContentDimension, n = catalog.Ids.Length;
        var mean = new float[d];
        for (int i = 0; i < n; i++) TensorPrimitives.Add(mean, catalog.Content.AsSpan(i * d, d), mean);
        if (n > 0) TensorPrimitives.Multiply(mean, 1f / n, mean);
        return mean;
    }

    /// <summary>1 / (mean best unseen raw score over a sample of users): the model part then tops out near 1, like a cosine.</summary>
    private static double ScoreScale(IReadOnlyList<TrainingUser> users, Dictionary<string, int> index, int[] active,
        SpectralEase.Factors f, ModelInputWeights weights, int seed)
    {
        var modelIndexOfRow = new Dictionary<int, int>(active.Length);
        for (int m = 0; m < active.Length; m++) modelIndexOfRow[active[m]] = m;
        var random = new Random(seed);
        var sample = users.Where(u => u.Events.Count > 0).OrderBy(_ => random.Next()).Take(500).ToList();
        double sum = 0;
        int count = 0;
        var u = new float[f.Rank];
        foreach (var user in sample)
        {
            if (!PooledInput(user.Events, weights, index, modelIndexOfRow, f, u)) continue;
            var seen = new HashSet<int>();
            foreach (var e in user.Events) if (index.TryGetValue(e.ItemId, out int row) && modelIndexOfRow.TryGetValue(row, out int m)) seen.Add(m);
            float best = float.NegativeInfinity;
            for (int m = 0; m < active.Length; m++)
                if (!seen.Contains(m)) best = Math.Max(best, TensorPrimitives.Dot(u, f.Output.AsSpan(m * f.Rank, f.Rank)));
            if (float.IsFinite(best) && best > 0) { sum += best; count++; }
        }
        return count == 0 || !(sum > 0) ? 1 : count / sum;
    }

    /// <summary>The served user vector, restricted to learned items (training has no cold items of its own).</summary>
    internal static bool PooledInput(IReadOnlyList<UserEvent> events, ModelInputWeights weights, Dictionary<string, int> index,
        Dictionary<int, int> modelIndexOfRow, SpectralEase.Factors f, Span<float> destination) =>
        weights.Pool(events, (id, factor) =>
        {
            if (!index.TryGetValue(id, out int row) || !modelIndexOfRow.TryGetValue(row, out int m)) return false;
            f.Input.AsSpan(m * f.Rank, f.Rank).CopyTo(factor);
            return true;
        }, destination);
}
