namespace RankEngine.Store;

/// <summary>Kind of a user feedback event. Persisted (record layout, write-ahead log): values are append-only.</summary>
public enum UserEventKind : byte
{
    /// <summary>The user viewed the item (a weak positive signal).</summary>
    View = 1,

    /// <summary>The user clicked the item.</summary>
    Click = 2,

    /// <summary>The user liked the item.</summary>
    Like = 3,

    /// <summary>The user disliked the item.</summary>
    Dislike = 4,

    /// <summary>The user bought the item.</summary>
    Purchase = 5,

    /// <summary>The user skipped the item.</summary>
    Skip = 6,
}

/// <summary>One feedback event in a user's recent history.</summary>
/// <param name="ItemId">The item the event is about (same rules as item ids).</param>
/// <param name="Kind">What happened.</param>
/// <param name="Weight">Finite weight (for example a rating or a dwell-time factor).</param>
/// <param name="TimestampMs">Unix time in milliseconds.</param>
public readonly record struct UserEvent(string ItemId, UserEventKind Kind, float Weight, long TimestampMs);

/// <summary>
/// A user: id, profile vectors (same names and dimensions as item vectors, so scores are dot products), a bounded
/// recent-event history (oldest first, at most <see cref="StoreOptions.MaxUserEvents"/>) and an A/B bucket.
/// </summary>
public sealed class UserRecord
{
    /// <summary>Creates an empty user with the given id.</summary>
    public UserRecord(string id) => Id = id;

    /// <summary>The user id: non-empty, at most <see cref="StoreLimits.MaxIdBytes"/> UTF-8 bytes.</summary>
    public string Id { get; }

    /// <summary>Profile vectors by schema name.</summary>
    public Dictionary<string, float[]> Vectors { get; } = new(StringComparer.Ordinal);

    /// <summary>Recent events, oldest first. On write, only the newest <see cref="StoreOptions.MaxUserEvents"/> are kept.</summary>
    public List<UserEvent> Events { get; } = [];

    /// <summary>
    /// A/B bucket, 0 ≤ bucket &lt; <see cref="StoreOptions.AbBucketCount"/>. Null on write means "assign
    /// deterministically from the id" (<see cref="AbBuckets.ForUser"/>).
    /// </summary>
    public int? Bucket { get; set; }
}
