using System.IO.Hashing;
using System.Text;

namespace RankEngine.Ranking;

/// <summary>
/// Deterministic A/B bucket assignment: <c>XxHash64(experiment ‖ 0x00 ‖ userId) mod buckets</c>. The same user
/// always lands in the same bucket of an experiment, different experiments are independent, and no state is kept.
/// </summary>
internal static class BucketAssigner
{
    public static int Assign(string userId, string experiment, int bucketCount)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentException.ThrowIfNullOrEmpty(experiment);
        if (bucketCount <= 0) throw new ArgumentOutOfRangeException(nameof(bucketCount), "an experiment needs at least one bucket");
        int max = Encoding.UTF8.GetMaxByteCount(experiment.Length + userId.Length + 1);
        Span<byte> buffer = max <= 512 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(experiment, buffer);
        buffer[n++] = 0;
        n += Encoding.UTF8.GetBytes(userId, buffer[n..]);
        ulong hash = XxHash64.HashToUInt64(buffer[..n]);
        return (int)(hash % (ulong)bucketCount);
    }
}

/// <summary>One arm of an experiment: its name and the ranking parameters its users get.</summary>
public sealed record Bucket(string Name, RankingParameters Parameters);

/// <summary>
/// An experiment: users are split over <see cref="Buckets"/> by a stable hash of (user id, experiment name); each bucket counts
/// its impressions (items shown) and clicks, so CTR per bucket can be compared. Counters are thread-safe.
/// </summary>
public sealed class Experiment
{
    private readonly long[] _impressions;
    private readonly long[] _clicks;

    /// <summary>The experiment's name (part of the hash that assigns users to buckets).</summary>
    public string Name { get; }
    /// <summary>The arms of the experiment, at least one.</summary>
    public IReadOnlyList<Bucket> Buckets { get; }

    /// <summary>Creates an experiment with zeroed counters.</summary>
    /// <exception cref="ArgumentException">The name is empty or there are no buckets.</exception>
    public Experiment(string name, IReadOnlyList<Bucket> buckets)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (buckets is null || buckets.Count == 0) throw new ArgumentException("an experiment needs at least one bucket");
        Name = name;
        Buckets = buckets;
        _impressions = new long[buckets.Count];
        _clicks = new long[buckets.Count];
    }

    /// <summary>Index into <see cref="Buckets"/> of the user's bucket (the same for the same user and experiment name).</summary>
    public int BucketOf(string userId) => BucketAssigner.Assign(userId, Name, Buckets.Count);

    /// <summary>Adds <paramref name="count"/> items shown to the impressions of bucket <paramref name="bucket"/>.</summary>
    public void RecordImpressions(int bucket, int count) => Interlocked.Add(ref _impressions[bucket], count);
    /// <summary>Counts one click in bucket <paramref name="bucket"/>.</summary>
    public void RecordClick(int bucket) => Interlocked.Increment(ref _clicks[bucket]);

    /// <summary>Counters per bucket at this moment.</summary>
    public IReadOnlyList<BucketStats> Stats()
    {
        var result = new BucketStats[Buckets.Count];
        for (int i = 0; i < result.Length; i++)
        {
            long imp = Interlocked.Read(ref _impressions[i]), clk = Interlocked.Read(ref _clicks[i]);
            result[i] = new BucketStats(Buckets[i].Name, imp, clk, imp == 0 ? 0 : (double)clk / imp);
        }
        return result;
    }
}

/// <summary>Impressions, clicks and click-through rate of one bucket.</summary>
public readonly record struct BucketStats(string Bucket, long Impressions, long Clicks, double Ctr);
