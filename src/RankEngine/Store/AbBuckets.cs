using RankEngine.Ranking;

namespace RankEngine.Store;

/// <summary>The bucket the store gives a user written without one.</summary>
internal static class AbBuckets
{
    /// <summary>Name of the experiment the store's default buckets belong to (the engine's default experiment name).</summary>
    public const string DefaultExperiment = "default";

    /// <summary>
    /// <see cref="BucketAssigner.Assign"/> for <see cref="DefaultExperiment"/>: the same function the ranking layer
    /// uses, so a user written directly to the store lands where the engine's default experiment would put it.
    /// Stable across processes and versions (XxHash64, not <see cref="string.GetHashCode()"/>), so safe to persist.
    /// </summary>
    public static int ForUser(string userId, int bucketCount) => BucketAssigner.Assign(userId, DefaultExperiment, bucketCount);
}
