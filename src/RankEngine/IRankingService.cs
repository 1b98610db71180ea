using RankEngine.Compute;
using RankEngine.Encoders;
using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

/// <summary>
/// What a front end (the RESP server) asks of a deployment: the embedded <see cref="RankingEngine"/> on one node, or
/// a cluster front end whose catalog and users live in grains. Both rank through <see cref="RankPipeline"/>, so a
/// client sees the same answers; only <see cref="ClusterInfo"/> tells them apart.
/// </summary>
internal interface IRankingService
{
    int ContentDimension { get; }
    int CollabDimension { get; }
    /// <summary>Items in the catalog (a cluster adds up its shards).</summary>
    int ItemCount { get; }
    Experiment Experiment { get; }
    ModelDescription? Model { get; }
    long EventsSinceTraining { get; }
    /// <summary>The encoder's backend, or null without a model.</summary>
    IComputeBackend? Backend { get; }
    /// <summary>The local store (INFO's store section, metrics), or null when the data lives elsewhere (a cluster).</summary>
    RankStore? LocalStore { get; }

    /// <summary>INFO's cluster section as name/value lines, or null on a single node.</summary>
    IReadOnlyList<KeyValuePair<string, string>>? ClusterInfo();

    RankResponse Rank(RankRequest request);
    RankResponse Score(string userId, IReadOnlyList<string> itemIds);
    TextEmbeddings Encode(IReadOnlyList<string> texts);
    void AddItems(IReadOnlyList<ItemInput> items, Action<int>? progress = null);
    bool DeleteItem(string id);
    bool ContainsItem(string id);
    bool TryGetItem(string id, out ItemRecord? item);
    void RecordEvent(string userId, string itemId, UserEventKind kind, float weight = 1f, DateTimeOffset? timestamp = null);
    bool TryGetUser(string userId, out UserRecord? user);
    /// <summary>Whether <see cref="Train"/> can fit a model here (a cluster cannot yet).</summary>
    bool CanTrain { get; }
    ModelDescription Train(TrainOptions? options = null, Action<string>? log = null);
    void Checkpoint();
}
