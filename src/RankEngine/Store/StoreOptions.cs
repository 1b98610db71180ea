namespace RankEngine.Store;

/// <summary>How to open a <see cref="RankStore"/>.</summary>
internal sealed record StoreOptions
{
    /// <summary>Directory that holds everything the store persists; created if missing. Only one open store may use it.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Vector names, dimensions and types. Must equal the schema the directory was created with.</summary>
    public required StoreSchema Schema { get; init; }

    /// <summary>
    /// Period of automatic checkpoints (which also bound write-ahead-log replay time at open). Null or zero turns the
    /// timer off; <see cref="RankStore.Checkpoint"/> still works. Default 60 s.
    /// </summary>
    public TimeSpan? CheckpointInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Take a checkpoint when the write-ahead log has grown by this many bytes since the last one (writers wake the
    /// checkpointer). It bounds the log on disk (plus one segment) and the replay at open. Default 64 MiB.
    /// </summary>
    public long CheckpointWalBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Compact the FASTER hybrid log when it has grown to this multiple of the live data it held after the last
    /// compaction (and to at least <see cref="CompactionMinBytes"/>): live records are copied to the tail, then a
    /// checkpoint persists the new begin address and deletes the segments below it. Reads continue meanwhile;
    /// writes pause while the live records are copied (one pass over the log), then continue during the checkpoint. With ratio r the log stays under about r × live + <see cref="CompactionMinBytes"/> + one segment.
    /// 0 turns compaction off; otherwise it must be greater than 1. Default 2.
    /// </summary>
    public double CompactionRatio { get; init; } = 2.0;

    /// <summary>No compaction while the hybrid log is smaller than this (the fixed part of the disk bound). Default 64 MiB.</summary>
    public long CompactionMinBytes { get; init; } = 64L << 20;

    /// <summary>
    /// Segment (file) size of the hybrid log and the write-ahead log, the unit in which disk space is given back.
    /// A power of two, 4 MiB..1 GiB. Only used when the data directory is created (it is kept in layout.bin);
    /// an existing directory keeps its own. Default 32 MiB.
    /// </summary>
    public long SegmentBytes { get; init; } = 32L << 20;

    /// <summary>Take a final checkpoint on <see cref="RankStore.Dispose"/> so the next open replays nothing. Default true.</summary>
    public bool CheckpointOnDispose { get; init; } = true;

    /// <summary>Memory for the in-memory part of the FASTER hybrid log, in bytes (rounded down to a power of two, at least 4 pages). Default 1 GiB.</summary>
    public long LogMemoryBytes { get; init; } = 1L << 30;

    /// <summary>Expected number of records (items + users); sizes the FASTER hash index. Default 1,000,000.</summary>
    public long ExpectedRecords { get; init; } = 1_000_000;

    /// <summary>Most events kept per user; older ones are dropped on append. Default 100.</summary>
    public int MaxUserEvents { get; init; } = 100;

    /// <summary>Number of A/B buckets users are assigned to when no bucket is given. Default 2.</summary>
    public int AbBucketCount { get; init; } = 2;

    /// <summary>
    /// Catalog shards items are spread over by a hash of their id (each is searched on its own and the results
    /// merged; rankings are identical for any count). Default 1.
    /// </summary>
    public int CatalogShards { get; init; } = 1;

    /// <summary>
    /// A vector (by name) the catalog keeps a quantised copy of (<see cref="QuantizedFormat"/>), so whole-catalog scans
    /// run a quantised first pass and re-score the best candidates exactly in fp32; null for none (default).
    /// </summary>
    public string? QuantizedVector { get; init; }

    /// <summary>The format of <see cref="QuantizedVector"/>'s copy: Int8 (default) or Fp16; ignored without one.</summary>
    public CatalogQuantization QuantizedFormat { get; init; } = CatalogQuantization.Int8;

    /// <summary>Compact a catalog shard when this fraction of its rows no longer show an item (replaced or deleted; checked on the checkpoint timer). Default 0.25.</summary>
    public double MirrorCompactionThreshold { get; init; } = 0.25;
}
