using RankEngine.Store;

namespace RankEngine.StoreCrashWorker;

/// <summary>
/// What the crash worker writes, shared with the test that checks it: every record's contents follow from its id
/// and version alone, so the checker can tell an intact record from a damaged one without any state of the worker.
/// </summary>
internal static class CrashWorkload
{
    /// <summary>Schema of the crash store: an fp32 and an fp16 vector.</summary>
    public static readonly StoreSchema Schema = new(
        new VectorSpec("content", 32, VectorElementType.Float32),
        new VectorSpec("collab", 8, VectorElementType.Float16));

    /// <summary>
    /// Options with frequent checkpoints and compactions, so kills land before, during and after checkpoints,
    /// hybrid-log compaction and log truncation. <paramref name="checkpoints"/>: "timer" (checkpoints every 150 ms
    /// and every 256 KiB of log, compaction past 64 KiB at ratio 1.5), "size" (the same without the timer),
    /// "compact" (checkpoints by size, compaction whenever the log reaches 1.5 × its live data: nearly always
    /// compacting) or "none" (no checkpoint or compaction while running: recovery is pure log replay).
    /// RANKSTORE_CRASH_NOCOMPACT=1 turns compaction off in every mode (to compare failure rates by hand).
    /// </summary>
    public static StoreOptions Options(string directory, string checkpoints = "timer") => new()
    {
        DataDirectory = directory,
        Schema = Schema,
        CheckpointInterval = checkpoints == "timer" ? TimeSpan.FromMilliseconds(150) : null,
        CheckpointWalBytes = checkpoints == "none" ? long.MaxValue : 256 * 1024,
        CheckpointOnDispose = checkpoints != "none",
        CompactionRatio = checkpoints == "none" || Environment.GetEnvironmentVariable("RANKSTORE_CRASH_NOCOMPACT") == "1" ? 0 : 1.5,
        CompactionMinBytes = checkpoints == "compact" ? 0 : 64 * 1024,
        SegmentBytes = 4L << 20,
        LogMemoryBytes = 16L << 20,
        ExpectedRecords = 64 * 1024,
        MaxUserEvents = StoreLimits.MaxUserEventsCap,
    };

    /// <summary>The item with this id at this version.</summary>
    public static ItemRecord Item(string id, int version)
    {
        var item = new ItemRecord(id) { Text = $"{id}#{version}" };
        item.Vectors["content"] = Values($"{id}#{version}/content", 32);
        if (version % 3 != 1)
            item.Vectors["collab"] = Values($"{id}#{version}/collab", 8);
        item.Fields["version"] = FieldValue.Num(version);
        item.Fields["tags"] = FieldValue.Tags("v" + version, id);
        return item;
    }

    /// <summary>The event with this sequence number.</summary>
    public static UserEvent Event(int sequence) =>
        new("ev-" + sequence, (UserEventKind)(1 + sequence % 6), sequence * 0.25f, 1_700_000_000_000L + sequence);

    /// <summary>Deterministic values in [-1, 1) from a string (FNV-1a seeded xorshift; stable across runtimes).</summary>
    public static float[] Values(string seed, int count)
    {
        ulong state = 14695981039346656037UL;
        foreach (char c in seed)
            state = (state ^ c) * 1099511628211UL;
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values[i] = (float)((state >> 40) / (double)(1UL << 24) * 2 - 1);
        }
        return values;
    }
}
