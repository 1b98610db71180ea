namespace RankEngine.Cluster;

/// <summary>A shard left out of a search: its index, whether it missed the deadline (else its call failed), and why.</summary>
public readonly record struct ShardMiss(int Shard, bool TimedOut, string Reason);

/// <summary>
/// A cluster search's answer: the merged top K of the shards that answered, and how much of the catalog that is
/// (<see cref="ShardsAnswered"/> of <see cref="ShardsAsked"/>; the shards that did not answer in <see cref="Missing"/>).
/// </summary>
public sealed record ClusterSearchResult(ClusterHit[] Hits, int ShardsAsked, int ShardsAnswered, ShardMiss[] Missing, TimeSpan Elapsed)
{
    /// <summary>Shards answered / shards asked (1 when every shard answered).</summary>
    public double Coverage => ShardsAsked == 0 ? 1 : (double)ShardsAnswered / ShardsAsked;

    /// <summary>Whether every shard answered, so <see cref="Hits"/> is the top K of the whole catalog.</summary>
    public bool IsComplete => ShardsAnswered == ShardsAsked;

    /// <summary>The indices of the shards that did not answer, ascending.</summary>
    public int[] MissingShards => [.. Missing.Select(m => m.Shard)];
}

/// <summary>Thrown by the full-coverage search when some shard did not answer; carries the partial result.</summary>
public sealed class IncompleteCoverageException(ClusterSearchResult result)
    : Exception($"cluster search answered by {result.ShardsAnswered} of {result.ShardsAsked} shards; missing [{string.Join("; ", result.Missing.Select(m => $"{m.Shard}: {m.Reason}"))}]")
{
    public ClusterSearchResult Result { get; } = result;
}
