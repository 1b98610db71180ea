using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace RankEngine.Server.Hosting;

/// <summary>
/// What the receive loop and the session of one connection share: whether it has authenticated (the receive loop
/// enforces the authentication deadline until then) and why it was cut (for the log).
/// </summary>
internal sealed class ConnectionGuard(IPAddress address, bool authenticated)
{
    private volatile bool _authenticated = authenticated;

    public IPAddress Address { get; } = address;

    public bool Authenticated => _authenticated;

    public void MarkAuthenticated() => _authenticated = true;

    /// <summary>Set by the receive loop when it closed the connection for a timeout.</summary>
    public string? TimedOut { get; set; }

    private long _consumed;
    private readonly SemaphoreSlim _progress = new(0);

    /// <summary>Bytes the session has consumed so far (the receive loop holds an unauthenticated client to a few KiB ahead of it).</summary>
    public long Consumed => Interlocked.Read(ref _consumed);

    /// <summary>Called by the session after it consumed input or authenticated: wakes a receive loop waiting for room.</summary>
    public void Progress(long consumedTotal)
    {
        Interlocked.Exchange(ref _consumed, consumedTotal);
        if (_progress.CurrentCount == 0) _progress.Release();
    }

    /// <summary>Waits until the session makes progress (or the timeout passes).</summary>
    public Task<bool> WaitProgressAsync(TimeSpan timeout, CancellationToken cancellation) => _progress.WaitAsync(timeout, cancellation);

    public void MarkAuthenticatedAndWake()
    {
        MarkAuthenticated();
        if (_progress.CurrentCount == 0) _progress.Release();
    }
}

/// <summary>
/// Per-address bookkeeping shared by all connections: open connections (for the per-address limit) and recent
/// failed AUTH attempts (for the delay and the log). Entries of addresses with no connection and no recent failure
/// are removed, so the table is bounded by the open connections plus the addresses seen in the last window.
/// </summary>
internal sealed class AddressBook
{
    private static readonly long Window = Stopwatch.Frequency * 60; // failures are counted per minute
    private readonly ConcurrentDictionary<IPAddress, Entry> _entries = new();

    private sealed class Entry
    {
        public int Connections;
        public int Failures;
        public long WindowStart;
        public bool Removed; // set under the entry's lock when it leaves the table: callers holding it start over
    }

    public bool TryOpen(IPAddress address, int limit)
    {
        if (_entries.Count > 4096) Sweep();
        while (true)
        {
            var entry = _entries.GetOrAdd(address, _ => new Entry());
            lock (entry)
            {
                if (entry.Removed) continue;
                if (entry.Connections >= limit) return false;
                entry.Connections++;
                return true;
            }
        }
    }

    public void Close(IPAddress address)
    {
        if (!_entries.TryGetValue(address, out var entry)) return;
        lock (entry)
        {
            entry.Connections--;
            if (entry.Connections <= 0 && Stopwatch.GetTimestamp() - entry.WindowStart > Window)
            {
                entry.Removed = true;
                _entries.TryRemove(new KeyValuePair<IPAddress, Entry>(address, entry));
            }
        }
    }

    /// <summary>Counts a failed AUTH; returns the failures from this address in the current minute.</summary>
    public int AuthFailed(IPAddress address)
    {
        var entry = _entries.GetOrAdd(address, _ => new Entry());
        lock (entry)
        {
            // A removed entry still counts this failure; the connection that failed keeps its address entry alive.
            long now = Stopwatch.GetTimestamp();
            if (now - entry.WindowStart > Window)
            {
                entry.WindowStart = now;
                entry.Failures = 0;
            }
            return ++entry.Failures;
        }
    }

    /// <summary>Drops addresses with no connection whose failure window has passed (they were kept for the delay).</summary>
    private void Sweep()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var (address, entry) in _entries)
            lock (entry)
                if (entry.Connections <= 0 && now - entry.WindowStart > Window)
                {
                    entry.Removed = true;
                    _entries.TryRemove(new KeyValuePair<IPAddress, Entry>(address, entry));
                }
    }

    public int Connections(IPAddress address) => _entries.TryGetValue(address, out var e) ? Volatile.Read(ref e.Connections) : 0;
}

/// <summary>
/// The receive bytes buffered across all connections (unread request bytes), against
/// <see cref="ServerLimits.MaxBufferedBytes"/>: past it, a connection that holds an incomplete request of its own is
/// refused instead of being allowed to buffer more.
/// </summary>
internal sealed class BufferBudget(long limit)
{
    private long _held;

    public long Limit { get; } = limit;

    public long Held => Interlocked.Read(ref _held);

    public void Add(long delta)
    {
        if (delta != 0) Interlocked.Add(ref _held, delta);
    }

    public bool Exhausted => Interlocked.Read(ref _held) > Limit;

    private long _peakSinceReclaim;
    private long _lastReclaim;
    private int _reclaiming;

    /// <summary>
    /// Records the high-water mark; once stalled connections that held a lot have gone (64 MiB+ released), runs one
    /// aggressive, compacting GC in the background (at most every 10 s) so the freed receive buffers go back to the
    /// OS instead of keeping the process at its peak.
    /// </summary>
    public void MaybeReclaim()
    {
        long held = Interlocked.Read(ref _held);
        long peak = Interlocked.Read(ref _peakSinceReclaim);
        if (held > peak) { Interlocked.Exchange(ref _peakSinceReclaim, held); return; }
        if (peak - held < 64L << 20 || Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastReclaim)) < TimeSpan.FromSeconds(10)) return;
        if (Interlocked.Exchange(ref _reclaiming, 1) != 0) return;
        Interlocked.Exchange(ref _lastReclaim, Stopwatch.GetTimestamp());
        Interlocked.Exchange(ref _peakSinceReclaim, held);
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false); // let a burst of closes finish first
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            }
            finally { Volatile.Write(ref _reclaiming, 0); }
        });
    }
}
