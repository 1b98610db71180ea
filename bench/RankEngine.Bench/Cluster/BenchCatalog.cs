using RankEngine.Store;

namespace RankEngine.Bench.Cluster;

/// <summary>
/// The cluster benchmark's data, a pure function of (seed, index), so every loader and every deployment writes the
/// same bytes whatever the order or the number of connections: item <c>i{n}</c> has a raw content vector of uniform
/// floats in [-1, 1) (the engine normalises it, on every write path alike), no collab vector, no fields; user
/// <c>u{k}</c> has <c>perUser</c> events on items of the first <c>itemRange</c> items with fixed, distinct timestamps.
/// A catalog of N items is therefore the first N items of any larger one (a third of the catalog = its first third).
/// </summary>
internal static class BenchCatalog
{
    public const ulong DefaultSeed = 42;

    /// <summary>The first event's time (2023-11-14); event e of user u is at <c>Epoch + e × 60 s + u ms</c>.</summary>
    public const long EpochMs = 1_700_000_000_000;

    private static readonly UserEventKind[] Kinds = [UserEventKind.View, UserEventKind.Click, UserEventKind.Like, UserEventKind.Purchase];

    public static string ItemId(long index) => "i" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string UserId(int index) => "u" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Item <paramref name="index"/>'s raw (unnormalised) content vector.</summary>
    public static void RawVector(ulong seed, long index, Span<float> into)
    {
        ulong state = seed * 0x9E3779B97F4A7C15UL ^ (ulong)index * 0xD1B54A32D192ED03UL;
        for (int j = 0; j < into.Length; j++)
        {
            ulong x = SplitMix(ref state);
            // 24 random bits → [0, 1) exactly representable, then [-1, 1).
            into[j] = (x >> 40) * (1f / (1 << 24)) * 2f - 1f;
        }
    }

    public static float[] RawVector(ulong seed, long index, int dimension)
    {
        var v = new float[dimension];
        RawVector(seed, index, v);
        return v;
    }

    /// <summary>User <paramref name="user"/>'s events: (item index, kind, unix ms), oldest first.</summary>
    public static (long Item, UserEventKind Kind, long AtMs)[] EventsOf(ulong seed, int user, int perUser, long itemRange)
    {
        ulong state = (seed + 0x5851F42D4C957F2DUL) * 0x9E3779B97F4A7C15UL ^ (ulong)user * 0xBF58476D1CE4E5B9UL;
        var events = new (long, UserEventKind, long)[perUser];
        for (int e = 0; e < perUser; e++)
        {
            long item = (long)(SplitMix(ref state) % (ulong)itemRange);
            var kind = Kinds[(int)(SplitMix(ref state) % (ulong)Kinds.Length)];
            events[e] = (item, kind, EpochMs + e * 60_000L + user);
        }
        return events;
    }

    public static string KindName(UserEventKind kind) => kind switch
    {
        UserEventKind.View => "view",
        UserEventKind.Click => "click",
        UserEventKind.Like => "like",
        UserEventKind.Purchase => "purchase",
        UserEventKind.Dislike => "dislike",
        UserEventKind.Skip => "skip",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
