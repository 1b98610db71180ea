using FASTER.core;

namespace RankEngine.Store;

internal sealed partial class RankStore
{
    // Live bytes the hybrid log held right after the last compaction (0 until one ran): the next one is due when the
    // log has grown to CompactionRatio times that. Overwrites only append, so between compactions the log is at most
    // ratio × live + CompactionMinBytes, whatever the write rate.
    private long _liveBytesAfterCompaction;
    private long _compactAtBytes = long.MaxValue;

    /// <summary>How long writers paused during the last compaction's copy (zero before the first).</summary>
    public TimeSpan LastCompactionPause { get; private set; }

    /// <summary>Number of hybrid-log compactions since open.</summary>
    public long CompactionCount { get; private set; }

    /// <summary>Bytes of the FASTER hybrid log between its begin and tail addresses (what its segment files hold, to a segment).</summary>
    public long LogBytes => _kv.Log.TailAddress - _kv.Log.BeginAddress;

    /// <summary>Live bytes in the hybrid log measured by the last compaction (0 before the first).</summary>
    public long LiveBytesAfterCompaction => Interlocked.Read(ref _liveBytesAfterCompaction);

    /// <summary>Bytes the compactions copied to the tail since open (their share of <see cref="KvTailAddress"/>).</summary>
    internal long CompactionCopiedBytes => Interlocked.Read(ref _compactionCopied);

    private long _compactionCopied;

    // Odd while a compaction runs. FASTER's Compact moves the begin address when it ends; a read that found a key's
    // pre-compaction record on disk just before may then report it missing. Reads that miss while this changed (or
    // was odd) wait for the compaction to end and read again, so the engine's read-then-write paths never see a live
    // record as absent.
    private long _compactionSeq;

    /// <summary>True when a compaction ran during a read that began at <paramref name="seq"/>; waits until it has ended.</summary>
    private bool CompactionRaced(long seq)
    {
        if (Volatile.Read(ref _compactionSeq) == seq && (seq & 1) == 0)
            return false;
        var spin = new SpinWait();
        while ((Volatile.Read(ref _compactionSeq) & 1) != 0)
            spin.SpinOnce(sleep1Threshold: 10);
        return true;
    }

    /// <summary>Hybrid-log tail address: every byte ever appended (it only grows).</summary>
    internal long KvTailAddress => _kv.Log.TailAddress;

    /// <summary>Hybrid-log begin address (advances when a compaction's checkpoint truncates the log).</summary>
    internal long KvBeginAddress => _kv.Log.BeginAddress;

    /// <summary>
    /// Compacts the hybrid log now, whatever its size: copies every live record below the read-only boundary to the
    /// tail, then checkpoints, which records the new begin address and deletes the segment files below it. Reads and
    /// writes continue meanwhile. False when the store is closed or compaction is off (<see cref="StoreOptions.CompactionRatio"/> 0).
    /// </summary>
    public bool Compact()
    {
        ThrowIfDisposed();
        return CompactCore(force: true);
    }

    private void InitCompaction() => Volatile.Write(ref _compactAtBytes, NextCompactionThreshold(0));

    private long NextCompactionThreshold(long live)
    {
        double ratio = _options.CompactionRatio;
        if (ratio == 0)
            return long.MaxValue;
        return (long)Math.Min(long.MaxValue / 2, Math.Max(_options.CompactionMinBytes, ratio * live));
    }

    private bool CompactionDue() => LogBytes >= Volatile.Read(ref _compactAtBytes);

    /// <summary>
    /// One compaction, on the checkpointer thread (or a caller of <see cref="Compact"/>), under the checkpoint mutex so
    /// it never overlaps a checkpoint or <see cref="Dispose"/>. Crash safety: FASTER's Compact only moves the begin
    /// address in memory; segment files are deleted by the checkpoint that follows, after it has persisted both the
    /// copies and the new begin address. A kill before that checkpoint completes recovers the previous checkpoint,
    /// whose segments are all still there, and replays the write-ahead log as usual.
    /// </summary>
    private bool CompactCore(bool force)
    {
        if (_options.CompactionRatio == 0)
            return false;
        lock (_checkpointMutex)
        {
            if (_closed)
                return false;
            if (!force && !CompactionDue())
                return false;
            var log = _kv.Log;
            // Only the read-only region can be compacted: make everything written so far read-only (flushed).
            log.ShiftReadOnlyAddress(log.TailAddress, wait: true);
            long until = log.SafeReadOnlyAddress;
            long compactedUntil, tailBefore = log.TailAddress;
            var session = _kv.For(StoreFunctions.Instance).NewSession<StoreFunctions>();
            // Writers pause while live records are copied (reads go on). With writers running during FASTER's
            // Compact, SIGKILL trials lost acknowledged records (3 of ~190 trials: live records missing after
            // recovery, read-modify-writes that saw their user as absent); with the pause none did (see
            // bench/HISTORY.md for the trial counts). The pause lasts one pass over the log (ms for MiB of live
            // data; INFO last_compaction_pause_ms).
            _gate.EnterWriteLock();
            // Odd only while the write gate is held, so a writer (which holds the gate shared) never waits on it.
            Interlocked.Increment(ref _compactionSeq);
            long paused = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                // Lookup: each record is checked against the index (no temporary store holding every key, as Scan would).
                compactedUntil = session.Compact(until, CompactionType.Lookup);
            }
            finally
            {
                Interlocked.Increment(ref _compactionSeq);
                _gate.ExitWriteLock();
                LastCompactionPause = System.Diagnostics.Stopwatch.GetElapsedTime(paused);
                session.Dispose();
            }
            long tailAfter = log.TailAddress;
            Interlocked.Add(ref _compactionCopied, tailAfter - tailBefore); // includes writes made meanwhile: an upper bound
            long live = Math.Max(0, tailAfter - compactedUntil);
            CheckpointCore(onlyIfWritten: false);
            Interlocked.Exchange(ref _liveBytesAfterCompaction, live);
            Volatile.Write(ref _compactAtBytes, NextCompactionThreshold(live));
            CompactionCount++;
            return true;
        }
    }
}
