using System.Collections.Concurrent;
using RankEngine.Catalog;
using RankEngine.Compute;
using RankEngine.Encoders;
using RankEngine.Model;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

/// <summary>
/// The embedded, in-process RankEngine: items and users in a durable FASTER store, text encoded by the
/// hand-written Transformer, hybrid ranking with MMR, an online feedback loop and A/B buckets. Thread-safe.
/// Dispose flushes (checkpoints) the store.
/// </summary>
public sealed partial class RankingEngine : IRankingService, IDisposable
{
    private const string Content = RankPipeline.ContentVector;
    private const string Collab = RankPipeline.CollabVector;

    private readonly RankingEngineOptions _options;
    private readonly RankStore _store;
    private readonly IComputeBackend? _backend;
    private readonly TextEncoder? _encoder;
    private readonly object[] _userLocks = Enumerable.Range(0, 64).Select(_ => new object()).ToArray();
    private readonly ShardFactorCache[] _factorCaches;
    private readonly ShardDeviceCopy[]? _deviceCopies;
    private readonly int _contentSlot;
    private readonly int _collabSlot;

    /// <summary>The A/B experiment users are bucketed into.</summary>
    public Experiment Experiment { get; }
    /// <summary>True when no experiment was configured: the one bucket then serves the trained model's tuned defaults.</summary>
    private bool UsesTunedDefaults { get; }
    /// <summary>Width of content vectors.</summary>
    public int ContentDimension { get; }
    /// <summary>Width of collaborative vectors (0: disabled).</summary>
    public int CollabDimension => _options.CollabDimension;
    /// <summary>The encoder's backend, or null without a model.</summary>
    internal IComputeBackend? Backend => _backend;
    /// <summary>Number of items in the catalog.</summary>
    public int ItemCount => _store.ItemCount;
    /// <summary>How event kinds weigh in user profiles.</summary>
    public EventWeights EventWeights => _options.EventWeights;
    /// <summary>The underlying store (for checkpoints and diagnostics).</summary>
    internal RankStore Store => _store;

    RankStore? IRankingService.LocalStore => _store;

    IComputeBackend? IRankingService.Backend => _backend;

    bool IRankingService.CanTrain => true;

    IReadOnlyList<KeyValuePair<string, string>>? IRankingService.ClusterInfo() => null;

    private RankingEngine(RankingEngineOptions options, RankStore store, IComputeBackend? backend, TextEncoder? encoder, int contentDimension,
        Experiment experiment)
    {
        _options = options;
        _store = store;
        _backend = backend;
        _encoder = encoder;
        ContentDimension = contentDimension;
        Experiment = experiment;
        UsesTunedDefaults = options.Buckets is null && experiment.Buckets.Count == 1 && ReferenceEquals(experiment.Buckets[0].Parameters, RankingParameters.Default);
        _contentSlot = store.Schema.GetSlot(Content);
        _collabSlot = store.Schema.TryGetSlot(Collab, out int collab) ? collab : -1;
        _factorCaches = new ShardFactorCache[store.Catalog.ShardCount];
        for (int s = 0; s < _factorCaches.Length; s++) _factorCaches[s] = new ShardFactorCache(_contentSlot);
        // Host backends scan the shards' own matrices; a device backend keeps a copy of them and computes the dots.
        if (backend is IScoringBackend device and not RankEngine.Compute.Simd.SimdCpuBackend)
        {
            _deviceCopies = new ShardDeviceCopy[store.Catalog.ShardCount];
            for (int s = 0; s < _deviceCopies.Length; s++) _deviceCopies[s] = new ShardDeviceCopy(device, store.Schema.Count);
        }
        LoadModel();
    }

