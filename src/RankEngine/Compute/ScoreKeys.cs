using System.Runtime.CompilerServices;

namespace RankEngine.Compute;

/// <summary>
/// (score, row) packed into one 64-bit key whose unsigned order is "higher score first, then lower row": the
/// score's bits mapped to an order-preserving unsigned integer in the high word, the complement of the row in the
/// low word. Keys are distinct, so selection is deterministic; 0 means "no candidate". The ILGPU kernels use the
/// same encoding (RankEngine.Kernels.TopK), so CPU and device results agree bit for bit.
/// </summary>
internal static class ScoreKeys
{
    /// <summary>The "no candidate" key (decodes to row −1).</summary>
    public const ulong Empty = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Encode(float score, int row)
    {
        uint bits = BitConverter.SingleToUInt32Bits(score);
        uint ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)ordered << 32) | (uint)~row;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(ulong key)
    {
        uint ordered = (uint)(key >> 32);
        uint bits = (ordered & 0x8000_0000u) != 0 ? ordered & 0x7FFF_FFFFu : ~ordered;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Row(ulong key) => key == Empty ? -1 : (int)~(uint)key;

    /// <summary>Writes keys (sorted best first) as ids and scores; empty keys become id −1, score −∞.</summary>
    public static void Decode(ReadOnlySpan<ulong> sortedKeys, Span<int> ids, Span<float> scores)
    {
        for (int i = 0; i < sortedKeys.Length; i++)
        {
            ulong key = sortedKeys[i];
            ids[i] = Row(key);
            scores[i] = key == Empty ? float.NegativeInfinity : Score(key);
        }
    }
}

/// <summary>
/// A bounded min-heap of <see cref="ScoreKeys"/> keys over caller-owned storage that keeps the largest keys seen.
/// The root is the worst kept key, and <c>threshold</c> is its score once the heap is full, so most candidates are
/// rejected by one float comparison before a key is even built. State is (storage, count, threshold) so many heaps
/// can live side by side in flat arrays.
/// </summary>
internal static class TopKHeap
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(Span<ulong> heap, ref int count, ref float threshold, float score, int row)
    {
        if (score < threshold) return;
        Push(heap, ref count, ref threshold, ScoreKeys.Encode(score, row));
    }

    public static void Push(Span<ulong> h, ref int count, ref float threshold, ulong key)
    {
        if (count < h.Length)
        {
            int i = count++;
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                if (h[parent] <= key) break;
                h[i] = h[parent];
                i = parent;
            }
            h[i] = key;
            if (count == h.Length) threshold = ScoreKeys.Score(h[0]);
            return;
        }
        if (key <= h[0]) return;
        int n = count, j = 0;
        while (true)
        {
            int child = 2 * j + 1;
            if (child >= n) break;
            if (child + 1 < n && h[child + 1] < h[child]) child++;
            if (h[child] >= key) break;
            h[j] = h[child];
            j = child;
        }
        h[j] = key;
        threshold = ScoreKeys.Score(h[0]);
    }
}
