using System.Globalization;
using System.Text;
using RankEngine.Data;
using RankEngine.Ranking;
using RankEngine.Ranking.Collaborative;
using RankEngine.Store;

namespace RankEngine.Evaluation;

/// <summary>Parameters of <see cref="OfflineEvaluator"/>.</summary>
public sealed record EvaluationOptions
{
    /// <summary>List length k of every metric.</summary>
    public int K { get; init; } = 10;
    /// <summary>Which ratings are relevant (≥ 4 stars by default). Events without a rating are relevant when they
    /// are a like, click or purchase.</summary>
    public RatingMapping Mapping { get; init; } = RatingMapping.Default;
    /// <summary>The temporal split, used for test and again inside training for validation.</summary>
    public SplitOptions Split { get; init; } = new();
    /// <summary>Collaborative model; its regularisation and α are replaced by the best of <see cref="AlsGrid"/>.</summary>
    public AlsOptions Als { get; init; } = AlsOptions.Default;
    /// <summary>(regularisation λ, confidence α) pairs tried on validation, by collab-only NDCG; empty keeps <see cref="Als"/>.</summary>
    public IReadOnlyList<(double Regularization, double Alpha)> AlsGrid { get; init; } = new[] { (1.0, 1.0), (5.0, 2.0), (20.0, 5.0), (50.0, 10.0) };
    /// <summary>How each feedback kind pulls the content user vector.</summary>
    public EventWeights Weights { get; init; } = EventWeights.Default;
    /// <summary>Half-life of an event's influence on the content user vector.</summary>
    public double HalfLifeDays { get; init; } = 365;
    /// <summary>MMR λ of hybrid+MMR; null chooses it on validation (the most diverse λ within <see cref="MaxNdcgCost"/>).</summary>
    public float? Diversity { get; init; }
    /// <summary>Content weights tried on validation for the hybrid (the collab weight is 1).</summary>
    public IReadOnlyList<float> ContentWeightGrid { get; init; } = new[] { 0f, 0.02f, 0.05f, 0.1f, 0.2f, 0.35f, 0.5f, 1f };
    /// <summary>
    /// Weights b of the hybrid's popularity boost <c>b · ln(1 + positive training interactions)</c> tried on validation,
    /// after the content weight (coordinate search).
    /// </summary>
    public IReadOnlyList<float> PopularityBoostGrid { get; init; } = new[] { 0f, 0.005f, 0.01f, 0.02f, 0.05f, 0.1f };
    /// <summary>MMR λ values tried on validation when <see cref="Diversity"/> is null.</summary>
    public IReadOnlyList<float> DiversityGrid { get; init; } = new[] { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.75f, 0.8f, 0.85f, 0.9f };
    /// <summary>Largest relative NDCG loss (on validation) accepted for diversity.</summary>
    public double MaxNdcgCost { get; init; } = 0.05;
    /// <summary>Worker threads; 0 = all processors.</summary>
    public int Threads { get; init; }

    public void Validate()
    {
        if (K <= 0 || K > HybridRanker.MaxK) throw new ArgumentOutOfRangeException(nameof(K), K, $"k must be between 1 and {HybridRanker.MaxK}");
        Split.Validate();
        Als.Validate();
        if (!(HalfLifeDays > 0) || !double.IsFinite(HalfLifeDays)) throw new ArgumentOutOfRangeException(nameof(HalfLifeDays), HalfLifeDays, "the half-life must be a positive number of days");
        if (Diversity is float d && !(d >= 0 && d <= 1)) throw new ArgumentOutOfRangeException(nameof(Diversity), d, "diversity λ must be in [0, 1]");
        if (ContentWeightGrid.Count == 0) throw new ArgumentException("the content weight grid is empty");
        foreach (float w in ContentWeightGrid)
            if (!float.IsFinite(w) || w < 0) throw new ArgumentException($"content weight {w} in the grid is not a finite number ≥ 0");
        if (PopularityBoostGrid.Count == 0) throw new ArgumentException("the popularity boost grid is empty");
        foreach (float b in PopularityBoostGrid)
            if (!float.IsFinite(b) || b < 0) throw new ArgumentException($"popularity boost {b} in the grid is not a finite number ≥ 0");
        foreach (float l in DiversityGrid)
            if (!(l > 0 && l <= 1)) throw new ArgumentException($"diversity λ {l} in the grid is not in (0, 1]");
        if (!(MaxNdcgCost >= 0 && MaxNdcgCost < 1)) throw new ArgumentOutOfRangeException(nameof(MaxNdcgCost), MaxNdcgCost, "the NDCG cost must be in [0, 1)");
        if (Threads < 0) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "threads cannot be negative");
        foreach (var (reg, alpha) in AlsGrid) (Als with { Regularization = reg, Alpha = alpha }).Validate();
    }
}

