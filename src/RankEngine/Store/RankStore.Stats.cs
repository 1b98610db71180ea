namespace RankEngine.Store;

/// <summary>Sizes and checkpoint timing of a store, for metrics.</summary>
/// <param name="Users">Users in the store (counted at open, then kept up to date by every user write and delete).</param>
/// <param name="HybridLogBytes">Bytes of FASTER's hybrid log between its begin and tail (memory and disk).</param>
/// <param name="HybridLogMemoryBytes">Bytes of the hybrid log held in memory (head to tail).</param>
/// <param name="WalBytes">Bytes of the write-ahead log not yet truncated by a checkpoint.</param>
/// <param name="DiskBytes">Bytes of all files in the data directory.</param>
/// <param name="Checkpoints">Checkpoints taken since open.</param>
/// <param name="LastCheckpointAt">When the last checkpoint finished; null before the first.</param>
/// <param name="LastCheckpointDuration">How long the last checkpoint took.</param>
/// <param name="OpenedAt">When the store was opened.</param>
internal sealed record StoreStats(long Users, long HybridLogBytes, long HybridLogMemoryBytes, long WalBytes, long DiskBytes, long Checkpoints,
    DateTimeOffset? LastCheckpointAt, TimeSpan LastCheckpointDuration, DateTimeOffset OpenedAt);

internal sealed partial class RankStore
{
    private readonly DateTimeOffset _openedAt = DateTimeOffset.UtcNow;
    private long _lastCheckpointTicks;      // UTC ticks of the last finished checkpoint, 0 before the first
    private long _lastCheckpointDuration;   // TimeSpan ticks
    private long _userCount;                // live users: counted by the open scan, then ±1 per new user and delete

    /// <summary>Number of users.</summary>
    public long UserCount => Interlocked.Read(ref _userCount);

    private void RecordCheckpoint(TimeSpan duration)
    {
        Interlocked.Exchange(ref _lastCheckpointDuration, duration.Ticks);
        Interlocked.Exchange(ref _lastCheckpointTicks, DateTimeOffset.UtcNow.UtcTicks);
    }

    /// <summary>Current sizes and checkpoint timing (cheap: addresses, plus one listing of the data directory).</summary>
    public StoreStats GetStats()
    {
        ThrowIfDisposed();
        var log = _kv.Log;
        long disk = 0;
        try
        {
            foreach (var file in new DirectoryInfo(_directory).EnumerateFiles("*", SearchOption.AllDirectories))
                disk += file.Length;
        }
        catch (IOException)
        {
            // A checkpoint may delete files while we list them: report what was counted.
        }
        long last = Interlocked.Read(ref _lastCheckpointTicks);
        return new StoreStats(
            UserCount,
            log.TailAddress - log.BeginAddress,
            log.TailAddress - log.HeadAddress,
            _wal.TailAddress - _wal.BeginAddress,
            disk,
            CheckpointCount,
            last == 0 ? null : new DateTimeOffset(last, TimeSpan.Zero),
            TimeSpan.FromTicks(Interlocked.Read(ref _lastCheckpointDuration)),
            _openedAt);
    }
}
