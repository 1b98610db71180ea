using System.Diagnostics;
using RankEngine.Server.Resp;

namespace RankEngine.Server.Metrics;

/// <summary>
/// Counters of the server, updated lock-free from every connection: requests and latency histogram per command,
/// errors per code, connections. Read by INFO and the Prometheus endpoint.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Upper bounds (seconds) of the latency histogram buckets; the last, +Inf, is implicit.</summary>
    public static readonly double[] LatencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private static readonly long[] BucketTicks = LatencyBuckets.Select(s => (long)(s * Stopwatch.Frequency)).ToArray();
    private readonly long[] _requests = new long[CommandTable.Count];
    private readonly long[] _latencyTicks = new long[CommandTable.Count];
    private readonly long[] _histogram = new long[CommandTable.Count * (LatencyBuckets.Length + 1)];
    private readonly long[] _errors = new long[ErrorCodes.Count];
    private long _connections, _connectionsTotal, _connectionsRejected;
    private readonly long[] _busy = new long[CommandTable.Count];
    private readonly long[] _slotWaitHistogram = new long[LatencyBuckets.Length + 1];
    private long _slotWaitTicks, _bytesIn, _bytesOut;
    private System.Diagnostics.Metrics.Histogram<double>? _durationInstrument, _slotWaitInstrument;

    /// <summary>The System.Diagnostics.Metrics histograms that mirror the duration and slot-wait histograms (ServerMeter).</summary>
    internal void AttachInstruments(System.Diagnostics.Metrics.Histogram<double> duration, System.Diagnostics.Metrics.Histogram<double> slotWait)
    {
        _durationInstrument = duration;
        _slotWaitInstrument = slotWait;
    }

    /// <summary>When the metrics (the server) started.</summary>
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>Open protocol connections.</summary>
    public long Connections => Interlocked.Read(ref _connections);

    /// <summary>Connections accepted since start.</summary>
    public long ConnectionsTotal => Interlocked.Read(ref _connectionsTotal);

    /// <summary>Connections refused because <see cref="ServerLimits.MaxConnections"/> were open.</summary>
    public long ConnectionsRejected => Interlocked.Read(ref _connectionsRejected);

    /// <summary>Requests answered since start (errors included).</summary>
    public long CommandsProcessed
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _requests.Length; i++) sum += Interlocked.Read(ref _requests[i]);
            return sum;
        }
    }

    /// <summary>Counts a new connection unless <paramref name="limit"/> are already open.</summary>
    internal bool TryOpenConnection(int limit)
    {
        while (true)
        {
            long open = Interlocked.Read(ref _connections);
            if (open >= limit) return false;
            if (Interlocked.CompareExchange(ref _connections, open + 1, open) == open) break;
        }
        Interlocked.Increment(ref _connectionsTotal);
        return true;
    }

    internal void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    internal void ConnectionRejected() => Interlocked.Increment(ref _connectionsRejected);

    private long _connectionsTimedOut, _authFailures;

    /// <summary>Connections closed for the idle timeout or the authentication deadline.</summary>
    public long ConnectionsTimedOut => Interlocked.Read(ref _connectionsTimedOut);

    /// <summary>Failed AUTH (or HELLO … AUTH) attempts.</summary>
    public long AuthFailures => Interlocked.Read(ref _authFailures);

    internal void ConnectionTimedOut() => Interlocked.Increment(ref _connectionsTimedOut);

    internal void AuthFailed() => Interlocked.Increment(ref _authFailures);

    /// <summary>One answered request and how long it took from its arrival to its reply.</summary>
    internal void Request(RespCommand command, long elapsedTicks)
    {
        int c = (int)command;
        Interlocked.Increment(ref _requests[c]);
        Interlocked.Add(ref _latencyTicks[c], elapsedTicks);
        Interlocked.Increment(ref _histogram[c * (LatencyBuckets.Length + 1) + BucketOf(elapsedTicks)]);
        if (_durationInstrument is { Enabled: true } d)
            d.Record(elapsedTicks / (double)Stopwatch.Frequency, new KeyValuePair<string, object?>("command", CommandTable.Name(command)));
    }

    internal void Error(ErrorCode code) => Interlocked.Increment(ref _errors[(int)code]);

    /// <summary>One engine command admitted or refused, and how long it waited for a slot (0 when one was free).</summary>
    internal void SlotWait(long elapsedTicks)
    {
        Interlocked.Add(ref _slotWaitTicks, elapsedTicks);
        Interlocked.Increment(ref _slotWaitHistogram[BucketOf(elapsedTicks)]);
        if (_slotWaitInstrument is { Enabled: true } w) w.Record(elapsedTicks / (double)Stopwatch.Frequency);
    }

    /// <summary>One request answered BUSY (no slot before its deadline).</summary>
    internal void Busy(RespCommand command) => Interlocked.Increment(ref _busy[(int)command]);

    internal void BytesIn(long bytes) => Interlocked.Add(ref _bytesIn, bytes);

    internal void BytesOut(long bytes) => Interlocked.Add(ref _bytesOut, bytes);

    /// <summary>Requests of one command answered BUSY.</summary>
    public long BusyReplies(RespCommand command) => Interlocked.Read(ref _busy[(int)command]);

    /// <summary>Protocol bytes read from clients.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesIn);

    /// <summary>Protocol bytes written to clients.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesOut);

    /// <summary>Sum of slot waits, in seconds.</summary>
    public double SlotWaitSeconds => Interlocked.Read(ref _slotWaitTicks) / (double)Stopwatch.Frequency;

    /// <summary>Non-cumulative count of one slot-wait histogram bucket (index <see cref="LatencyBuckets"/>.Length is +Inf).</summary>
    public long SlotWaitBucket(int bucket) => Interlocked.Read(ref _slotWaitHistogram[bucket]);

    private static int BucketOf(long elapsedTicks)
    {
        int bucket = 0;
        while (bucket < BucketTicks.Length && elapsedTicks > BucketTicks[bucket]) bucket++;
        return bucket;
    }

    /// <summary>Requests answered for one command.</summary>
    public long Requests(RespCommand command) => Interlocked.Read(ref _requests[(int)command]);

    /// <summary>Errors answered with one code.</summary>
    public long Errors(ErrorCode code) => Interlocked.Read(ref _errors[(int)code]);

    /// <summary>Sum of latencies of one command, in seconds.</summary>
    public double LatencySeconds(RespCommand command) => Interlocked.Read(ref _latencyTicks[(int)command]) / (double)Stopwatch.Frequency;

    /// <summary>Non-cumulative count of one histogram bucket (index <see cref="LatencyBuckets"/>.Length is +Inf).</summary>
    public long LatencyBucket(RespCommand command, int bucket) =>
        Interlocked.Read(ref _histogram[(int)command * (LatencyBuckets.Length + 1) + bucket]);
}