/// <summary>The method names of the report, in report order.</summary>
public static class EvaluationMethods
{

    public const string Popularity = "popularity";
    public const string ItemKnn = "item-kNN";
    public const string Content = "content";
    public const string Collab = "collab";
    public const string Hybrid = "hybrid";
    public const string HybridMmr = "hybrid+MMR";

    public static IReadOnlyList<string> All { get; } = new[] { Popularity, ItemKnn, Content, Collab, Hybrid, HybridMmr };
}

/// <summary>Test-set quality of one method, averaged over the evaluated users.</summary>
/// <param name="Method">One of <see cref="EvaluationMethods"/>.</param>
/// <param name="HitRate">Mean HR@k.</param>
/// <param name="Ndcg">Mean NDCG@k.</param>
/// <param name="Recall">Mean Recall@k.</param>
/// <param name="Diversity">Mean intra-list diversity (1 − cosine of content vectors) of the top-k lists.</param>
/// <param name="Coverage">Distinct recommended items / catalog size.</param>
/// <param name="Users">Users evaluated.</param>
public sealed record MethodResult(string Method, double HitRate, double Ndcg, double Recall, double Diversity, double Coverage, int Users);

/// <summary>One validation measurement: a baseline, an ALS setting, a hybrid weight or an MMR λ.</summary>
public sealed record TuningStep(string What, string Setting, double Ndcg, double IntraListDiversity);

/// <summary>What <see cref="OfflineEvaluator.Run"/> measured and chose.</summary>
public sealed record EvaluationReport
{
    public required IReadOnlyList<MethodResult> Methods { get; init; }
    public required int K { get; init; }
    /// <summary>Hybrid content weight chosen on validation (collab weight 1).</summary>
    public required float ContentWeight { get; init; }
    /// <summary>Hybrid popularity boost weight chosen on validation.</summary>
    public required float PopularityBoost { get; init; }
    /// <summary>MMR λ used by hybrid+MMR.</summary>
    public required float Diversity { get; init; }
    /// <summary>The ALS options used for the test run (λ and α chosen on validation).</summary>
    public required AlsOptions Als { get; init; }
    /// <summary>True when λ was chosen on validation, false when given.</summary>
    public required bool DiversityTuned { get; init; }
    public required IReadOnlyList<TuningStep> Tuning { get; init; }
    public required int Items { get; init; }
    public required int Users { get; init; }
    public required int Events { get; init; }
    public required int TrainEvents { get; init; }
    public required int TestUsers { get; init; }
    public required int HeldOutItems { get; init; }
    public required int ValidationUsers { get; init; }

    public MethodResult this[string method] => Methods.First(m => m.Method == method);

    /// <summary>The results as a Markdown table (one row per method).</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        string k = K.ToString(CultureInfo.InvariantCulture);
        sb.Append($"| method | HR@{k} | NDCG@{k} | Recall@{k} | ILD@{k} | coverage |\n");
        sb.Append("|:--|--:|--:|--:|--:|--:|\n");
        foreach (var m in Methods)
            sb.Append(CultureInfo.InvariantCulture, $"| {m.Method} | {m.HitRate:F4} | {m.Ndcg:F4} | {m.Recall:F4} | {m.Diversity:F4} | {m.Coverage:F4} |\n");
        return sb.ToString();
    }
}

