using System.Globalization;
using System.Text;
using RankEngine.Data;
using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Evaluation;

/// <summary>Parameters of <see cref="ServedEvaluator"/>.</summary>
internal sealed record ServedEvaluationOptions
{
    /// <summary>List length of every metric and of the RANK calls.</summary>
    public int K { get; init; } = 10;
    /// <summary>Which ratings are relevant (≥ 4 stars); events without a rating are relevant when a like, click or purchase.</summary>
    public RatingMapping Mapping { get; init; } = RatingMapping.Default;
    public SplitOptions Split { get; init; } = new();
    /// <summary>EASE baseline λ values; the report keeps each and names the best on the test split.</summary>
    public IReadOnlyList<double> EaseLambdas { get; init; } = [100, 200, 400];
    /// <summary>Also rank with single score parts switched off (content weight 0, popularity boost 0), to show what each adds.</summary>
    public bool Ablations { get; init; } = true;
    /// <summary>Share of the catalog whose training events are removed for the item-cold-start variant (0: skip it).</summary>
    public double ColdItemFraction { get; init; } = 0.1;
    /// <summary>Tags field for the metadata diversity metric (1 − Jaccard); MovieLens: genres.</summary>
    public string TagsField { get; init; } = "genres";
    public int Seed { get; init; } = 42;
    /// <summary>Model file for the engine stores (null: vectors only).</summary>
    public string? ModelPath { get; init; }
    public string Backend { get; init; } = "auto";
    /// <summary>Directory for the stores; null: a temporary one, deleted afterwards (a given one is kept).</summary>
    public string? WorkDirectory { get; init; }
    /// <summary>Content vectors by item id, used instead of encoding item texts (required without <see cref="ModelPath"/>).</summary>
    public IReadOnlyDictionary<string, float[]>? ContentVectors { get; init; }
    /// <summary>The engine stores' catalog quantisation (the served option <see cref="RankingEngineOptions.Quantization"/>; default None, as shipped).</summary>
    public CatalogQuantization Quantization { get; init; } = CatalogQuantization.None;
}

/// <summary>One row of the report.</summary>
internal sealed record ServedResult(string Method, double HitRate, double Ndcg, double Recall, double ContentDiversity, double TagDiversity,
    double Coverage, int Users, int ColdHits = 0);

/// <summary>What <see cref="ServedEvaluator.Run"/> measured.</summary>
internal sealed record ServedReport(IReadOnlyList<ServedResult> Rows, int K, ModelDescription Model, int TestUsers, int HeldOut, int TrainEvents, int ColdItems)
{
    /// <summary>The served lists behind the "served" row, by user id (what RANK returned).</summary>
    public IReadOnlyDictionary<string, string[]> ServedLists { get; init; } = new Dictionary<string, string[]>();

    public ServedResult this[string method] => Rows.First(r => r.Method == method);

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        string k = K.ToString(CultureInfo.InvariantCulture);
        sb.Append($"| method | HR@{k} | NDCG@{k} | Recall@{k} | ILD content | ILD genres | coverage | cold hits |\n");
        sb.Append("|:--|--:|--:|--:|--:|--:|--:|--:|\n");
        foreach (var m in Rows)
            sb.Append(CultureInfo.InvariantCulture, $"| {m.Method} | {m.HitRate:F4} | {m.Ndcg:F4} | {m.Recall:F4} | {m.ContentDiversity:F4} | {m.TagDiversity:F4} | {m.Coverage:F4} | {m.ColdHits} |\n");
        return sb.ToString();
    }
}

