using RankEngine.Catalog;
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
        // Requests read the model once: one that started before the swap finishes with the old one.
        _model = model;
    }

    private void LoadModel()
    {
        var model = ModelFiles.LoadCurrent(_store.DataDirectory, out _);
        if (model is not null && model.Description.ContentDimension is not 0 && model.Description.ContentDimension != ContentDimension) model = null;
        SwapModel(model);
    }

    /// <summary>Every item id with its content vector, popularity and main tag field, from one catalog version.</summary>
    private TrainingCatalog TrainingCatalogSnapshot()
    {
        var snapshot = _store.Catalog.Snapshot();
        int d = ContentDimension;
        var rows = snapshot.VisibleRows().ToArray();
        var ids = new string[rows.Length];
        var content = new float[rows.Length * d];
        var popularity = new float[rows.Length];
        bool anyPopularity = false;
        for (int i = 0; i < rows.Length; i++)
        {
            var shard = snapshot.Shards[rows[i].Shard];
            int row = rows[i].Row;
            ids[i] = shard.IdOf(row);
            shard.Vector(_contentSlot, row).CopyTo(content.AsSpan(i * d, d));
            if (shard.TryGetNumber(row, PopularityField, out double p) && double.IsFinite(p))
            {
                popularity[i] = (float)p;
                anyPopularity = true;
            }
        }
        // The main tag field: the one most items have (at least half of them), for diversity by metadata.
        string? tagField = null;
        int best = 0;
        foreach (var name in snapshot.Shards.SelectMany(s => s.ValueFieldNames).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            int count = 0;
            foreach (var (s, row) in rows)
                if (snapshot.Shards[s].TagsOf(row, name) is not null) count++;
            if (count * 2 >= rows.Length && count > best) { best = count; tagField = name; }
        }
        IReadOnlyList<string>?[]? tags = null;
        if (tagField is not null)
        {
            tags = new IReadOnlyList<string>?[rows.Length];
            for (int i = 0; i < rows.Length; i++) tags[i] = snapshot.Shards[rows[i].Shard].TagsOf(rows[i].Row, tagField);
        }
        return new TrainingCatalog(ids, content, d, anyPopularity ? popularity : null) { TagField = tagField, Tags = tags };
    }
}