/// <summary>
/// Offline evaluation of RankEngine's rankers against baselines on a temporal split (the issue-7 protocol):
/// <list type="number">
/// <item>Split (<see cref="TemporalSplit"/>): per user, the last 20% of positives are the test set, everything earlier
/// is training. Inside training the same split carves a validation set; all tuning (hybrid weights, MMR λ) happens
/// on validation with models fitted on the validation-training part, never on the test set.</item>
/// <item>Methods (each returns the top k of the catalog minus the items the user has in training):
/// popularity (count of positive training interactions); item-kNN (<see cref="ItemKnn"/>); content (a
/// <see cref="UserProfile"/> over the user's training events with the encoder's item vectors, ranked by
/// <see cref="HybridRanker"/> with collab weight 0); collab (implicit ALS user · item factors, content weight 0);
/// hybrid (both, content weight from validation); hybrid+MMR (hybrid with MMR λ).</item>
/// <item>Metrics (<see cref="RankingMetrics"/>): HR@k, NDCG@k, Recall@k, intra-list diversity and catalog coverage.</item>
/// </list>
/// Deterministic for given data, vectors and options (parallel work writes to per-user slots).
/// </summary>
public static class OfflineEvaluator
{
    /// <summary>Runs the whole protocol. <paramref name="contentVectors"/> is row-major [items × dimension], aligned with <c>data.Items</c>.</summary>
    /// <exception cref="ArgumentException">Vectors do not match the items, an event names an unknown item, or nothing can be evaluated.</exception>
    public static EvaluationReport Run(InteractionData data, float[] contentVectors, int contentDimension, EvaluationOptions? options = null,
        IProgressReporter? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(contentVectors);
        options ??= new EvaluationOptions();
        options.Validate();
        progress ??= NoProgress.Instance;
        int items = data.Items.Count;
        if (items == 0) throw new ArgumentException("the catalog is empty");
        if (contentDimension <= 0 || contentVectors.Length != (long)items * contentDimension)
            throw new ArgumentException($"content vectors hold {contentVectors.Length} floats; expected {items} items × {contentDimension}");

        var catalog = new ItemCatalog(contentDimension, options.Als.Factors);
        var rows = new Dictionary<string, int>(items, StringComparer.Ordinal);
        for (int i = 0; i < items; i++)
        {
            catalog.Upsert(data.Items[i].Id, contentVectors.AsSpan(i * contentDimension, contentDimension), ReadOnlySpan<float>.Empty, null);
            rows[data.Items[i].Id] = i;
        }
        var events = ToEvalEvents(data, rows, options.Mapping, out int users);

        var test = TemporalSplit.Create(events, options.Split);
        if (test.TestUsers.Count == 0)
            throw new ArgumentException($"no user has {options.Split.MinPositives} or more positive interactions: nothing to evaluate");
        var validation = TemporalSplit.Create(test.Train, options.Split);
        if (validation.TestUsers.Count == 0)
            throw new ArgumentException("no user has enough positive training interactions for a validation split");

        var runner = new Runner(catalog, users, options, progress, cancellation);

        // ---- validation: baselines for reference, then ALS λ/α, the hybrid content weight, and MMR λ
        var tuning = new List<TuningStep>();
        var valPhase = runner.Prepare(validation);
        int valUsers = validation.TestUsers.Count;
        var collabOnly = new RankingParameters { ContentWeight = 0, CollabWeight = 1 };
        using (var step = progress.Begin("validation: baselines", 3L * valUsers))
        {
            var pop = new PopularityScores(items, validation.Train);
            var knn = new ItemKnn(users, items, validation.Train);
            void Baseline(string name, int[][] lists)
            {
                var (n, d) = runner.NdcgAndDiversity(valPhase, lists);
                tuning.Add(new TuningStep("baseline", name, n, d));
            }
            Baseline(EvaluationMethods.Popularity, runner.RankByScores(valPhase, (_, scores, _) => pop.Scores.CopyTo(scores), step));
            Baseline(EvaluationMethods.ItemKnn, runner.RankByScores(valPhase, (user, scores, scratch) => knn.Score(user, scores, scratch), step));
            Baseline(EvaluationMethods.Content, runner.RankAll(valPhase, new RankingParameters { ContentWeight = 1, CollabWeight = 0 }, step));
        }
        var als = options.Als;
        AlsOptions? fitted = null; // the ALS options whose factors the catalog holds now
        if (options.AlsGrid.Count > 0)
        {
            double best = double.NegativeInfinity;
            using var step = progress.Begin("validation: ALS λ, α", options.AlsGrid.Count * (options.Als.Iterations + (long)valUsers));
            foreach (var (reg, alpha) in options.AlsGrid)
            {
                var candidate = options.Als with { Regularization = reg, Alpha = alpha };
                runner.FitCollab(valPhase, fitted = candidate, step);
                var (ndcg, ild) = runner.NdcgAndDiversity(valPhase, runner.RankAll(valPhase, collabOnly, step));
                tuning.Add(new TuningStep("ALS", string.Create(CultureInfo.InvariantCulture, $"λ {reg:0.###}, α {alpha:0.###}"), ndcg, ild));
                if (ndcg > best) { best = ndcg; als = candidate; }
            }
        }
        if (fitted != als)
        {
            using var step = progress.Begin("validation: ALS", options.Als.Iterations);
            runner.FitCollab(valPhase, als, step);
        }

        float bestWeight = options.ContentWeightGrid[0];
        double bestNdcg = double.NegativeInfinity, hybridIld = 0;
        using (var step = progress.Begin("validation: hybrid weights", options.ContentWeightGrid.Count * (long)valUsers))
        {
            foreach (float w in options.ContentWeightGrid)
            {
                var lists = runner.RankAll(valPhase, new RankingParameters { ContentWeight = w, CollabWeight = 1 }, step);
                var (ndcg, ild) = runner.NdcgAndDiversity(valPhase, lists);
                tuning.Add(new TuningStep("hybrid", string.Create(CultureInfo.InvariantCulture, $"content weight {w:0.###}"), ndcg, ild));
                if (ndcg > bestNdcg) { bestNdcg = ndcg; bestWeight = w; hybridIld = ild; }
            }
        }
        float bestBoost = 0f;
        RankingParameters Hybrid(float boost, float diversity = 0f) => new()
        {
            ContentWeight = bestWeight, CollabWeight = 1, Diversity = diversity,
            Boosts = boost == 0 ? new Dictionary<string, float>() : new Dictionary<string, float> { [RankingEngine.PopularityField] = boost },
        };
        using (var step = progress.Begin("validation: popularity boost", options.PopularityBoostGrid.Count * (long)valUsers))
        {
            foreach (float b in options.PopularityBoostGrid)
            {
                if (b == 0) continue; // the content-weight search already measured b = 0
                var (ndcg, ild) = runner.NdcgAndDiversity(valPhase, runner.RankAll(valPhase, Hybrid(b), step));
                tuning.Add(new TuningStep("hybrid", string.Create(CultureInfo.InvariantCulture, $"content {bestWeight:0.###}, popularity boost {b:0.###}"), ndcg, ild));
                if (ndcg > bestNdcg) { bestNdcg = ndcg; bestBoost = b; hybridIld = ild; }
            }
        }
        float lambda = options.Diversity ?? 0f;
        if (options.Diversity is null && options.DiversityGrid.Count > 0)
        {
            double bestIld = hybridIld; // λ = 0 unless some λ is more diverse within the NDCG budget
            using var step = progress.Begin("validation: MMR λ", options.DiversityGrid.Count * (long)valUsers);
            foreach (float l in options.DiversityGrid)
            {
                var lists = runner.RankAll(valPhase, Hybrid(bestBoost, l), step);
                var (ndcg, ild) = runner.NdcgAndDiversity(valPhase, lists);
                tuning.Add(new TuningStep("hybrid+MMR", string.Create(CultureInfo.InvariantCulture, $"λ {l:0.##}"), ndcg, ild));
                if (ndcg >= (1 - options.MaxNdcgCost) * bestNdcg && ild > bestIld) { bestIld = ild; lambda = l; }
            }
        }

        // ---- test: refit on all training data and evaluate every method
        var testPhase = runner.Prepare(test);
        using (var step = progress.Begin("test: ALS", als.Iterations))
            runner.FitCollab(testPhase, als, step);
        var results = new List<MethodResult>();
        using (var step = progress.Begin("evaluating methods", EvaluationMethods.All.Count * (long)test.TestUsers.Count))
        {
            var popularity = new PopularityScores(items, test.Train);
            results.Add(runner.Measure(EvaluationMethods.Popularity, testPhase, runner.RankByScores(testPhase, (_, scores, _) => popularity.Scores.CopyTo(scores), step)));
            var knn = new ItemKnn(users, items, test.Train);
            results.Add(runner.Measure(EvaluationMethods.ItemKnn, testPhase, runner.RankByScores(testPhase, (user, scores, scratch) => knn.Score(user, scores, scratch), step)));
            results.Add(runner.Measure(EvaluationMethods.Content, testPhase, runner.RankAll(testPhase, new RankingParameters { ContentWeight = 1, CollabWeight = 0 }, step)));
            results.Add(runner.Measure(EvaluationMethods.Collab, testPhase, runner.RankAll(testPhase, new RankingParameters { ContentWeight = 0, CollabWeight = 1 }, step)));
            results.Add(runner.Measure(EvaluationMethods.Hybrid, testPhase, runner.RankAll(testPhase, Hybrid(bestBoost), step)));
            results.Add(runner.Measure(EvaluationMethods.HybridMmr, testPhase, runner.RankAll(testPhase, Hybrid(bestBoost, lambda), step)));
        }

        int heldOut = 0;
        foreach (var h in test.HeldOut) heldOut += h.Length;
        return new EvaluationReport
        {
            Methods = results,
            K = options.K,
            ContentWeight = bestWeight,
            PopularityBoost = bestBoost,
            Diversity = lambda,
            Als = als,
            DiversityTuned = options.Diversity is null,
            Tuning = tuning,
            Items = items,
            Users = users,
            Events = events.Count,
            TrainEvents = test.Train.Count,
            TestUsers = test.TestUsers.Count,
            HeldOutItems = heldOut,
            ValidationUsers = validation.TestUsers.Count,
        };
    }

