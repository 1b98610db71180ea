using System.Diagnostics;

namespace RankEngine.Diagnostics;

/// <summary>
/// Process-wide counters of text encoding (every <see cref="Encoders.TextEncoder"/> adds to them): calls, texts,
/// tokens, time, and histograms of call latency and batch size. Lock-free; read by the server's /metrics.
/// </summary>
internal static class EncoderMetrics
{
    /// <summary>Upper bounds (seconds) of the latency buckets; +Inf is implicit.</summary>
    public static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Upper bounds (texts per call) of the batch-size buckets; +Inf is implicit.</summary>
    public static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

    private static readonly long[] LatencyCounts = new long[LatencyBuckets.Length + 1];
    private static readonly long[] BatchCounts = new long[BatchBuckets.Length + 1];
    private static long _calls, _texts, _tokens, _ticks;

    /// <summary>Encode calls since the process started.</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    /// <summary>Texts encoded.</summary>
    public static long Texts => Interlocked.Read(ref _texts);

    /// <summary>Tokens encoded (after truncation to the model's length: what the encoder computed on).</summary>
    public static long Tokens => Interlocked.Read(ref _tokens);

    /// <summary>Time spent encoding, in seconds (tokenising included).</summary>
    public static double Seconds => Interlocked.Read(ref _ticks) / (double)Stopwatch.Frequency;

    /// <summary>Non-cumulative count of one latency bucket (index LatencyBuckets.Length is +Inf).</summary>
    public static long LatencyBucket(int bucket) => Interlocked.Read(ref LatencyCounts[bucket]);

    /// <summary>Non-cumulative count of one batch-size bucket (index BatchBuckets.Length is +Inf).</summary>
    public static long BatchBucket(int bucket) => Interlocked.Read(ref BatchCounts[bucket]);

    internal static void Record(int texts, long tokens, long elapsedTicks)
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Add(ref _texts, texts);
        Interlocked.Add(ref _tokens, tokens);
        Interlocked.Add(ref _ticks, elapsedTicks);
        double seconds = elapsedTicks / (double)Stopwatch.Frequency;
        Interlocked.Increment(ref LatencyCounts[Bucket(LatencyBuckets, seconds)]);
        Interlocked.Increment(ref BatchCounts[Bucket(BatchBuckets, texts)]);
    }

    private static int Bucket(double[] bounds, double value)
    {
        int b = 0;
        while (b < bounds.Length && value > bounds[b]) b++;
        return b;
    }
}
