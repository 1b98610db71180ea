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
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            if (!Enum.IsDefined(e.Kind)) throw new ArgumentException($"unknown event kind {(int)e.Kind}");
            if (!float.IsFinite(e.Weight) || e.Weight < 0) throw new ArgumentException($"event weight must be a finite number ≥ 0, got {e.Weight}");
            if (string.IsNullOrEmpty(e.ItemId) || !_store.Catalog.Contains(e.ItemId)) throw new ArgumentException($"unknown item '{e.ItemId}'");
        }
        lock (UserLock(userId))
        {
            var user = _store.TryGetUser(userId, out var existing) ? existing : new UserRecord(userId);
            user.Events.AddRange(events);
            // Stable by time, so trimming drops the truly oldest events even when one arrives late.
            var ordered = user.Events.OrderBy(e => e.TimestampMs).ToList();
            user.Events.Clear();
            user.Events.AddRange(ordered.Skip(Math.Max(0, ordered.Count - _options.MaxUserEvents)));
            user.Bucket = Experiment.BucketOf(userId);
            RebuildProfile(user);
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

    /// <summary>
    /// Pools the user's history into unit content and collab vectors (<see cref="UserProfile"/>: kind weight ×
    /// event weight × recency decay). Items since deleted are skipped. No signal → no vector (cold start).
    /// </summary>
    private void RebuildProfile(UserRecord user)
    {
        double halfLifeMs = _options.ProfileHalfLife.TotalMilliseconds;
        var content = new UserProfile(ContentDimension);
        var collab = CollabDimension > 0 ? new UserProfile(CollabDimension) : null;
        var snapshot = _store.Catalog.Snapshot();
        foreach (var e in user.Events)
        {
            if (!snapshot.TryGetRow(e.ItemId, out int shard, out int row)) continue;
            float w = _options.EventWeights.For(e.Kind) * e.Weight;
            if (w == 0) continue;
            var item = snapshot.Shards[shard];
            if (item.HasVector(_contentSlot, row))
                content.Add(item.Vector(_contentSlot, row), w, e.TimestampMs, halfLifeMs);
            if (collab is not null && item.HasVector(_collabSlot, row))
                collab.Add(item.Vector(_collabSlot, row), w, e.TimestampMs, halfLifeMs);
        }
        SetProfileVector(user, Content, content);
        if (collab is not null) SetProfileVector(user, Collab, collab);
    }

    private static void SetProfileVector(UserRecord user, string name, UserProfile profile)
    {
        var v = new float[profile.Dimension];
        if (profile.TryGetVector(v)) user.Vectors[name] = v;
        else user.Vectors.Remove(name);
    }
}