    /// <summary>Dense user indexes (first appearance) and item rows; relevance by rating, else by kind.</summary>
    public static List<EvalEvent> ToEvalEvents(InteractionData data, IReadOnlyDictionary<string, int> rows, RatingMapping mapping, out int users)
    {
        var userIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<EvalEvent>(data.Events.Count);
        for (int k = 0; k < data.Events.Count; k++)
        {
            var e = data.Events[k];
            if (!rows.TryGetValue(e.ItemId, out int row)) throw new ArgumentException($"event {k + 1} (user '{e.UserId}') names item '{e.ItemId}', which is not in the catalog");
            if (!userIndex.TryGetValue(e.UserId, out int user)) userIndex[e.UserId] = user = userIndex.Count;
            bool positive = e.Rating is float r ? mapping.IsPositive(r) : e.Kind is UserEventKind.Like or UserEventKind.Purchase or UserEventKind.Click;
            result.Add(new EvalEvent(user, row, e.Kind, e.Weight, positive, e.Timestamp));
        }
        users = userIndex.Count;
        return result;
    }

    /// <summary>
    /// ALS input from a training event: positive interactions (rating ≥ 4, or like/click/purchase) with strength =
    /// the event's weight; everything else counts as unobserved (preference 0). On the MovieLens validation split,
    /// also feeding the middling ratings as weak positives (view-weighted) lowered collab NDCG@10 by about a fifth.
    /// </summary>
    public static float CollabStrength(in EvalEvent e) => e.Positive ? e.Weight : 0f;

