using RankEngine.Catalog;
using System.Buffers.Binary;
using System.Diagnostics;
using FASTER.core;

namespace RankEngine.Store;

internal sealed partial class RankStore
{
    // Checkpoint cookie: "RKCP", u16 version 1, u16 reserved, i64 write-ahead-log address the checkpoint covers up to.
    private static ReadOnlySpan<byte> CookieMagic => "RKCP"u8;

    private readonly object _checkpointMutex = new();
    private readonly AutoResetEvent _checkpointSignal = new(false);
    private Thread? _checkpointThread;
    private bool _stopCheckpoints;
    private long _walReplayFrom;          // where replay would start now: the page of the last checkpoint's cut
    private long _writesSinceCheckpoint;  // writes (and replayed entries) not yet in a checkpoint
    private int _checkpointQueued;
    private bool _closed;                 // set under _checkpointMutex by Dispose before resources go away

    /// <summary>The last exception a background checkpoint or compaction threw, or null. Background failures never crash the process.</summary>
    public Exception? LastBackgroundError { get; private set; }

    /// <summary>When <see cref="LastBackgroundError"/> happened.</summary>
    public DateTimeOffset? LastBackgroundErrorAt { get; private set; }

    /// <summary>
    /// True while the latest background run (checkpoint, compaction) failed; a later run that succeeds clears it.
    /// The server reports it in /readyz, INFO and /metrics.
    /// </summary>
    public bool BackgroundFailing => Volatile.Read(ref _backgroundFailing);

    /// <summary>Background runs that failed since open.</summary>
    public long BackgroundErrorCount => Interlocked.Read(ref _backgroundErrors);

    /// <summary>Raised on the checkpointer thread when a background checkpoint or compaction fails (the server logs it). Handlers must not throw.</summary>
    public event Action<Exception>? BackgroundFailed;

    private bool _backgroundFailing;
    private long _backgroundErrors;

    /// <summary>Number of checkpoints taken since open.</summary>
    public long CheckpointCount { get; private set; }

    /// <summary>
    /// Takes a FASTER checkpoint (index and log, fold-over) of everything written so far, then truncates the
    /// write-ahead log up to it. Writes continue meanwhile; they pause only for the instant the checkpoint starts.
    /// </summary>
    public void Checkpoint()
    {
        ThrowIfDisposed();
        if (!CheckpointCore(onlyIfWritten: false))
            throw new ObjectDisposedException(nameof(RankStore));
    }

