using RankEngine.Store;

namespace RankEngine.Ranking;

/// <summary>Where a profile rebuild reads the vectors of a user's items (a local catalog version, or vectors fetched from cluster shards).</summary>
internal interface IItemVectorSource
{
    /// <summary>False when the catalog has no such item (since deleted); an empty span when the item lacks that vector.</summary>
    bool TryGet(string id, out ReadOnlySpan<float> content, out ReadOnlySpan<float> collab);
}

/// <summary>
/// The one write path of a user's history, for the embedded engine and the cluster's user grains alike: event
/// checks, the time-ordered, trimmed history and the pooled profile vectors (<see cref="UserProfile"/>).
/// </summary>
internal static class UserHistory
{
    /// <summary>Checks kinds and weights (item existence is the caller's: it knows where the catalog lives).</summary>
    /// <exception cref="ArgumentException">An unknown kind, a weight that is not finite and ≥ 0, or an empty item id.</exception>
    public static void Validate(IReadOnlyList<UserEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            if (!Enum.IsDefined(e.Kind)) throw new ArgumentException($"unknown event kind {(int)e.Kind}");
            if (!float.IsFinite(e.Weight) || e.Weight < 0) throw new ArgumentException($"event weight must be a finite number ≥ 0, got {e.Weight}");
            if (string.IsNullOrEmpty(e.ItemId)) throw new ArgumentException("an event has an empty item id");
        }
    }

    /// <summary>Appends the events and keeps the newest <paramref name="maxEvents"/> in time order.</summary>
    public static void Append(UserRecord user, IReadOnlyList<UserEvent> events, int maxEvents)
    {
        user.Events.AddRange(events);
        // Stable by time, so trimming drops the truly oldest events even when one arrives late.
        var ordered = user.Events.OrderBy(e => e.TimestampMs).ToList();
        user.Events.Clear();
        user.Events.AddRange(ordered.Skip(Math.Max(0, ordered.Count - maxEvents)));
    }

    /// <summary>
    /// Pools the user's history into unit content and collab vectors (kind weight × event weight × recency decay).
    /// Items since deleted are skipped. No signal → no vector (cold start).
    /// </summary>
    /// <param name="user">The user, with its history already appended.</param>
    /// <param name="items">Where the items' vectors are read.</param>
    /// <param name="weights">How event kinds weigh.</param>
    /// <param name="halfLife">Time for an event's influence to halve.</param>
    /// <param name="contentDimension">Width of content vectors.</param>
    /// <param name="collabDimension">Width of collab vectors; 0 when the deployment has none.</param>
    public static void RebuildProfile<TItems>(UserRecord user, ref TItems items, EventWeights weights, TimeSpan halfLife, int contentDimension, int collabDimension)
        where TItems : IItemVectorSource, allows ref struct
    {
        double halfLifeMs = halfLife.TotalMilliseconds;
        var content = new UserProfile(contentDimension);
        var collab = collabDimension > 0 ? new UserProfile(collabDimension) : null;
        foreach (var e in user.Events)
        {
            if (!items.TryGet(e.ItemId, out var itemContent, out var itemCollab)) continue;
            float w = weights.For(e.Kind) * e.Weight;
            if (w == 0) continue;
            if (!itemContent.IsEmpty) content.Add(itemContent, w, e.TimestampMs, halfLifeMs);
            if (collab is not null && !itemCollab.IsEmpty) collab.Add(itemCollab, w, e.TimestampMs, halfLifeMs);
        }
        SetProfileVector(user, RankPipeline.ContentVector, content);
        if (collab is not null) SetProfileVector(user, RankPipeline.CollabVector, collab);
    }

    private static void SetProfileVector(UserRecord user, string name, UserProfile profile)
    {
        var v = new float[profile.Dimension];
        if (profile.TryGetVector(v)) user.Vectors[name] = v;
        else user.Vectors.Remove(name);
    }
}