    /// <summary>One phase's fitted models and per-user queries.</summary>
    private sealed class Phase
    {
        public required TemporalSplit Split { get; init; }
        /// <summary>Items each user has in this phase's training data (never recommended back).</summary>
        public required HashSet<int>[] Seen { get; init; }
        /// <summary>Per evaluated user (aligned with Split.TestUsers): content query, or empty when no signal.</summary>
        public required float[][] ContentQuery { get; init; }
        /// <summary>Per evaluated user: the ALS user factor (set by FitCollab).</summary>
        public float[][] CollabQuery { get; set; } = Array.Empty<float[]>();
        public required HashSet<int>[] Relevant { get; init; }
    }

    private sealed class Runner
    {
        private readonly ItemCatalog _catalog;
        private readonly int _users;
        private readonly EvaluationOptions _o;
        private readonly IProgressReporter _progress;
        private readonly CancellationToken _cancel;
        private readonly ParallelOptions _parallel;

        public Runner(ItemCatalog catalog, int users, EvaluationOptions options, IProgressReporter progress, CancellationToken cancel)
        {
            _catalog = catalog;
            _users = users;
            _o = options;
            _progress = progress;
            _cancel = cancel;
            _parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount, CancellationToken = cancel };
        }

        /// <summary>Seen items, content queries and relevant sets of a split's evaluated users.</summary>
        public Phase Prepare(TemporalSplit split)
        {
            var seen = new HashSet<int>[_users];
            for (int u = 0; u < _users; u++) seen[u] = new HashSet<int>();
            foreach (var e in split.Train) seen[e.User].Add(e.Item);

            // The popularity field the hybrid may boost: ln(1 + positive interactions) in this phase's training data
            // only, so held-out interactions never leak into it.
            var positives = new int[_catalog.RowCount];
            foreach (var e in split.Train) if (e.Positive) positives[e.Item]++;
            for (int i = 0; i < positives.Length; i++)
                _catalog.SetFields(_catalog.IdOf(i), new ItemFields { Numbers = new Dictionary<string, double> { [RankingEngine.PopularityField] = Math.Log(1 + positives[i]) } });

            // Train events are grouped by user in time order: fold each evaluated user's into a profile.
            var position = new Dictionary<int, int>(split.TestUsers.Count);
            for (int t = 0; t < split.TestUsers.Count; t++) position[split.TestUsers[t]] = t;
            var profiles = new UserProfile?[split.TestUsers.Count];
            double halfLife = _o.HalfLifeDays * 86400.0;
            foreach (var e in split.Train)
            {
                if (!position.TryGetValue(e.User, out int t)) continue;
                var profile = profiles[t] ??= new UserProfile(_catalog.ContentDimension);
                var item = _catalog.Content(e.Item);
                if (!item.IsEmpty) profile.Add(item, _o.Weights.For(e.Kind) * e.Weight, e.Timestamp, halfLife);
            }
            var content = new float[split.TestUsers.Count][];
            var relevant = new HashSet<int>[split.TestUsers.Count];
            for (int t = 0; t < content.Length; t++)
            {
                var v = new float[_catalog.ContentDimension];
                content[t] = profiles[t] is { } p && p.TryGetVector(v) ? v : Array.Empty<float>();
                relevant[t] = new HashSet<int>(split.HeldOut[t]);
            }
            return new Phase { Split = split, Seen = seen, ContentQuery = content, Relevant = relevant };
        }