    /// <summary>Takes a checkpoint; false when the store is closed or (with <paramref name="onlyIfWritten"/>) nothing was written since the last one.</summary>
    private bool CheckpointCore(bool onlyIfWritten)
    {
        lock (_checkpointMutex)
        {
            if (_closed)
                return false;
            long began = Stopwatch.GetTimestamp();
            long walCut, pendingWrites = 0;
            _gate.EnterWriteLock();
            try
            {
                if (onlyIfWritten && Interlocked.Read(ref _writesSinceCheckpoint) == 0)
                    return false;
                pendingWrites = Interlocked.Exchange(ref _writesSinceCheckpoint, 0);
                // No writer is between its log append and its store update now: every entry below walCut is applied.
                walCut = _wal.TailAddress;
                byte[] cookie = new byte[16];
                CookieMagic.CopyTo(cookie);
                BinaryPrimitives.WriteUInt16LittleEndian(cookie.AsSpan(4), 1);
                BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(8), walCut);
                _kv.CommitCookie = cookie;
                if (!_kv.TryInitiateFullCheckpoint(out _, CheckpointType.FoldOver))
                {
                    Interlocked.Add(ref _writesSinceCheckpoint, pendingWrites);
                    throw new InvalidOperationException("FASTER did not start the checkpoint: another checkpoint or index resize is in progress.");
                }
            }
            finally
            {
                _gate.ExitWriteLock();
            }
            try
            {
                DriveCheckpointToCompletion();
            }
            catch
            {
                Interlocked.Add(ref _writesSinceCheckpoint, pendingWrites);
                throw;
            }
            // The checkpoint is durable: entries before walCut are no longer needed (replay starts at its page).
            _wal.TruncateBefore(walCut);
            Volatile.Write(ref _walReplayFrom, WriteAheadLog.PageStart(walCut));
            CheckpointCount++;
            RecordCheckpoint(Stopwatch.GetElapsedTime(began));
            return true;
        }
    }

    /// <summary>
    /// Waits for the running checkpoint to finish by refreshing a session of our own until FASTER is back at REST.
    /// The waiting thread never blocks on a task, so it holds no thread-pool continuation hostage; the checkpoint's
    /// I/O completions only need a free pool thread.
    /// </summary>
    private void DriveCheckpointToCompletion()
    {
        var session = _sessions.TryTake(out var pooled) ? pooled : new StoreSession(_kv);
        try
        {
            var spin = new SpinWait();
            while (_kv.SystemState.Phase != Phase.REST)
            {
                session.Session.Refresh();
                session.Session.CompletePending(wait: false);
                spin.SpinOnce(sleep1Threshold: 20);
            }
        }
        finally
        {
            if (_closed)
                session.Dispose();
            else
                _sessions.Add(session);
        }
    }

    /// <summary>
    /// Replays the write-ahead log from <paramref name="checkpointCut"/> (the recovered checkpoint's cookie; null:
    /// no checkpoint, replay everything) and builds the catalog mirror. The KV is already recovered.
    /// </summary>
    private void Recover(long? checkpointCut, bool discardedCheckpoint)
    {
        var clock = Stopwatch.StartNew();
        long replayFrom = checkpointCut ?? 0;
        long replayStart = WriteAheadLog.PageStart(replayFrom);
        if (_wal.BeginAddress > Math.Max(replayStart, WriteAheadLog.FirstAddress))
            throw new StoreCorruptException(
                $"The write-ahead log in '{_directory}' starts at {_wal.BeginAddress}, after the point the recovered checkpoint covers ({replayFrom}); " +
                "writes in between would be lost, so the store refuses to open. Restore the newer checkpoint files.");

        var session = RentSession();
        long replayed;
        try
        {
            replayed = _wal.Replay(replayFrom, (op, key, value) => ApplyReplayed(session, op, key, value));
            session.Session.CompletePending(wait: true);
        }
        finally
        {
            ReturnSession(session);
        }
        BuildMirror();
        _walReplayFrom = replayStart;
        _writesSinceCheckpoint = replayed;
        Recovery = new RecoveryInfo(checkpointCut.HasValue, replayed, _mirror.Count, clock.Elapsed, discardedCheckpoint);
    }

    private static long ReadCookie(byte[]? cookie)
    {
        if (cookie is null || cookie.Length < 16 || !cookie.AsSpan(0, 4).SequenceEqual(CookieMagic))
            throw new StoreCorruptException("The recovered FASTER checkpoint carries no RankStore cookie, so the write-ahead-log position it covers is unknown.");
        return BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(8));
    }

    private static unsafe void ApplyReplayed(StoreSession session, WalOp op, ReadOnlySpan<byte> keyBytes, ReadOnlySpan<byte> valueBytes)
    {
        fixed (byte* k = keyBytes)
        fixed (byte* v = valueBytes)
        {
            var key = new SpanByte(keyBytes.Length, (IntPtr)k);
            switch (op)
            {
                case WalOp.PutItem:
                case WalOp.PutUser:
                    var value = new SpanByte(valueBytes.Length, (IntPtr)v);
                    var status = session.Session.Upsert(ref key, ref value);
                    if (status.IsPending)
                        session.Session.CompletePending(wait: true);
                    break;
                case WalOp.DeleteItem:
                case WalOp.DeleteUser:
                    if (session.Session.Delete(ref key).IsPending)
                        session.Session.CompletePending(wait: true);
                    break;
            }
        }
    }

    private void BuildMirror() => Volatile.Write(ref _userCount, FillMirror(_mirror, countUsers: true));

    /// <summary>Builds a fresh mirror from the store, as open does (benchmarks time this).</summary>
    internal ShardedCatalog BuildCatalogMirrorForBenchmark()
    {
        var mirror = NewCatalog(_schema, _options);
        FillMirror(mirror);
        return mirror;
    }

    /// <summary>
    /// Fills a mirror with every live item by scanning the FASTER log in address order and applying each item
    /// record (upsert, or remove for a tombstone). A key's newer record is always at a higher address (updates that
    /// cannot happen in place append at the tail; in-place updates change the newest record), so the last record seen
    /// per key is its current state. Records FASTER marks as skippable (invalid, or sealed and superseded) are
    /// skipped. One sequential pass; FASTER's distinct-key Iterate() keeps a temporary store and was ~15× slower at 1M items.
    /// </summary>
    /// <returns>With <paramref name="countUsers"/>, the number of live users (the same pass, by 64-bit key hash); else 0.</returns>
    private long FillMirror(ShardedCatalog mirror, bool countUsers = false)
    {
        var users = countUsers ? new HashSet<ulong>() : null;
        // Room for every key up front so the pass never regrows: FASTER's index entry count (items and users)
        // undercounts keys slightly (keys sharing a bucket and tag share an entry), hence the margin.
        long entries = _kv.EntryCount;
        mirror.EnsureCapacity((int)Math.Min(int.MaxValue / 2, Math.Max(1024, entries + entries / 16)));
        var log = _kv.Log;
        using var iterator = log.Scan(log.BeginAddress, log.TailAddress);
        while (iterator.GetNext(out RecordInfo info))
        {
            if (info.SkipOnScan)
                continue;
            var keySpan = iterator.GetKey().AsReadOnlySpan();
            if (users is not null && keySpan.Length >= 2 && keySpan[0] == (byte)RecordKind.User)
            {
                ulong hash = System.IO.Hashing.XxHash64.HashToUInt64(keySpan);
                if (info.Tombstone) users.Remove(hash);
                else users.Add(hash);
                continue;
            }
            if (keySpan.Length < 2 || keySpan[0] != (byte)RecordKind.Item)
                continue;
            string id = StoreKeys.DecodeId(keySpan);
            if (info.Tombstone)
                mirror.Remove(id);
            else
                mirror.Upsert(id, iterator.GetValue().AsReadOnlySpan());
        }
        return users?.Count ?? 0;
    }

    /// <summary>
    /// Background checkpoints run on one dedicated thread that wakes on the interval or when a writer signals that
    /// the log has grown past <see cref="StoreOptions.CheckpointWalBytes"/>. A dedicated thread (not timer callbacks
    /// on the thread pool) means checkpoints never overlap and never starve the pool that completes their I/O.
    /// </summary>
    private void StartBackgroundCheckpoints()
    {
        _checkpointThread = new Thread(CheckpointLoop) { IsBackground = true, Name = "RankStore checkpointer" };
        _checkpointThread.Start();
    }

    private void StopBackgroundCheckpoints()
    {
        Volatile.Write(ref _stopCheckpoints, true);
        _checkpointSignal.Set();
        _checkpointThread?.Join();
        _checkpointSignal.Dispose();
    }

    private void CheckpointLoop()
    {
        var interval = _options.CheckpointInterval is { } i && i > TimeSpan.Zero ? i : Timeout.InfiniteTimeSpan;
        while (true)
        {
            _checkpointSignal.WaitOne(interval);
            if (Volatile.Read(ref _stopCheckpoints))
                return;
            BackgroundCheckpoint();
        }
    }

    /// <summary>Called by writers: when the log has grown past the threshold, wake the checkpointer (once).</summary>
    private void MaybeQueueCheckpoint(long walAddress)
    {
        if (walAddress - Volatile.Read(ref _walReplayFrom) < _options.CheckpointWalBytes && !CompactionDue())
            return;
        if (Interlocked.Exchange(ref _checkpointQueued, 1) == 0)
            _checkpointSignal.Set();
    }

    private void BackgroundCheckpoint()
    {
        try
        {
            Volatile.Write(ref _checkpointQueued, 0);
            if (InjectBackgroundFault is { } fault)
                throw fault;
            // A compaction ends with its own checkpoint, which also covers every write so far.
            if (!CompactCore(force: false))
                CheckpointCore(onlyIfWritten: true);
            _mirror.CompactSparse(_options.MirrorCompactionThreshold);
            Volatile.Write(ref _backgroundFailing, false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LastBackgroundError = e;
            LastBackgroundErrorAt = DateTimeOffset.UtcNow;
            Interlocked.Increment(ref _backgroundErrors);
            Volatile.Write(ref _backgroundFailing, true);
            try
            {
                BackgroundFailed?.Invoke(e);
            }
            catch (Exception)
            {
                // A faulty handler must not stop the checkpointer.
            }
        }
    }

    /// <summary>Test hook: makes the next background runs throw (simulates a failing disk) until cleared.</summary>
    internal Exception? InjectBackgroundFault { get; set; }

    /// <summary>Runs one background pass (checkpoint or compaction) on the calling thread, as the timer would (tests).</summary>
    internal void RunBackgroundPass() => BackgroundCheckpoint();
}
