using RankEngine.Catalog;
using RankEngine.Models;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>
/// The users of one partition of the cluster (key 0 .. <see cref="Partitions"/> − 1, by a hash of the user id):
/// the ids of every user with state, so training can read them all. A user grain adds itself before its first
/// state write, so a user with state is always listed (a listed user without state is skipped).
/// </summary>
public interface IUserDirectoryGrain : IGrainWithIntegerKey
{
    Task Add(string userId);
    Task Remove(string userId);
    [Orleans.Concurrency.ReadOnly]
    Task<string[]> Users();
}

/// <summary>Fits the cluster's model, one training at a time (key 0): reads every user and item, trains, writes the model file under the data root.</summary>
public interface IModelTrainerGrain : IGrainWithIntegerKey
{
    /// <summary>Trains on every user and item with the default options; returns the new model's version.</summary>
    [ResponseTimeout("01:00:00")]
    Task<long> Train();
}

/// <summary>One item as the trainer reads it: id, content vector, popularity (NaN: none) and its tags per value field.</summary>
[GenerateSerializer, Immutable]
public sealed record ClusterTrainingItem([property: Id(0)] string Id, [property: Id(1)] float[] Content, [property: Id(2)] double Popularity,
    [property: Id(3)] Dictionary<string, string[]> Tags)
{
    internal TrainingItem ToTrainingItem() => new(Id, Content, double.IsNaN(Popularity) ? null : (float)Popularity,
        Tags.ToDictionary(t => t.Key, t => (IReadOnlyList<string>)t.Value, StringComparer.Ordinal));

    internal static ClusterTrainingItem From(TrainingItem item) => new(item.Id, item.Content, item.Popularity ?? double.NaN,
        item.Tags.ToDictionary(t => t.Key, t => t.Value.ToArray(), StringComparer.Ordinal));
}

[GenerateSerializer]
public sealed class UserDirectoryState
{
    [Id(0)] public HashSet<string> Users { get; set; } = new(StringComparer.Ordinal);
}

internal sealed class UserDirectoryGrain([PersistentState("users", UserGrain.StorageName)] IPersistentState<UserDirectoryState> state) : Grain, IUserDirectoryGrain
{
    /// <summary>Directory partitions: user ids hash to one of them.</summary>
    public const int Partitions = 16;

    public static int PartitionOf(string userId) => ShardedCatalog.ShardOf(userId, Partitions);

    public async Task Add(string userId)
    {
        if (state.State.Users.Add(userId)) await state.WriteStateAsync();
    }

    public async Task Remove(string userId)
    {
        if (state.State.Users.Remove(userId)) await state.WriteStateAsync();
    }

    public Task<string[]> Users() => Task.FromResult(state.State.Users.ToArray());
}

/// <summary>
/// The cluster's trainer: gathers every user's events (through the directory) and every item (from the shards),
/// in the canonical order of <see cref="TrainingInputs"/>, trains with the single node's <see cref="ModelTrainer"/>
/// and saves the model under the data root (shared by every silo), where shards and front ends load it.
/// </summary>
internal sealed class ModelTrainerGrain(ClusterCatalogOptions options) : Grain, IModelTrainerGrain
{
    public async Task<long> Train()
    {
        string root = options.DataRoot ?? throw new NotSupportedException("a cluster trains only with durable shards (a data root every silo shares)");
        var directories = Enumerable.Range(0, UserDirectoryGrain.Partitions).Select(p => GrainFactory.GetGrain<IUserDirectoryGrain>(p).Users());
        var ids = (await Task.WhenAll(directories)).SelectMany(x => x).ToArray();
        var users = new List<TrainingUser>(ids.Length);
        foreach (var batch in ids.Chunk(256))
        {
            var states = await Task.WhenAll(batch.Select(id => GrainFactory.GetGrain<IUserGrain>(id).Get()));
            for (int i = 0; i < batch.Length; i++)
                if (states[i] is { } s) users.Add(new TrainingUser(batch[i], s.Events.Select(e => e.ToUserEvent()).ToArray()));
        }
        var slices = await Task.WhenAll(Enumerable.Range(0, options.ShardCount).Select(s => GrainFactory.GetGrain<IShardGrain>(s).TrainingItems()));
        var items = slices.SelectMany(x => x).Select(i => i.ToTrainingItem()).ToList();
        // The fit is CPU-bound for seconds to minutes: off the grain's scheduler.
        return await Task.Run(() =>
        {
            var catalog = TrainingInputs.Catalog(items, options.ContentDimension);
            long version = ModelFiles.NextVersion(root);
            var model = ModelTrainer.Train(TrainingInputs.Users(users), catalog, new TrainOptions(), version, options.EventWeights, options.ProfileHalfLife);
            ModelFiles.Save(root, model);
            return version;
        });
    }
}

/// <summary>The cluster's current model as one process sees it: loaded from the shared data root, re-read when its CURRENT file changes (checked at most once a second).</summary>
internal sealed class SharedModel(string? dataRoot)
{
    private readonly object _gate = new();
    private RankingModel? _model;
    private string? _current;
    private long _checkedAt = -1; // Environment.TickCount64 of the last look; −1: never looked

    /// <summary>The newest model, or null before the first training.</summary>
    public RankingModel? Current(bool force = false)
    {
        if (dataRoot is null) return null;
        long now = Environment.TickCount64;
        long checkedAt = Volatile.Read(ref _checkedAt);
        if (!force && checkedAt >= 0 && now - checkedAt < 1000) return _model;
        lock (_gate)
        {
            _checkedAt = now;
            string path = Path.Combine(ModelFiles.DirectoryOf(dataRoot), ModelFiles.CurrentName);
            string? current = File.Exists(path) ? File.ReadAllText(path).Trim() : null;
            if (current != _current || (_model is null && current is not null))
            {
                _model = ModelFiles.LoadCurrent(dataRoot, out _);
                _current = current;
            }
            return _model;
        }
    }
}
