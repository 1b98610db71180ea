using RankEngine.Catalog;
using System.Collections.Concurrent;
using FASTER.core;

namespace RankEngine.Store;

/// <summary>
/// The item and user store: records in a FASTER <see cref="FasterKV{Key, Value}"/> with <see cref="SpanByte"/> keys
/// and values, a FasterLog write-ahead log for durability, checkpoints that bound recovery time, and a
/// <see cref="ShardedCatalog"/> of all items (vectors and field columns, in versioned shards).
/// </summary>
/// <remarks>
/// <para><b>Durability.</b> A write returns only after its write-ahead-log entry is committed (fsync-equivalent:
/// FASTER devices write through). Concurrent writers share commits. <see cref="Checkpoint"/> (on demand, on a timer,
/// and when the log grows past <see cref="StoreOptions.CheckpointWalBytes"/>) persists the FasterKV and truncates the
/// log. Open recovers the latest checkpoint and replays the log after it, so every acknowledged write survives a
/// crash or SIGKILL.</para>
/// <para><b>Visibility.</b> A write is visible to readers once applied, which happens just before it is durable; a
/// crash in that window can lose a write that was seen but never acknowledged.</para>
/// <para><b>Threading.</b> All methods are thread-safe except <see cref="Dispose"/>, which must not overlap other
/// calls. Each call borrows a FASTER session from a pool and completes all its pending I/O before returning.</para>
/// </remarks>
internal sealed partial class RankStore : IDisposable
{
    private const int StripeCount = 256;
    private const string SchemaFileName = "schema.bin";

    private readonly StoreOptions _options;
    private readonly StoreSchema _schema;
    private readonly string _directory;
    private readonly DirectoryLock _directoryLock;
    private readonly IDevice _kvDevice;
    private readonly FasterKV<SpanByte, SpanByte> _kv;
    private readonly WriteAheadLog _wal;
    private readonly ShardedCatalog _mirror;
    private readonly ConcurrentBag<StoreSession> _sessions = [];

