using RankEngine.Compute;
using RankEngine.Encoders;
using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>
/// A cluster front end: what the RESP server calls on a silo (or a client) of a cluster. Items go to their shard
/// grain, events to the user's grain; RANK reads the user from its grain and runs the single node's
/// <see cref="RankPipeline"/> over the shard grains (<see cref="ClusterRankCatalog"/>), so its answers are the single
/// node's. Methods block their caller until the grains answer: the RESP session runs each command to its end.
/// </summary>
internal sealed class ClusterRankingService : IRankingService, IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly ClusterCatalogOptions _options;
    private readonly ClusterCatalog _catalog;
    private readonly TextEncoder? _encoder;
    private readonly IComputeBackend? _backend;
    private readonly Func<IReadOnlyList<KeyValuePair<string, string>>>? _membership;
    private readonly SharedModel _model;
    private long _events;
    private CatalogCoverage _lastCoverage = CatalogCoverage.Full;
    private long _partialRankings;

    /// <param name="grains">The cluster's grain factory (a silo's or a client's).</param>
    /// <param name="options">The cluster's catalog and user settings (every silo has the same).</param>
    /// <param name="encoder">Encodes item and query texts (owned: disposed with the service), or null for vectors only.</param>
    /// <param name="backend">The encoder's backend (owned), or null.</param>
    /// <param name="experiment">The A/B experiment (null: one default bucket, the single node's default).</param>
    /// <param name="membership">This silo's view of the membership for INFO cluster, or null.</param>
    /// <param name="model">The process's view of the cluster's model (a silo shares its shards'); null: a view of its own.</param>
    public ClusterRankingService(IGrainFactory grains, ClusterCatalogOptions options, TextEncoder? encoder = null, IComputeBackend? backend = null,
        Experiment? experiment = null, Func<IReadOnlyList<KeyValuePair<string, string>>>? membership = null, SharedModel? model = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(options);
        if (options.ContentSlot < 0) throw new ArgumentException($"the cluster's schema has no content vector '{options.ContentVector}'");
        if (encoder is not null && encoder.Dimension != options.ContentDimension)
            throw new ArgumentException($"the model's output width {encoder.Dimension} differs from the cluster's content dimension {options.ContentDimension}");
        _grains = grains;
        _options = options;
        _catalog = new ClusterCatalog(grains, options);
        _encoder = encoder;
        _backend = backend;
        _membership = membership;
        _model = model ?? new SharedModel(options.DataRoot);
        UsesTunedDefaults = experiment is null;
        Experiment = experiment ?? new Experiment("default", [new Bucket("default", RankingParameters.Default)]);
    }

    public int ContentDimension => _options.ContentDimension;
    public int CollabDimension => _options.CollabDimension;
    public int ItemCount => _catalog.CountAsync().GetAwaiter().GetResult();
    public Experiment Experiment { get; }
    private bool UsesTunedDefaults { get; }
    public ModelDescription? Model => _model.Current()?.Description;
    public long EventsSinceTraining => Interlocked.Read(ref _events);
    public IComputeBackend? Backend => _backend;
    public RankStore? LocalStore => null;

    /// <summary>The coordinator over the shard grains.</summary>
    public ClusterCatalog Catalog => _catalog;

    public IReadOnlyList<KeyValuePair<string, string>> ClusterInfo()
    {
        var lines = new List<KeyValuePair<string, string>>
        {
            new("cluster_enabled", "1"),
            new("cluster_shards", _options.ShardCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("cluster_durable_shards", _options.DataRoot is null ? "no (in memory)" : "yes"),
            new("cluster_last_rank_coverage", _lastCoverage.Fraction.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)),
            new("cluster_last_rank_missing_shards", _lastCoverage.MissingShards.Count == 0 ? "none" : string.Join(",", _lastCoverage.MissingShards)),
            new("cluster_partial_rankings", Interlocked.Read(ref _partialRankings).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (_membership is not null) lines.AddRange(_membership());
        return lines;
    }

    public RankResponse Rank(RankRequest request)
    {
        RankPipeline.Check(request);
        // The model is read once per request; every shard scores with exactly this version.
        var model = _model.Current();
        var user = string.IsNullOrEmpty(request.UserId) ? null : GetUser(request.UserId);
        var cold = model is not null && user is { Events.Count: > 0 } ? ColdContent(model, user) : null;
        var catalog = new ClusterRankCatalog(_catalog, ContentDimension, model?.Description.Version ?? 0, cold);
        var response = RankPipeline.Run(request, new RankContext(Experiment, UsesTunedDefaults, model, _encoder is null ? null : EncodeQuery), user, catalog);
        _lastCoverage = response.Coverage;
        if (!response.Coverage.IsComplete) Interlocked.Increment(ref _partialRankings);
        return response;
    }

    public RankResponse Score(string userId, IReadOnlyList<string> itemIds) => Rank(RankPipeline.ScoreRequest(userId, itemIds));

    public TextEmbeddings Encode(IReadOnlyList<string> texts) =>
        (_encoder ?? throw new InvalidOperationException("this engine was opened without a model: it cannot encode text")).Encode(texts);

    private float[] EncodeQuery(string text) => Encode([text]).Vector(0).ToArray();

    public void AddItems(IReadOnlyList<ItemInput> items, Action<int>? progress = null) =>
        // Each batch goes to its owning shards and returns once every one has committed its part.
        ItemInputs.WriteInBatches(items, ContentDimension, CollabDimension, Encode,
            records => Wait(_catalog.UpsertManyAsync(records.Select(ClusterItem.From))), progress);

    public bool DeleteItem(string id) => Wait(_catalog.RemoveAsync(id));

    public bool ContainsItem(string id) => Wait(_catalog.Shard(_catalog.ShardOf(id)).Contains([id]))[0];

    public bool TryGetItem(string id, out ItemRecord? item)
    {
        var found = Wait(_catalog.Shard(_catalog.ShardOf(id)).Get(id));
        item = found?.ToRecord();
        return item is not null;
    }

    public void RecordEvent(string userId, string itemId, UserEventKind kind, float weight = 1f, DateTimeOffset? timestamp = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(itemId);
        long ms = (timestamp ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
        int bucket = Experiment.BucketOf(userId);
        Wait(_grains.GetGrain<IUserGrain>(userId).Record([new ClusterEvent(itemId, kind, weight, ms)], bucket));
        Interlocked.Increment(ref _events);
        if (kind is UserEventKind.Click or UserEventKind.Like or UserEventKind.Purchase) Experiment.RecordClick(bucket);
    }

    /// <summary>Records many events of one user at once (one profile rebuild, one write); not A/B clicks.</summary>
    public void RecordEvents(string userId, IReadOnlyList<UserEvent> events)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(events);
        Wait(_grains.GetGrain<IUserGrain>(userId).Record([.. events.Select(ClusterEvent.From)], Experiment.BucketOf(userId)));
        Interlocked.Add(ref _events, events.Count);
    }

    public bool TryGetUser(string userId, out UserRecord? user)
    {
        user = GetUser(userId);
        return user is not null;
    }

    /// <summary>
    /// The user's record from its grain, within the shard deadline: a user whose silo is failing over is a clear
    /// error to retry, never a silent cold start.
    /// </summary>
    private UserRecord? GetUser(string userId)
    {
        var call = _grains.GetGrain<IUserGrain>(userId).Get();
        try
        {
            return call.WaitAsync(_options.ShardSearchTimeout).GetAwaiter().GetResult()?.ToRecord(userId);
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            ClusterCatalog.ObserveAbandoned(call);
            throw new InvalidOperationException($"user '{userId}' did not answer within {_options.ShardSearchTimeout.TotalMilliseconds:F0} ms (its silo may be failing over): retry");
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>The content vectors of the user's items the model has no factors for: its user vector maps them from content.</summary>
    private Dictionary<string, float[]> ColdContent(Models.RankingModel model, UserRecord user)
    {
        var ids = new List<string>();
        foreach (var e in user.Events)
            if (!model.Knows(e.ItemId)) ids.Add(e.ItemId);
        var found = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (ids.Count == 0) return found;
        foreach (var (id, v) in Wait(_catalog.VectorsAsync(ids)))
            if (v.Content.Length > 0) found[id] = v.Content;
        return found;
    }

    /// <summary>Training needs the shared data root: the trainer writes the model file there, where every shard and front end reads it.</summary>
    public bool CanTrain => _options.DataRoot is not null;

    /// <summary>
    /// Fits the cluster's model (one training at a time, in the trainer grain) from every user's events and every
    /// item, in the single node's canonical order and with its trainer, so the same data gives the same model;
    /// rankings use it as soon as each process sees the new model file.
    /// </summary>
    public ModelDescription Train(TrainOptions? options = null, Action<string>? log = null)
    {
        if (options is not null && options != new TrainOptions()) throw new NotSupportedException("a cluster trains with the default training options");
        if (!CanTrain) throw new NotSupportedException("a cluster trains only with durable shards (a data root every silo shares)");
        long before = Interlocked.Read(ref _events);
        log?.Invoke("training on the cluster's users and items");
        long version = Wait(_grains.GetGrain<IModelTrainerGrain>(0).Train());
        var model = _model.Current(force: true);
        if (model?.Description.Version != version) throw new InvalidOperationException($"trained model v{version}, but the data root's current model is v{model?.Description.Version ?? 0}");
        Interlocked.Add(ref _events, -before);
        return model.Description;
    }

    public void Checkpoint() => Wait(Task.WhenAll(Enumerable.Range(0, _options.ShardCount).Select(s => _catalog.Shard(s).Checkpoint())));

    /// <summary>
    /// Waits for a grain call. A grain's own exception (a refused item, a bad event) surfaces as itself; a failure of
    /// the cluster's runtime (a silo stopping or dead, a timed-out call) becomes one clear error to retry, as the
    /// server reports it, never an internal error. A write that failed so may or may not have been applied.
    /// </summary>
    private static T Wait<T>(Task<T> task)
    {
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            throw Unavailable(e);
        }
    }

    private static void Wait(Task task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            throw Unavailable(e);
        }
    }

    private static InvalidOperationException Unavailable(Exception e)
    {
        int nl = e.Message.IndexOf('\n');
        string first = (nl < 0 ? e.Message : e.Message[..nl]).Trim();
        return new InvalidOperationException($"the cluster did not complete the call ({e.GetType().Name}: {first}): a silo may be failing over; retry", e);
    }

    public void Dispose()
    {
        _encoder?.Dispose();
        _backend?.Dispose();
    }
}