/// <summary>
/// Evaluates what RANK serves and nothing else. Per split (the temporal split of <see cref="TemporalSplit"/>), the
/// training events go into a fresh engine store through <see cref="Ingestion.Run"/> (as <c>rankengine ingest</c>
/// does), <see cref="RankingEngine.Train"/> fits and tunes the model exactly as at the end of ingest, and every
/// test user is ranked with the engine's public <see cref="RankingEngine.Rank"/>: <c>K k, EXCLUDE_SEEN</c> and the
/// stored defaults ("served"), and again with the trained recommended diversity ("served + MMR"). Baselines are
/// computed here, independently, on the same training events: popularity, item-kNN, exact EASE. The item-cold-start
/// variant removes every training event of a random share of the items (they stay in the catalog with their text)
/// and serves with and without the content→factor mapping.
/// </summary>
internal static class ServedEvaluator
{
    public const string Popularity = "popularity";
    public const string ItemKnnName = "item-kNN";
    public const string Served = "served (shipped defaults)";
    public const string ServedMmr = "served + MMR (default λ)";
    public const string ColdServed = "cold-start: served";
    public const string ColdNoMapping = "cold-start: served, no content mapping";

    public static ServedReport Run(InteractionData data, ServedEvaluationOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        int k = options.K;
        var rows = new Dictionary<string, int>(data.Items.Count, StringComparer.Ordinal);
        for (int i = 0; i < data.Items.Count; i++) rows[data.Items[i].Id] = i;
        var userIds = new List<string>();
        var events = ToEvalEvents(data, rows, options.Mapping, userIds);
        var split = TemporalSplit.Create(events, options.Split);
        if (split.TestUsers.Count == 0) throw new ArgumentException("no user has enough positives to evaluate");
        log?.Invoke($"split: {split.Train.Count:N0} training events, {split.TestUsers.Count} test users, {split.HeldOut.Sum(h => h.Length):N0} held-out items");
        var trainEvents = split.Train.Select(e => e.Index).ToHashSet();
        string work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "rankengine-eval-" + Guid.NewGuid().ToString("N")[..8]);
        var results = new List<ServedResult>();
        var tags = data.Items.Select(i => i.Fields.Tags.TryGetValue(options.TagsField, out var t) ? t : null).ToArray();
        try
        {
            // Baselines, computed independently.
            int users = userIds.Count, items = data.Items.Count;
            var seen = new HashSet<int>[users];
            for (int u = 0; u < users; u++) seen[u] = new HashSet<int>();
            foreach (var e in split.Train) seen[e.User].Add(e.Item);
            var pop = new PopularityScores(items, split.Train);
            results.Add(Measure(Popularity, split, TopByScores(split, seen, items, k, (_, s) => { for (int i = 0; i < items; i++) s[i] = pop.Scores[i]; }), null, tags, items, k));
            var knn = new ItemKnn(users, items, split.Train);
            // Users are scored in parallel: each thread needs its own scratch.
            using var scratch = new ThreadLocal<double[]>(() => new double[users]);
            results.Add(Measure(ItemKnnName, split, TopByScores(split, seen, items, k, (u, s) => knn.Score(u, s, scratch.Value!)), null, tags, items, k));
            foreach (double lambda in options.EaseLambdas)
            {
                log?.Invoke($"EASE λ={lambda}");
                var ease = new EaseBaseline(users, items, split.Train, lambda);
                results.Add(Measure($"EASE λ={lambda.ToString(CultureInfo.InvariantCulture)}", split, TopByScores(split, seen, items, k, (u, s) => ease.Score(u, s)), null, tags, items, k));
            }

            // The served path.
            var (model, served, mmr, contentVectors, ablations) = Serve(data, split, trainEvents, userIds, rows, options, Path.Combine(work, "main"), log, ModelOptions(true), null);
            results.Add(Measure(Served, split, served, contentVectors, tags, items, k));
            results.Add(Measure(ServedMmr, split, mmr, contentVectors, tags, items, k));
            foreach (var (name, lists) in ablations) results.Add(Measure(name, split, lists, contentVectors, tags, items, k));
            var encoded = new Dictionary<string, float[]>(items, StringComparer.Ordinal);
            int dim = contentVectors.Length / Math.Max(1, items);
            for (int i = 0; i < items; i++) encoded[data.Items[i].Id] = contentVectors.AsSpan(i * dim, dim).ToArray();

            int coldCount = 0;
            if (options.ColdItemFraction > 0)
            {
                var random = new Random(options.Seed);
                var trained = split.Train.Select(e => e.Item).Distinct().OrderBy(i => i).ToList();
                var cold = trained.OrderBy(_ => random.Next()).Take((int)(trained.Count * options.ColdItemFraction)).ToHashSet();
                coldCount = cold.Count;
                var coldTrain = split.Train.Where(e => !cold.Contains(e.Item)).Select(e => e.Index).ToHashSet();
                var coldSplit = split.WithTrain(split.Train.Where(e => !cold.Contains(e.Item)).ToList());
                foreach (bool mapping in new[] { true, false })
                {
                    var (_, lists, _, vectors, _) = Serve(data, coldSplit, coldTrain, userIds, rows, options with { Ablations = false },
                        Path.Combine(work, mapping ? "cold" : "cold-nomap"), log, ModelOptions(mapping), encoded);
                    int hits = 0;
                    for (int t = 0; t < coldSplit.TestUsers.Count; t++)
                        foreach (int item in lists[t].Take(k))
                            if (cold.Contains(item) && coldSplit.HeldOut[t].Contains(item)) hits++;
                    results.Add(Measure(mapping ? ColdServed : ColdNoMapping, coldSplit, lists, vectors, tags, items, k) with { ColdHits = hits });
                }
            }
            var servedLists = new Dictionary<string, string[]>(StringComparer.Ordinal);
            for (int t = 0; t < split.TestUsers.Count; t++) servedLists[userIds[split.TestUsers[t]]] = served[t].Select(row => data.Items[row].Id).ToArray();
            return new ServedReport(results, k, model, split.TestUsers.Count, split.HeldOut.Sum(h => h.Length), split.Train.Count, coldCount) { ServedLists = servedLists };
        }
        finally
        {
            if (options.WorkDirectory is null && Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }

    private static TrainOptions ModelOptions(bool mapping) => new() { ContentMapping = mapping };

    /// <summary>Ingest the training events into a fresh store, train, and RANK every test user through the public API.</summary>
    private static (ModelDescription Model, int[][] Served, int[][] Mmr, float[] Content, List<(string, int[][])> Ablations) Serve(InteractionData data,
        TemporalSplit split, HashSet<int> trainEventIndexes, List<string> userIds, Dictionary<string, int> rows, ServedEvaluationOptions options,
        string directory, Action<string>? log, TrainOptions train, IReadOnlyDictionary<string, float[]>? encoded)
    {
        var trainData = new InteractionData(data.Items, data.Events.Where((_, i) => trainEventIndexes.Contains(i)).ToList(), data.Source + " (training part)");
        if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        encoded ??= options.ContentVectors;
        using var engine = RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = directory,
            ModelPath = options.ModelPath,
            ContentDimension = options.ModelPath is null ? encoded?.Values.FirstOrDefault()?.Length ?? 0 : 0,
            Backend = options.Backend,
            CheckpointInterval = null,
            Quantization = options.Quantization,
        });
        log?.Invoke($"ingest into {directory}");
        Ingestion.Run(engine, trainData, contentVectors: encoded);
        var model = engine.Train(train, line => log?.Invoke("  " + line));
        int k = options.K;
        var served = new int[split.TestUsers.Count][];
        var mmr = new int[split.TestUsers.Count][];
        Parallel.For(0, split.TestUsers.Count, t =>
        {
            string user = userIds[split.TestUsers[t]];
            served[t] = Rows(engine.Rank(new RankRequest { UserId = user, K = k, ExcludeSeen = true }), rows);
            mmr[t] = Rows(engine.Rank(new RankRequest { UserId = user, K = k, ExcludeSeen = true, Diversity = model.Defaults.RecommendedDiversity }), rows);
        });
        var ablations = new List<(string, int[][])>();
        if (options.Ablations)
        {
            foreach (var (name, request) in new (string, Func<string, RankRequest>)[]
            {
                ("served, content weight 0", u => new RankRequest { UserId = u, K = k, ExcludeSeen = true, ContentWeight = 0 }),
                ("served, popularity boost 0", u => new RankRequest { UserId = u, K = k, ExcludeSeen = true, Boosts = new Dictionary<string, float> { [RankingEngine.PopularityField] = 0 } }),
                ("served, model part only", u => new RankRequest { UserId = u, K = k, ExcludeSeen = true, ContentWeight = 0, Boosts = new Dictionary<string, float> { [RankingEngine.PopularityField] = 0 } }),
            })
            {
                var lists = new int[split.TestUsers.Count][];
                Parallel.For(0, split.TestUsers.Count, t => lists[t] = Rows(engine.Rank(request(userIds[split.TestUsers[t]])), rows));
                ablations.Add((name, lists));
            }
        }
        int d = engine.ContentDimension;
        var content = new float[data.Items.Count * d];
        for (int i = 0; i < data.Items.Count; i++)
            if (engine.TryGetItem(data.Items[i].Id, out var item) && item!.Vectors.TryGetValue("content", out var v)) v.CopyTo(content, i * d);
        return (model, served, mmr, content, ablations);
    }

    private static int[] Rows(RankResponse response, Dictionary<string, int> rows) => response.Items.Select(i => rows[i.Id]).ToArray();

    private static int[][] TopByScores(TemporalSplit split, HashSet<int>[] seen, int items, int k, Action<int, double[]> score)
    {
        var lists = new int[split.TestUsers.Count][];
        Parallel.For(0, split.TestUsers.Count, () => new double[items], (t, _, s) =>
        {
            int u = split.TestUsers[t];
            score(u, s);
            var order = Enumerable.Range(0, items).Where(i => !seen[u].Contains(i)).OrderByDescending(i => s[i]).ThenBy(i => i).Take(k).ToArray();
            lists[t] = order;
            return s;
        }, _ => { });
        return lists;
    }

    private static ServedResult Measure(string method, TemporalSplit split, int[][] lists, float[]? content, IReadOnlyList<string>?[] tags, int items, int k)
    {
        double hr = 0, ndcg = 0, recall = 0, ildContent = 0, ildTags = 0;
        int withContent = 0;
        for (int t = 0; t < lists.Length; t++)
        {
            var relevant = split.HeldOut[t].ToHashSet();
            hr += RankingMetrics.HitRate(lists[t], relevant, k);
            ndcg += RankingMetrics.Ndcg(lists[t], relevant, k);
            recall += RankingMetrics.Recall(lists[t], relevant, k);
            ildTags += RankingMetrics.TagDiversity(lists[t], tags, k);
            if (content is not null) { ildContent += RankingMetrics.ContentDiversity(lists[t], content, content.Length / Math.Max(1, items), k); withContent++; }
        }
        int n = Math.Max(1, lists.Length);
        return new ServedResult(method, hr / n, ndcg / n, recall / n, withContent == 0 ? double.NaN : ildContent / withContent, ildTags / n,
            RankingMetrics.CatalogCoverage(lists, items, k), lists.Length);
    }

    /// <summary>Dense user and item indexes for the split; relevance from the rating (≥ 4) or the kind.</summary>
    internal static List<EvalEvent> ToEvalEvents(InteractionData data, Dictionary<string, int> rows, RatingMapping mapping, List<string> userIds)
    {
        var userIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<EvalEvent>(data.Events.Count);
        for (int i = 0; i < data.Events.Count; i++)
        {
            var e = data.Events[i];
            if (!rows.TryGetValue(e.ItemId, out int row)) throw new ArgumentException($"event {i + 1} (user '{e.UserId}') names item '{e.ItemId}', which is not in the catalog");
            if (!userIndex.TryGetValue(e.UserId, out int user)) { userIndex[e.UserId] = user = userIds.Count; userIds.Add(e.UserId); }
            bool positive = e.Rating is float r ? mapping.IsPositive(r) : e.Kind is UserEventKind.Like or UserEventKind.Purchase or UserEventKind.Click;
            result.Add(new EvalEvent(user, row, e.Kind, e.Weight, positive, e.Timestamp) { Index = i });
        }
        return result;
    }
}