    // Writers hold the gate shared from log append to applying the write; a checkpoint holds it exclusively for the
    // instant it reads the log tail and starts, so every entry below that tail is in the checkpoint.
    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.NoRecursion);

    // Writes to one key are serialised by its stripe, so the log and the store see them in the same order.
    private readonly object[] _stripes;
    private int _disposed;

    private RankStore(StoreOptions options, StoreSchema schema, string directory, DirectoryLock directoryLock,
        IDevice kvDevice, FasterKV<SpanByte, SpanByte> kv, WriteAheadLog wal)
    {
        _options = options;
        _schema = schema;
        _directory = directory;
        _directoryLock = directoryLock;
        _kvDevice = kvDevice;
        _kv = kv;
        _wal = wal;
        _mirror = NewCatalog(schema, options);
        _stripes = new object[StripeCount];
        for (int i = 0; i < StripeCount; i++)
            _stripes[i] = new object();
    }

    /// <summary>The schema the store was opened with.</summary>
    public StoreSchema Schema => _schema;

    /// <summary>The data directory (full path).</summary>
    public string DataDirectory => _directory;

    /// <summary>An empty catalog as the options ask for it (shard count, the vector kept in int8 or fp16 too).</summary>
    private static ShardedCatalog NewCatalog(StoreSchema schema, StoreOptions options) =>
        new(schema, options.CatalogShards, options.QuantizedVector is { } q ? schema.GetSlot(q) : -1, options.QuantizedFormat);

    /// <summary>The item catalog (vectors and field columns, in versioned shards), kept in step with every write.</summary>
    internal ShardedCatalog Catalog => _mirror;

    /// <summary>Number of items.</summary>
    public int ItemCount => _mirror.Count;

    /// <summary>Write-ahead-log tail (tests use it to show that a rejected write logged nothing).</summary>
    internal long WalTailAddress => _wal.TailAddress;

    /// <summary>Write-ahead-log begin address (advances when a checkpoint truncates the log).</summary>
    internal long WalBeginAddress => _wal.BeginAddress;

    /// <summary>What the last open recovered (for logs and tests).</summary>
    public RecoveryInfo Recovery { get; private set; } = new(false, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Opens (or creates) the store in <see cref="StoreOptions.DataDirectory"/>: takes the directory lock, checks
    /// the schema, recovers the latest checkpoint, replays the write-ahead log and builds the catalog mirror.
    /// </summary>
    /// <exception cref="StoreLockedException">Another open store holds the directory.</exception>
    /// <exception cref="StoreSchemaMismatchException">The directory was created with a different schema.</exception>
    /// <exception cref="StoreCorruptException">The files cannot be recovered.</exception>
    public static RankStore Open(StoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Schema);
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
            throw new ArgumentException("StoreOptions.DataDirectory must name a directory.", nameof(options));
        if (options.MaxUserEvents < 0 || options.MaxUserEvents > StoreLimits.MaxUserEventsCap)
            throw new ArgumentException($"StoreOptions.MaxUserEvents must be 0..{StoreLimits.MaxUserEventsCap}; got {options.MaxUserEvents}.", nameof(options));
        if (options.CatalogShards < 1 || options.CatalogShards > 256)
            throw new ArgumentException($"StoreOptions.CatalogShards must be 1..256; got {options.CatalogShards}.", nameof(options));
        if (options.QuantizedVector is not null && options.QuantizedFormat is not (CatalogQuantization.Int8 or CatalogQuantization.Fp16))
            throw new ArgumentException($"StoreOptions.QuantizedFormat must be Int8 or Fp16 for a quantised vector; got {options.QuantizedFormat}.", nameof(options));
        if (options.AbBucketCount < 1)
            throw new ArgumentException($"StoreOptions.AbBucketCount must be at least 1; got {options.AbBucketCount}.", nameof(options));
        if (options.LogMemoryBytes < 1L << 24)
            throw new ArgumentException("StoreOptions.LogMemoryBytes must be at least 16 MiB (four 4 MiB pages).", nameof(options));
        if (!(options.CompactionRatio == 0 || (options.CompactionRatio > 1 && double.IsFinite(options.CompactionRatio))))
            throw new ArgumentException($"StoreOptions.CompactionRatio must be 0 (off) or a finite number above 1; got {options.CompactionRatio}.", nameof(options));
        if (options.CompactionMinBytes < 0)
            throw new ArgumentException($"StoreOptions.CompactionMinBytes must not be negative; got {options.CompactionMinBytes}.", nameof(options));
        if (options.SegmentBytes < 1L << WriteAheadLog.PageSizeBits || options.SegmentBytes > 1L << 30 || !long.IsPow2(options.SegmentBytes))
            throw new ArgumentException($"StoreOptions.SegmentBytes must be a power of two from 4 MiB to 1 GiB; got {options.SegmentBytes}.", nameof(options));

        string directory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(directory);
        var directoryLock = DirectoryLock.Acquire(directory);
        IDevice? kvDevice = null;
        FasterKV<SpanByte, SpanByte>? kv = null;
        WriteAheadLog? wal = null;
        try
        {
            var layout = StoreLayout.ReadOrCreate(directory, isNew: !File.Exists(Path.Combine(directory, SchemaFileName)), options.SegmentBytes);
            CheckOrWriteSchema(directory, options.Schema);
            wal = new WriteAheadLog(Path.Combine(directory, "wal"), layout.WalSegmentBits);
            // Until the first checkpoint completes the log is never truncated, so it alone holds every write.
            bool walHoldsEverything = wal.BeginAddress <= WriteAheadLog.FirstAddress;

            string checkpointDirectory = Path.Combine(directory, "checkpoints");
            string kvDirectory = Path.Combine(directory, "kv");
            long? checkpointCut = null;
            bool discarded = false;
            if (!HasCheckpoint(checkpointDirectory))
            {
                DeleteDirectory(kvDirectory); // log pages of a run that never checkpointed: the WAL has it all
                (kvDevice, kv) = CreateKv(options, layout, kvDirectory, checkpointDirectory);
            }
            else
            {
                (kvDevice, kv) = CreateKv(options, layout, kvDirectory, checkpointDirectory);
                try
                {
                    kv.Recover();
                    checkpointCut = ReadCookie(kv.RecoveredCommitCookie);
                }
                catch (Exception e) when (e is FasterException or StoreCorruptException or IOException)
                {
                    if (!walHoldsEverything)
                        throw new StoreCorruptException(
                            $"The FASTER checkpoint in '{checkpointDirectory}' cannot be recovered ({e.Message}) and the write-ahead log was already truncated after an earlier checkpoint, " +
                            "so the store cannot be rebuilt without losing writes. Restore the checkpoint files.", e);
                    // A process killed during the first checkpoint leaves an incomplete one: drop it and rebuild
                    // everything from the log, which was never truncated.
                    kv.Dispose();
                    kvDevice.Dispose();
                    DeleteDirectory(checkpointDirectory);
                    DeleteDirectory(kvDirectory);
                    (kvDevice, kv) = CreateKv(options, layout, kvDirectory, checkpointDirectory);
                    discarded = true;
                }
            }
            var store = new RankStore(options, options.Schema, directory, directoryLock, kvDevice, kv, wal);
            store.Recover(checkpointCut, discarded);
            store.InitCompaction();
            store.StartBackgroundCheckpoints();
            return store;
        }
        catch
        {
            wal?.Dispose();
            kv?.Dispose();
            kvDevice?.Dispose();
            directoryLock.Dispose();
            throw;
        }
    }

    private static (IDevice Device, FasterKV<SpanByte, SpanByte> Kv) CreateKv(StoreOptions options, StoreLayout layout, string kvDirectory, string checkpointDirectory)
    {
        Directory.CreateDirectory(kvDirectory);
        var device = Devices.CreateLogDevice(Path.Combine(kvDirectory, "hlog.log"), recoverDevice: true);
        try
        {
            var kv = new FasterKV<SpanByte, SpanByte>(new FasterKVSettings<SpanByte, SpanByte>
            {
                IndexSize = IndexBytes(options.ExpectedRecords),
                LogDevice = device,
                PageSize = 1L << WriteAheadLog.PageSizeBits,
                SegmentSize = layout.KvSegmentBytes,
                MemorySize = PowerOfTwoAtMost(options.LogMemoryBytes),
                CheckpointDir = checkpointDirectory,
                RemoveOutdatedCheckpoints = true,
                TryRecoverLatest = false,
            });
            return (device, kv);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
    }

    /// <summary>
    /// Stops the checkpoint timer, takes a final checkpoint (unless <see cref="StoreOptions.CheckpointOnDispose"/> is
    /// false), and releases FASTER, the log and the directory lock. Must not overlap other calls.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        StopBackgroundCheckpoints();
        try
        {
            if (_options.CheckpointOnDispose)
                CheckpointCore(onlyIfWritten: true);
        }
        finally
        {
            lock (_checkpointMutex)
            {
                _closed = true;
                while (_sessions.TryTake(out var session))
                    session.Dispose();
                _kv.Dispose();
                _kvDevice.Dispose();
                _wal.Dispose();
                _gate.Dispose();
                _directoryLock.Dispose();
            }
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private object StripeFor(ReadOnlySpan<byte> key)
    {
        uint hash = 2166136261;
        foreach (byte b in key)
            hash = (hash ^ b) * 16777619;
        return _stripes[hash % StripeCount];
    }

    private StoreSession RentSession()
    {
        ThrowIfDisposed();
        return _sessions.TryTake(out var session) ? session : new StoreSession(_kv);
    }

    private void ReturnSession(StoreSession session)
    {
        if (Volatile.Read(ref _disposed) != 0)
            session.Dispose();
        else
            _sessions.Add(session);
    }

    private static void CheckOrWriteSchema(string directory, StoreSchema schema)
    {
        string path = Path.Combine(directory, SchemaFileName);
        if (File.Exists(path))
        {
            StoreSchema persisted;
            try
            {
                persisted = StoreSchema.Deserialize(File.ReadAllBytes(path), path);
            }
            catch (InvalidDataException e)
            {
                throw new StoreCorruptException(e.Message, e);
            }
            if (!persisted.IsSameAs(schema))
                throw new StoreSchemaMismatchException(
                    $"The store in '{directory}' was created with schema [{persisted.Describe()}] but was opened with [{schema.Describe()}]. " +
                    "Open it with the original schema, or use a new data directory.");
            return;
        }
        // Write-then-rename, flushed, so a crash never leaves a half-written schema.
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(schema.Serialize());
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    private static bool HasCheckpoint(string checkpointDirectory) =>
        Directory.Exists(checkpointDirectory) &&
        Directory.EnumerateFiles(checkpointDirectory, "*", SearchOption.AllDirectories).Any();

    private static long IndexBytes(long expectedRecords)
    {
        // One 64-byte bucket holds 7 entries; aim for about half full.
        long buckets = Math.Max(1024, expectedRecords / 4);
        return PowerOfTwoAtLeast(buckets) * 64;
    }

    private static long PowerOfTwoAtLeast(long n) => 1L << (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(n - 1)));

    private static long PowerOfTwoAtMost(long n) => 1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n));

    /// <summary>A pooled FASTER session and the pinned scratch its calls encode keys into.</summary>
    private sealed class StoreSession : IDisposable
    {
        public readonly ClientSession<SpanByte, SpanByte, SpanByte, StoreOutput, Empty, StoreFunctions> Session;
        public readonly byte[] KeyScratch = GC.AllocateArray<byte>(StoreKeys.MaxKeyScratch, pinned: true);

        public StoreSession(FasterKV<SpanByte, SpanByte> kv) =>
            Session = kv.For(StoreFunctions.Instance).NewSession<StoreFunctions>();

        public unsafe SpanByte Key(int length) =>
            new(length, (IntPtr)System.Runtime.CompilerServices.Unsafe.AsPointer(ref KeyScratch[0]));

        public void Dispose() => Session.Dispose();
    }
}

/// <summary>What <see cref="RankStore.Open"/> recovered.</summary>
/// <param name="FromCheckpoint">A FASTER checkpoint was recovered.</param>
/// <param name="ReplayedEntries">Write-ahead-log entries replayed after it.</param>
/// <param name="Items">Items in the catalog after recovery.</param>
/// <param name="Elapsed">Time from open to ready.</param>
/// <param name="DiscardedIncompleteCheckpoint">An unusable checkpoint (a crash during the first checkpoint) was dropped and the store rebuilt from the complete log.</param>
internal sealed record RecoveryInfo(bool FromCheckpoint, long ReplayedEntries, int Items, TimeSpan Elapsed, bool DiscardedIncompleteCheckpoint = false);
