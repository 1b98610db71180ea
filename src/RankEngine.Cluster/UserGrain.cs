using Orleans.Concurrency;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Cluster;

/// <summary>
/// One user of the cluster, keyed by user id: its recent events and profile vectors. Orleans runs one call at a time
/// per user, so the feedback loop stays ordered (one writer per user), and an event is acknowledged only once the
/// user's state is written to the cluster's user storage (<see cref="UserGrain.StorageName"/>).
/// </summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>The user's record, or null when it has no state.</summary>
    [ReadOnly]
    Task<ClusterUser?> Get();

    /// <summary>
    /// Appends events (checked as on one node: kinds, weights, items in the catalog), keeps the newest, sets the
    /// bucket, rebuilds the profile from the items' vectors and writes the state; completes once it is stored.
    /// </summary>
    Task Record(ClusterEvent[] events, int bucket);

    /// <summary>Deletes the user's state; false when it had none.</summary>
    Task<bool> Delete();
}

/// <summary>A feedback event over the wire (the single node's <see cref="UserEvent"/>).</summary>
[GenerateSerializer, Immutable]
public readonly record struct ClusterEvent([property: Id(0)] string ItemId, [property: Id(1)] UserEventKind Kind, [property: Id(2)] float Weight,
    [property: Id(3)] long TimestampMs)
{
    public UserEvent ToUserEvent() => new(ItemId, Kind, Weight, TimestampMs);
    public static ClusterEvent From(UserEvent e) => new(e.ItemId, e.Kind, e.Weight, e.TimestampMs);
}

/// <summary>A user's stored state: recent events (oldest first), profile vectors by name and A/B bucket.</summary>
[GenerateSerializer]
public sealed class ClusterUser
{
    [Id(0)] public List<ClusterEvent> Events { get; set; } = [];
    [Id(1)] public Dictionary<string, float[]> Vectors { get; set; } = new(StringComparer.Ordinal);
    [Id(2)] public int? Bucket { get; set; }

    /// <summary>The single node's record of this state.</summary>
    public UserRecord ToRecord(string id)
    {
        var user = new UserRecord(id) { Bucket = Bucket };
        foreach (var e in Events) user.Events.Add(e.ToUserEvent());
        foreach (var (name, v) in Vectors) user.Vectors[name] = v;
        return user;
    }

    public static ClusterUser From(UserRecord user)
    {
        var state = new ClusterUser { Bucket = user.Bucket };
        foreach (var e in user.Events) state.Events.Add(ClusterEvent.From(e));
        foreach (var (name, v) in user.Vectors) state.Vectors[name] = v;
        return state;
    }
}

internal sealed class UserGrain : Grain, IUserGrain
{
    /// <summary>The grain-storage provider user state is kept in (memory for development, Redis for deployments).</summary>
    public const string StorageName = Hosting.ClusterMembershipOptions.UserStorageName;

    private readonly IPersistentState<ClusterUser> _state;
    private readonly ClusterCatalogOptions _options;

    public UserGrain([PersistentState("user", StorageName)] IPersistentState<ClusterUser> state, ClusterCatalogOptions options)
    {
        _state = state;
        _options = options;
    }

    public Task<ClusterUser?> Get() => Task.FromResult(_state.RecordExists ? _state.State : null);

    public async Task Record(ClusterEvent[] events, int bucket)
    {
        string id = this.GetPrimaryKeyString();
        var converted = new UserEvent[events.Length];
        for (int i = 0; i < events.Length; i++) converted[i] = events[i].ToUserEvent();
        UserHistory.Validate(converted);
        var catalog = new ClusterCatalog(GrainFactory, _options);
        var known = await catalog.VectorsAsync(converted.Select(e => e.ItemId));
        foreach (var e in converted)
            if (!known.ContainsKey(e.ItemId)) throw new ArgumentException($"unknown item '{e.ItemId}'");

        // Listed before its first write, so training finds every user with state.
        if (!_state.RecordExists) await GrainFactory.GetGrain<IUserDirectoryGrain>(UserDirectoryGrain.PartitionOf(id)).Add(id);
        var user = _state.RecordExists ? _state.State.ToRecord(id) : new UserRecord(id);
        UserHistory.Append(user, converted, _options.MaxUserEvents);
        user.Bucket = bucket;
        // The profile pools every kept event's item: read the vectors of those not fetched above (items since deleted are skipped).
        var more = await catalog.VectorsAsync(user.Events.Select(e => e.ItemId).Where(i => !known.ContainsKey(i)));
        foreach (var (itemId, v) in more) known[itemId] = v;
        var source = new FetchedVectors(known);
        UserHistory.RebuildProfile(user, ref source, _options.EventWeights, _options.ProfileHalfLife, _options.ContentDimension, _options.CollabDimension);
        _state.State = ClusterUser.From(user);
        await _state.WriteStateAsync();
    }

    public async Task<bool> Delete()
    {
        if (!_state.RecordExists) return false;
        await _state.ClearStateAsync();
        await GrainFactory.GetGrain<IUserDirectoryGrain>(UserDirectoryGrain.PartitionOf(this.GetPrimaryKeyString())).Remove(this.GetPrimaryKeyString());
        return true;
    }

    private readonly struct FetchedVectors(Dictionary<string, ClusterItemVectors> vectors) : IItemVectorSource
    {
        public bool TryGet(string id, out ReadOnlySpan<float> content, out ReadOnlySpan<float> collab)
        {
            content = collab = default;
            if (!vectors.TryGetValue(id, out var v)) return false;
            content = v.Content;
            collab = v.Collab;
            return true;
        }
    }
}
