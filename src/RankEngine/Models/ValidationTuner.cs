using System.Numerics.Tensors;
using RankEngine.Models.Linear;
using RankEngine.Ranking;

namespace RankEngine.Models;

/// <summary>
/// Chooses the model's and the served ranking's settings by NDCG@K on a validation split, by coordinate search
/// over one decomposition (λ and the rank need no refit). Each candidate is scored the way RANK serves it: model
/// part (cold items from the content maps), content part from the engine's pooled profile, popularity boost,
/// seen items excluded, whole catalog.
/// </summary>
internal sealed class ValidationTuner : IDisposable
{
    /// <summary>Validation users scored per backend call (queries × catalog in one multi-query scan).</summary>
    private const int UsersPerScan = 64;
    private readonly Compute.Simd.SimdCpuBackend _backend = new();
    private Compute.ICatalogMatrix? _contentMatrix;
    // Factor-of-two steps: finer steps only chase validation noise (150 vs 200 vs 300 swap places between splits).
    private static readonly double[] Lambdas = [12.5, 25, 50, 100, 200, 400, 800, 1600, 3200];
    /// <summary>
    /// Relative NDCG gain an optional refinement (recency decay, weak or negative events, content or popularity
    /// weight) must show on validation to be adopted: smaller gains are within the noise of a few hundred users and
    /// did not carry over to the test split.
    /// </summary>
    internal const double MinRelativeGain = 0.01;
    /// <summary>Largest relative NDCG@K loss on validation the recommended diversity may cost.</summary>
    internal const double MaxDiversityCost = 0.02;
    private static readonly double[] HalfLives = [0, 90, 365, 1000, 3000];
    private static readonly float[] ContentWeights = [0, 0.02f, 0.05f, 0.1f, 0.2f];
    private static readonly float[] PopularityBoosts = [0, 0.01f, 0.03f, 0.1f];
    private static readonly float[] ColdScales = [0.1f, 0.25f, 0.5f, 1f];
    private static readonly float[] Diversities = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f];

    private readonly SpectralEase _decomposition;
    private readonly int[] _activeRows;
    private readonly TrainingCatalog _catalog;
    private readonly List<ModelTrainer.ValidationUser> _users;
    private readonly TrainOptions _options;
    private readonly Dictionary<string, int> _index;
    private readonly float[][] _profiles; // engine-style content profile per validation user (empty: none)
    private readonly int[][] _seen;
    private readonly Dictionary<(double, int), Prepared> _cache = new();
    private readonly LinkedList<(double, int)> _recent = new();
    private ContentRidge? _ridge; // built once, for the first (λ, rank) that needs it
    private readonly float[]? _mean; // catalog mean content vector: MMR's centre
    private readonly HashSet<int> _seenRows; // rows with any event in the fit part: not cold, whether liked or not

    /// <param name="decomposition">The eigendecomposition of the fit part's XᵀX.</param>
    /// <param name="activeRows">Catalog rows of the items the decomposition covers.</param>
    /// <param name="seenRows">Catalog rows with any event in the fit part (not cold, whether liked or not).</param>
    /// <param name="catalog">The training catalog (ids, content vectors, tags).</param>
    /// <param name="index">Catalog row of each item id (the trainer's).</param>
    /// <param name="users">The validation users with their held-out items.</param>
    /// <param name="options">The training options (K, seed, limits).</param>
    /// <param name="eventWeights">The engine's event weights (for the content profile).</param>
    /// <param name="profileHalfLife">The engine's profile half-life (for the content profile).</param>
    public ValidationTuner(SpectralEase decomposition, int[] activeRows, HashSet<int> seenRows, TrainingCatalog catalog, Dictionary<string, int> index,
        List<ModelTrainer.ValidationUser> users, TrainOptions options, EventWeights eventWeights, TimeSpan profileHalfLife)
    {
        _seenRows = seenRows;
        _mean = catalog.ContentDimension > 0 ? ModelTrainer.Mean(catalog) : null;
        _decomposition = decomposition;
        _activeRows = activeRows;
        _catalog = catalog;
        _users = users;
        _options = options;
        _index = index;
        int d = catalog.ContentDimension;
        _profiles = new float[users.Count][];
        _seen = new int[users.Count][];
        for (int u = 0; u < users.Count; u++)
        {
            var events = users[u].Train.Events;
            var seen = new HashSet<int>();
            var profile = d > 0 ? new UserProfile(d) : null;
            foreach (var e in events)
            {
                if (!_index.TryGetValue(e.ItemId, out int row)) continue;
                seen.Add(row);
                float w = eventWeights.For(e.Kind) * e.Weight;
                if (profile is not null && w != 0) profile.Add(catalog.Content.AsSpan(row * d, d), w, e.TimestampMs, profileHalfLife.TotalMilliseconds);
            }
            _seen[u] = seen.ToArray();
            var v = d > 0 ? new float[d] : [];
            _profiles[u] = profile is not null && profile.TryGetVector(v) ? v : [];
        }
    }

    public (ModelTrainer.Settings Settings, double Ndcg) Tune(ModelTrainer.Settings start, Action<string>? log)
    {
        var best = start;
        double bestNdcg = -1;
        void Try(ModelTrainer.Settings candidate, string what, double minGain)
        {
            if (candidate == best && bestNdcg >= 0) return;
            double ndcg = Evaluate(candidate, diversity: 0, out _);
            log?.Invoke($"validation {what}: NDCG@{_options.K} {ndcg:F4}");
            if (ndcg > bestNdcg * (1 + minGain) + 1e-12) { bestNdcg = ndcg; best = candidate; }
        }
        int maxRank = Math.Min(start.Rank, _decomposition.Rank);
        foreach (double lambda in Lambdas) Try(best with { Lambda = lambda, Rank = maxRank }, $"λ={lambda}", 0);
        // The largest affordable rank approximates EASE best; a smaller one must be clearly better to be chosen.
        foreach (int rank in new[] { 256, 128 }.Where(r => r < maxRank)) Try(best with { Rank = rank }, $"rank={rank}", MinRelativeGain);
        foreach (double h in HalfLives) Try(best with { Weights = best.Weights with { HalfLifeDays = h } }, $"half-life={h}d", MinRelativeGain);
        if (!best.Weights.ViewsArePositive) foreach (float v in new[] { 0f, 0.25f }) Try(best with { Weights = best.Weights with { View = v } }, $"view={v}", MinRelativeGain);
        foreach (float n in new[] { -0.5f, 0f }) Try(best with { Weights = best.Weights with { Negative = n } }, $"negative={n}", MinRelativeGain);
        if (_catalog.ContentDimension > 0) foreach (float w in ContentWeights) Try(best with { ContentWeight = w }, $"content={w}", MinRelativeGain);
        if (_catalog.Popularity is not null) foreach (float b in PopularityBoosts) Try(best with { PopularityBoost = b }, $"popularity={b}", MinRelativeGain);

        // Cold items: the largest weight on content-predicted factors that costs at most 2% of NDCG (at least the smallest,
        // so a new item is never unrankable).
        if (_options.ContentMapping && _catalog.ContentDimension > 0)
        {
            float cold = ColdScales[0];
            foreach (float a in ColdScales)
            {
                double ndcg = Evaluate(best with { ColdScale = a }, diversity: 0, out _);
                log?.Invoke($"validation cold-item weight={a}: NDCG@{_options.K} {ndcg:F4}");
                if (ndcg >= (1 - MaxDiversityCost) * bestNdcg) cold = a;
            }
            best = best with { ColdScale = cold };
            bestNdcg = Math.Max(bestNdcg, Evaluate(best, diversity: 0, out _));
        }

        // Diversity: the λ with the most intra-list diversity (of tags when the catalog has a tag field) among those
        // costing at most 2% of NDCG.
        float chosen = 0;
        if (_catalog.ContentDimension > 0 || _catalog.Tags is not null)
        {
            double bestIld = -1;
            foreach (float lambda in Diversities)
            {
                double ndcg = Evaluate(best, lambda, out double ild);
                log?.Invoke($"validation diversity={lambda}: NDCG@{_options.K} {ndcg:F4}, ILD {ild:F4}");
                if (ndcg >= (1 - MaxDiversityCost) * bestNdcg && ild > bestIld) { bestIld = ild; chosen = lambda; }
            }
        }
        return (best with { Diversity = chosen }, bestNdcg);
    }

    private sealed record Prepared(float[] CatalogOutput, float[] Input, int Rank, Dictionary<int, int> ModelIndexOfRow, bool[] Mapped,
        Compute.ICatalogMatrix Matrix);

    public void Dispose()
    {
        foreach (var p in _cache.Values) p.Matrix.Dispose();
        _contentMatrix?.Dispose();
        _backend.Dispose();
    }

    /// <summary>Scores users [start, start + count) against a catalog matrix on the SIMD backend: count × rows scores.</summary>
    private float[] ScoreUsers(Compute.ICatalogMatrix matrix, int count, int dimension, Action<int, Span<float>> query)
    {
        var queries = new float[count * dimension];
        for (int i = 0; i < count; i++) query(i, queries.AsSpan(i * dimension, dimension));
        var scores = new float[(long)count * matrix.Count > Array.MaxLength ? throw new InvalidOperationException("validation scan too large") : count * matrix.Count];
        _backend.Score(queries, matrix, scores);
        return scores;
    }

    private Compute.ICatalogMatrix ContentMatrix()
    {
        if (_contentMatrix is not null) return _contentMatrix;
        int n = _catalog.Ids.Length, d = _catalog.ContentDimension;
        _contentMatrix = _backend.CreateCatalog(d, Math.Max(1, n));
        _contentMatrix.Upload(_catalog.Content.AsSpan(0, n * d));
        return _contentMatrix;
    }
    private readonly Dictionary<(double, int, ModelInputWeights), double> _scales = new();

    /// <summary>Same scaling rule as the final model: a user's best unseen item scores about 1.</summary>
    private double Scale(ModelTrainer.Settings s, Prepared p)
    {
        if (_scales.TryGetValue((s.Lambda, s.Rank, s.Weights), out double scale)) return scale;
        var f = new SpectralEase.Factors(_activeRows.Length, p.Rank, p.Input, p.CatalogOutput);
        int r = p.Rank, n = _catalog.Ids.Length, users = Math.Min(200, _users.Count);
        double sum = 0;
        int count = 0;
        for (int start = 0; start < users; start += UsersPerScan)
        {
            int m = Math.Min(UsersPerScan, users - start);
            var has = new bool[m];
            var scores = ScoreUsers(p.Matrix, m, r, (i, q) => has[i] = ModelTrainer.PooledInput(_users[start + i].Train.Events, s.Weights, _index, p.ModelIndexOfRow, f, q));
            for (int i = 0; i < m; i++)
            {
                if (!has[i]) continue;
                var seen = new HashSet<int>(_seen[start + i]);
                float best = float.NegativeInfinity;
                foreach (int row in _activeRows)
                    if (!seen.Contains(row)) best = Math.Max(best, scores[i * n + row]);
                if (float.IsFinite(best) && best > 0) { sum += best; count++; }
            }
        }
        scale = count == 0 || !(sum > 0) ? 1 : count / sum;
        _scales[(s.Lambda, s.Rank, s.Weights)] = scale;
        return scale;
    }

    private Prepared Prepare(double lambda, int rank)
    {
        if (_cache.TryGetValue((lambda, rank), out var p))
        {
            _recent.Remove((lambda, rank));
            _recent.AddLast((lambda, rank));
            return p;
        }
        // Each entry holds two items × rank matrices: keep the two most recently used (memory stays O(items × rank)).
        while (_cache.Count >= 2)
        {
            var oldest = _recent.First!.Value;
            _recent.RemoveFirst();
            _cache[oldest].Matrix.Dispose();
            _cache.Remove(oldest);
        }
        var f = _decomposition.FactorsFor(lambda, rank);
        int n = _catalog.Ids.Length, r = f.Rank, d = _catalog.ContentDimension;
        var modelIndexOfRow = new Dictionary<int, int>(_activeRows.Length);
        for (int m = 0; m < _activeRows.Length; m++) modelIndexOfRow[_activeRows[m]] = m;
        var output = new float[n * r];
        var mapped = new bool[n];
        for (int m = 0; m < _activeRows.Length; m++) f.Output.AsSpan(m * r, r).CopyTo(output.AsSpan(_activeRows[m] * r, r));
        if (_options.ContentMapping && d > 0 && _activeRows.Length > 0)
        {
            // Items without learned factors get the ridge-predicted output factor, as served.
            _ridge ??= new ContentRidge(_catalog, _activeRows);
            var map = _ridge.Map(f.Output, r);
            Parallel.For(0, n, row =>
            {
                // Only cold items (no event at all) are predicted from content; an item with events but no positive
                // has evidence against it and keeps a zero factor.
                if (modelIndexOfRow.ContainsKey(row) || _seenRows.Contains(row)) return;
                mapped[row] = true;
                ContentRidge.Predict(map, _catalog.Content.AsSpan(row * d, d), output.AsSpan(row * r, r));
            });
        }
        var matrix = _backend.CreateCatalog(r, Math.Max(1, n));
        matrix.Upload(output);
        p = new Prepared(output, f.Input, r, modelIndexOfRow, mapped, matrix);
        _cache[(lambda, rank)] = p;
        _recent.AddLast((lambda, rank));
        return p;
    }

    /// <summary>Mean NDCG@K (and content intra-list diversity) of the served ranking with these settings.</summary>
    private double Evaluate(ModelTrainer.Settings s, float diversity, out double ild)
    {
        var p = Prepare(s.Lambda, s.Rank);
        var f = new SpectralEase.Factors(_activeRows.Length, p.Rank, p.Input, p.CatalogOutput);
        int n = _catalog.Ids.Length, r = p.Rank, d = _catalog.ContentDimension, k = _options.K;
        var ndcg = new double[_users.Count];
        var diversityOf = new double[_users.Count];
        float scale = (float)Scale(s, p);
        for (int start = 0; start < _users.Count; start += UsersPerScan)
        {
            int m = Math.Min(UsersPerScan, _users.Count - start);
            var has = new bool[m];
            var model = ScoreUsers(p.Matrix, m, r, (i, q) => has[i] = ModelTrainer.PooledInput(_users[start + i].Train.Events, s.Weights, _index, p.ModelIndexOfRow, f, q));
            float[]? content = s.ContentWeight != 0 && d > 0
                ? ScoreUsers(ContentMatrix(), m, d, (i, q) => { if (_profiles[start + i].Length == d) _profiles[start + i].CopyTo(q); })
                : null;
            Parallel.For(0, m, i => ndcg[start + i] = EvaluateUser(start + i, s, p, diversity, scale, has[i],
                model.AsSpan(i * n, n), content is null ? default : content.AsSpan(i * n, n), out diversityOf[start + i]));
        }
        ild = diversityOf.Average();
        return ndcg.Average();
    }

    /// <summary>One user's served list from the precomputed model and content scores, and its NDCG (and diversity).</summary>
    private double EvaluateUser(int ui, ModelTrainer.Settings s, Prepared p, float diversity, float scale, bool hasModel,
        Span<float> scores, ReadOnlySpan<float> content, out double listDiversity)
    {
        int n = _catalog.Ids.Length, d = _catalog.ContentDimension, k = _options.K;
        var user = _users[ui];
        for (int row = 0; row < n; row++)
        {
            float score = hasModel ? (p.Mapped[row] ? s.ColdScale : 1f) * scale * scores[row] : 0f;
            if (!content.IsEmpty) score += s.ContentWeight * content[row];
            if (s.PopularityBoost != 0 && _catalog.Popularity is { } pop) score += s.PopularityBoost * pop[row];
            scores[row] = score;
        }
        foreach (int row in _seen[ui]) scores[row] = float.NegativeInfinity;
        int poolSize = diversity > 0 ? Mmr.PoolSize(k) : k;
        var pool = TopRows(scores, poolSize);
        int[] list = pool;
        if (diversity > 0 && d > 0)
        {
            var rel = new float[pool.Length];
            var vectors = new float[pool.Length * d];
            for (int i = 0; i < pool.Length; i++)
            {
                rel[i] = scores[pool[i]];
                _catalog.Content.AsSpan(pool[i] * d, d).CopyTo(vectors.AsSpan(i * d, d));
            }
            IReadOnlyList<string>?[]? poolTags = _catalog.Tags is { } all ? pool.Select(row => all[row]).ToArray() : null;
            var picked = Mmr.Select(rel, vectors, d, _mean, k, diversity, poolTags);
            list = picked.Select(i => pool[i]).ToArray();
        }
        listDiversity = _catalog.Tags is not null ? Evaluation.RankingMetrics.TagDiversity(list, _catalog.Tags, k)
            : d > 0 ? Evaluation.RankingMetrics.ContentDiversity(list, _catalog.Content, d, k) : 0;
        return Evaluation.RankingMetrics.Ndcg(list, user.HeldOut, k);
    }

    /// <summary>The k best rows by score, descending; ties by the lower row.</summary>
    internal static int[] TopRows(ReadOnlySpan<float> scores, int k)
    {
        var rows = new List<int>(k + 1);
        for (int row = 0; row < scores.Length; row++)
        {
            float s = scores[row];
            if (float.IsNegativeInfinity(s)) continue;
            if (rows.Count == k && !(s > scores[rows[^1]])) continue;
            int at = rows.Count;
            while (at > 0 && s > scores[rows[at - 1]]) at--;
            rows.Insert(at, row);
            if (rows.Count > k) rows.RemoveAt(k);
        }
        return rows.ToArray();
    }
}
