using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

public sealed partial class RankingEngine
{
    private volatile RankingModel? _model;
    private readonly object _trainGate = new();

    /// <summary>The served recommendation model's description, or null before the first <see cref="Train"/>.</summary>
    public ModelDescription? Model => _model?.Description;

    /// <summary>Events recorded since the served model was trained (the server refits after enough of them).</summary>
    public long EventsSinceTraining => Interlocked.Read(ref _eventsSinceTraining);
    private long _eventsSinceTraining;

    /// <summary>
    /// Fits a new model from the store's own events (validation split, tuned settings, refit on everything), writes
    /// it durably as the data directory's newest model version and swaps it in atomically: rankings running now
    /// finish with the old model, the next ones use the new one. A crash during training leaves the last good model.
    /// One training at a time; others wait.
    /// </summary>
    /// <exception cref="InvalidOperationException">No user has a strong positive event (click, like, purchase) on a catalog item.</exception>
    public ModelDescription Train(TrainOptions? options = null, Action<string>? log = null)
    {
        options ??= new TrainOptions();
        lock (_trainGate)
        {
            long eventsBefore = Interlocked.Read(ref _eventsSinceTraining);
            log?.Invoke("reading users");
            var ids = _store.UserIds();
            var users = new List<TrainingUser>(ids.Count);
            foreach (var id in ids)
                if (_store.TryGetUser(id, out var user) && user.Events.Count > 0) users.Add(new TrainingUser(id, user.Events.ToArray()));
            var catalog = TrainingCatalogSnapshot();
            log?.Invoke($"training on {users.Count} users and {catalog.Ids.Length} items");
            long version = ModelFiles.NextVersion(_store.DataDirectory);
            var model = ModelTrainer.Train(users, catalog, options, version, _options.EventWeights, _options.ProfileHalfLife, log);
            ModelFiles.Save(_store.DataDirectory, model);
            SwapModel(model);
            Interlocked.Add(ref _eventsSinceTraining, -eventsBefore);
            return model.Description;
        }
    }

    private void SwapModel(RankingModel? model)
    {
        lock (_scoringGate)
        {
            _model = model;
            _deviceCatalog.SetModel(model);
        }
    }

    private void LoadModel()
    {
        var model = ModelFiles.LoadCurrent(_store.DataDirectory, out _);
        if (model is not null && model.Description.ContentDimension is not 0 && model.Description.ContentDimension != ContentDimension) model = null;
        SwapModel(model);
    }

    /// <summary>Every item id with its content vector and popularity, copied under one view.</summary>
    private TrainingCatalog TrainingCatalogSnapshot()
    {
        using var view = _store.Catalog.EnterRead();
        int d = ContentDimension;
        var ids = new List<string>(view.LiveCount);
        var content = new float[view.LiveCount * d];
        var popularity = new float[view.LiveCount];
        bool anyPopularity = false;
        var matrix = view.Matrix(Content);
        for (int row = 0; row < view.RowCount; row++)
        {
            string? id = view.Ids[row];
            if (id is null || !view.IsLive(row)) continue;
            matrix.Slice(row * d, d).CopyTo(content.AsSpan(ids.Count * d, d));
            if (_fields.TryGetValue(id, out var f) && f.Numbers.TryGetValue(PopularityField, out double p) && double.IsFinite(p))
            {
                popularity[ids.Count] = (float)p;
                anyPopularity = true;
            }
            ids.Add(id);
        }
        // The main tag field: the one most items have (at least half of them), for diversity by metadata.
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var id in ids)
            if (_fields.TryGetValue(id, out var f))
                foreach (var name in f.Tags.Keys) counts[name] = counts.GetValueOrDefault(name) + 1;
        string? tagField = counts.Where(c => c.Value * 2 >= ids.Count).OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => c.Key).FirstOrDefault();
        IReadOnlyList<string>?[]? tags = null;
        if (tagField is not null)
        {
            tags = new IReadOnlyList<string>?[ids.Count];
            for (int i = 0; i < ids.Count; i++)
                tags[i] = _fields.TryGetValue(ids[i], out var f) && f.Tags.TryGetValue(tagField, out var t) ? t : null;
        }
        return new TrainingCatalog(ids.ToArray(), content, d, anyPopularity ? popularity : null) { TagField = tagField, Tags = tags };
    }

    /// <summary>The model's user vector from the user's events (items' content read from the mirror for cold items).</summary>
    private float[]? ModelUserVector(RankingModel model, UserRecord? user)
    {
        if (user is null || user.Events.Count == 0) return null;
        var vector = new float[model.Rank];
        using var view = _store.Catalog.EnterRead();
        int d = ContentDimension;
        float[]? rowCopy = null;
        ReadOnlyMemory<float> ContentOf(string id)
        {
            if (!view.TryGetRow(id, out int row) || !view.IsLive(row)) return ReadOnlyMemory<float>.Empty;
            rowCopy ??= new float[d];
            view.Matrix(Content).Slice(row * d, d).CopyTo(rowCopy);
            return rowCopy;
        }
        return model.TryUserVector(user.Events, ContentOf, vector) ? vector : null;
    }
}