        /// <summary>Fits ALS on the phase's training events; installs item factors in the catalog and user factors as queries.</summary>
        public void FitCollab(Phase phase, AlsOptions options, IProgressStep step)
        {
            var split = phase.Split;
            var interactions = new List<Interaction>(split.Train.Count);
            foreach (var e in split.Train)
            {
                float s = CollabStrength(e);
                if (s > 0) interactions.Add(new Interaction(e.User, e.Item, s));
            }
            var matrix = InteractionMatrix.Build(_users, _catalog.RowCount, interactions.ToArray());
            var als = ImplicitAls.Train(matrix, options with { Threads = _o.Threads }, (_, _) => step.Advance(), _cancel);
            var factor = new float[als.Factors];
            for (int i = 0; i < _catalog.RowCount; i++)
            {
                als.ItemFactor(i, factor);
                _catalog.SetCollab(_catalog.IdOf(i), factor);
            }
            var collab = new float[split.TestUsers.Count][];
            for (int t = 0; t < collab.Length; t++)
            {
                collab[t] = new float[als.Factors];
                als.UserFactor(split.TestUsers[t], collab[t]);
            }
            phase.CollabQuery = collab;
        }

        /// <summary>Top-k of every evaluated user through <see cref="HybridRanker"/>.</summary>
        public int[][] RankAll(Phase phase, RankingParameters parameters, IProgressStep step)
        {
            var users = phase.Split.TestUsers;
            var lists = new int[users.Count][];
            Parallel.For(0, users.Count, _parallel, t =>
            {
                var collab = phase.CollabQuery.Length > 0 ? phase.CollabQuery[t] : Array.Empty<float>(); // none before FitCollab
                var query = new RankingQuery(phase.ContentQuery[t], collab);
                var ranked = HybridRanker.Rank(_catalog, query, parameters, new CandidateSet { Excluded = phase.Seen[users[t]] }, _o.K);
                var list = new int[ranked.Count];
                for (int r = 0; r < list.Length; r++) _catalog.TryGetRow(ranked[r].Id, out list[r]);
                lists[t] = list;
                step.Advance();
            });
            return lists;
        }