    /// <summary>Opens (or creates) an engine over a data directory; recovers every acknowledged write.</summary>
    /// <exception cref="StoreLockedException">Another process has the directory open.</exception>
    /// <exception cref="StoreSchemaMismatchException">The directory was created with other vector dimensions (another model).</exception>
    public static RankingEngine Open(RankingEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CollabDimension < 0) throw new ArgumentOutOfRangeException(nameof(options), "CollabDimension must not be negative");
        if (!(options.ProfileHalfLife > TimeSpan.Zero)) throw new ArgumentOutOfRangeException(nameof(options), "ProfileHalfLife must be positive");
        if (!Enum.IsDefined(options.Quantization))
            throw new ArgumentOutOfRangeException(nameof(options), $"Quantization {options.Quantization} is not one of {string.Join(", ", Enum.GetNames<CatalogQuantization>())}");
        IComputeBackend? backend = null;
        TextEncoder? encoder = null;
        RankStore? store = null;
        try
        {
            int contentDim = options.ContentDimension;
            if (options.ModelPath is not null)
            {
                backend = BackendFactory.Create(options.Backend);
                encoder = TextEncoder.Open(options.ModelPath, backend);
                if (contentDim != 0 && contentDim != encoder.Dimension)
                    throw new ArgumentException($"ContentDimension {contentDim} differs from the model's output width {encoder.Dimension}");
                contentDim = encoder.Dimension;
            }
            if (contentDim <= 0) throw new ArgumentException("give a ModelPath or a positive ContentDimension");
            var experiment = options.Buckets is not null
                ? new Experiment(options.ExperimentName, options.Buckets)
                : ExperimentConfig.LoadFrom(options.DataDirectory)
                  ?? new Experiment(options.ExperimentName, new[] { new Bucket("default", RankingParameters.Default) });
            var specs = new List<VectorSpec> { new(Content, contentDim) };
            if (options.CollabDimension > 0) specs.Add(new VectorSpec(Collab, options.CollabDimension));
            store = RankStore.Open(new StoreOptions
            {
                DataDirectory = options.DataDirectory,
                Schema = new StoreSchema(specs),
                MaxUserEvents = options.MaxUserEvents,
                CheckpointInterval = options.CheckpointInterval,
                CatalogShards = options.CatalogShards,
                QuantizedVector = options.Quantization == CatalogQuantization.None ? null : Content,
                QuantizedFormat = options.Quantization,
                AbBucketCount = experiment.Buckets.Count,
            });
            ModelIdentityFile.Check(store.DataDirectory, encoder?.ModelIdentity);
            return new RankingEngine(options, store, backend, encoder, contentDim, experiment);
        }
        catch
        {
            store?.Dispose();
            encoder?.Dispose();
            backend?.Dispose();
            throw;
        }
    }

    /// <summary>Encodes texts with the engine's model (unit vectors).</summary>
    /// <exception cref="InvalidOperationException">The engine has no model.</exception>
    public TextEmbeddings Encode(IReadOnlyList<string> texts) =>
        (_encoder ?? throw new InvalidOperationException("this engine was opened without a model: it cannot encode text")).Encode(texts);

    /// <summary>Adds or replaces items; texts are encoded in batches. Returns once all writes are durable.</summary>
    /// <param name="items">The items to write.</param>
    /// <param name="progress">Called with the number of items written so far (for progress bars).</param>
    /// <exception cref="ArgumentException">An item is invalid (no vector and no text, bad dimension, NaN, bad id…); nothing of that batch is written.</exception>
    public void AddItems(IReadOnlyList<ItemInput> items, Action<int>? progress = null) =>
        // The store validates each batch first (nothing of a bad batch is written) and returns once it is durable.
        ItemInputs.WriteInBatches(items, ContentDimension, CollabDimension, Encode, _store.UpsertItems, progress);

    /// <summary>Sets items' collaborative vectors (e.g. from <c>rankengine ingest</c>'s ALS); unknown ids are skipped and counted.</summary>
    /// <returns>How many items were updated.</returns>
    public int SetCollabVectors(IReadOnlyDictionary<string, float[]> vectors, Action<int>? progress = null)
    {
        if (CollabDimension == 0) throw new InvalidOperationException("collab vectors are disabled (CollabDimension = 0)");
        var batch = new List<ItemRecord>();
        int updated = 0;
        foreach (var (id, vector) in vectors)
        {
            if (!_store.TryGetItem(id, out var item)) continue;
            item.Vectors[Collab] = vector;
            batch.Add(item);
            if (batch.Count == 256) { _store.UpsertItems(batch); updated += batch.Count; batch.Clear(); progress?.Invoke(updated); }
        }
        if (batch.Count > 0) { _store.UpsertItems(batch); updated += batch.Count; progress?.Invoke(updated); }
        return updated;
    }

    /// <summary>Deletes an item; false if it did not exist. Durable on return.</summary>
    public bool DeleteItem(string id)
    {
        return _store.DeleteItem(id);
    }

    /// <summary>True when the catalog holds an item with this id (no store read).</summary>
    public bool ContainsItem(string id) => _store.Catalog.Contains(id);

    /// <summary>True when some item of the catalog has (or recently had) a field of this name.</summary>
    public bool HasItemField(string field)
    {
        foreach (var shard in _store.Catalog.Snapshot().Shards)
            if (shard.HasField(field)) return true;
        return false;
    }

    /// <summary>Reads an item (vectors, fields, text).</summary>
    public bool TryGetItem(string id, out ItemRecord? item) => _store.TryGetItem(id, out item);

    /// <summary>Takes a store checkpoint now (recovery then replays less).</summary>
    public void Checkpoint() => _store.Checkpoint();

    /// <summary>Checkpoints and closes the store, then releases the encoder and its backend.</summary>
    public void Dispose()
    {
        _store.Dispose();
        if (_deviceCopies is not null)
            foreach (var copy in _deviceCopies) copy.Dispose();
        _encoder?.Dispose();
        _backend?.Dispose();
    }
}
