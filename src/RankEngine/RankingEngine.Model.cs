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
            var found = new List<TrainingUser>(ids.Count);
            foreach (var id in ids)
                if (_store.TryGetUser(id, out var user)) found.Add(new TrainingUser(id, user.Events.ToArray()));
            var users = TrainingInputs.Users(found);
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

    /// <summary>Every item of one catalog version with its content vector, popularity and tags, in training's order.</summary>
    private TrainingCatalog TrainingCatalogSnapshot()
    {
        var snapshot = _store.Catalog.Snapshot();
        var items = new List<TrainingItem>();
        foreach (var (s, row) in snapshot.VisibleRows())
            items.Add(TrainingInputs.ItemOf(snapshot.Shards[s], row, _contentSlot));
        return TrainingInputs.Catalog(items, ContentDimension);
    }
}