        /// <summary>Top-k of every evaluated user by a per-user score vector (baselines); ties by item id, as the ranker.</summary>
        public int[][] RankByScores(Phase phase, Action<int, Span<double>, Span<double>> score, IProgressStep step)
        {
            var users = phase.Split.TestUsers;
            var lists = new int[users.Count][];
            Parallel.For(0, users.Count, _parallel, t =>
            {
                var scores = new double[_catalog.RowCount];
                var scratch = new double[_users];
                int user = users[t];
                score(user, scores, scratch);
                var selector = new TopKSelector(_o.K, _catalog);
                var seen = phase.Seen[user];
                for (int i = 0; i < scores.Length; i++)
                    if (!seen.Contains(i)) selector.Offer((float)scores[i], i);
                var top = selector.Drain();
                var list = new int[top.Length];
                for (int r = 0; r < list.Length; r++) list[r] = top[r].Row;
                lists[t] = list;
                step.Advance();
            });
            return lists;
        }

        public (double Ndcg, double Ild) NdcgAndDiversity(Phase phase, int[][] lists)
        {
            double ndcg = 0, ild = 0;
            int ildCount = 0;
            for (int t = 0; t < lists.Length; t++)
            {
                ndcg += RankingMetrics.Ndcg(lists[t], phase.Relevant[t], _o.K);
                if (RankingMetrics.IntraListDiversity(lists[t], _catalog, _o.K) is double d) { ild += d; ildCount++; }
            }
            return (ndcg / lists.Length, ildCount == 0 ? 0 : ild / ildCount);
        }

        public MethodResult Measure(string method, Phase phase, int[][] lists)
        {
            double hr = 0, ndcg = 0, recall = 0, ild = 0;
            int ildCount = 0;
            for (int t = 0; t < lists.Length; t++)
            {
                var relevant = phase.Relevant[t];
                hr += RankingMetrics.HitRate(lists[t], relevant, _o.K);
                ndcg += RankingMetrics.Ndcg(lists[t], relevant, _o.K);
                recall += RankingMetrics.Recall(lists[t], relevant, _o.K);
                if (RankingMetrics.IntraListDiversity(lists[t], _catalog, _o.K) is double d) { ild += d; ildCount++; }
            }
            int n = lists.Length;
            return new MethodResult(method, hr / n, ndcg / n, recall / n, ildCount == 0 ? 0 : ild / ildCount,
                RankingMetrics.CatalogCoverage(lists, _catalog.RowCount, _o.K), n);
        }
    }
}
