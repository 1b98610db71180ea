using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

public sealed partial class RankingEngine
{
    /// <summary>
    /// Records a feedback event and updates the user's profile vectors online: the very next ranking sees it.
    /// The event, the history and the new vectors are written in one durable user write before this returns.
    /// </summary>
    /// <param name="userId">The user (created on the first event).</param>
    /// <param name="itemId">The item the event is about; must be in the catalog.</param>
    /// <param name="kind">What the user did.</param>
    /// <param name="weight">Multiplier on the kind's weight (finite, ≥ 0), e.g. a rating strength.</param>
    /// <param name="timestamp">When it happened; now if null.</param>
    /// <exception cref="ArgumentException">Empty ids, an unknown item, or a bad weight.</exception>
    public void RecordEvent(string userId, string itemId, UserEventKind kind, float weight = 1f, DateTimeOffset? timestamp = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(itemId);
        long ms = (timestamp ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
        AppendEvents(userId, new[] { new UserEvent(itemId, kind, weight, ms) });
        if (kind is UserEventKind.Click or UserEventKind.Like or UserEventKind.Purchase)
            Experiment.RecordClick(Experiment.BucketOf(userId));
    }

    /// <summary>
    /// Records many events of one user at once (e.g. ingest), with one profile rebuild and one write. Historical
    /// events do not count as A/B clicks.
    /// </summary>
    /// <exception cref="ArgumentException">Empty ids, an unknown item or kind, or a bad weight; nothing is written.</exception>
    public void RecordEvents(string userId, IReadOnlyList<UserEvent> events) => AppendEvents(userId, events);

    /// <summary>
    /// Validates every event, then under the user's lock: appends them, keeps the newest
    /// <see cref="RankingEngineOptions.MaxUserEvents"/> in time order, sets the bucket, rebuilds the profile and
    /// writes the user durably.
    /// </summary>
    private void AppendEvents(string userId, IReadOnlyList<UserEvent> events)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        UserHistory.Validate(events);
        foreach (var e in events)
            if (!_store.Catalog.Contains(e.ItemId)) throw new ArgumentException($"unknown item '{e.ItemId}'");
        lock (UserLock(userId))
        {
            var user = _store.TryGetUser(userId, out var existing) ? existing : new UserRecord(userId);
            UserHistory.Append(user, events, _options.MaxUserEvents);
            user.Bucket = Experiment.BucketOf(userId);
            var items = new SnapshotItemVectors(_store.Catalog.Snapshot(), _contentSlot, _collabSlot);
            UserHistory.RebuildProfile(user, ref items, _options.EventWeights, _options.ProfileHalfLife, ContentDimension, CollabDimension);
            _store.UpsertUser(user);
            Interlocked.Add(ref _eventsSinceTraining, events.Count);
        }
    }

    /// <summary>Deletes a user and its history; false if it did not exist. Durable on return.</summary>
    public bool DeleteUser(string userId)
    {
        lock (UserLock(userId)) return _store.DeleteUser(userId);
    }

    /// <summary>Reads a user (profile vectors, recent events, bucket).</summary>
    public bool TryGetUser(string userId, out UserRecord? user) => _store.TryGetUser(userId, out user);

    private object UserLock(string userId) => _userLocks[(uint)StringComparer.Ordinal.GetHashCode(userId) % (uint)_userLocks.Length];

    /// <summary>The items' vectors in one version of the local catalog.</summary>
    private readonly struct SnapshotItemVectors(Catalog.CatalogSnapshot snapshot, int contentSlot, int collabSlot) : IItemVectorSource
    {
        public bool TryGet(string id, out ReadOnlySpan<float> content, out ReadOnlySpan<float> collab)
        {
            content = collab = default;
            if (!snapshot.TryGetRow(id, out int shard, out int row)) return false;
            var item = snapshot.Shards[shard];
            if (item.HasVector(contentSlot, row)) content = item.Vector(contentSlot, row);
            if (collabSlot >= 0 && item.HasVector(collabSlot, row)) collab = item.Vector(collabSlot, row);
            return true;
        }
    }
}
