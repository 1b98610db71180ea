using System.Buffers;
using System.Text;

namespace RankEngine.Text.Normalization;

/// <summary>
/// Unicode NFKC normalisation (UAX #15: compatibility decomposition, canonical ordering, canonical composition)
/// from tables generated out of the reference tokenizer's ICU (see <c>tools/gen-nfkc-tables.js</c>).
/// </summary>
/// <remarks>
/// The project runs with InvariantGlobalization, where <see cref="string.Normalize(NormalizationForm)"/> returns its
/// input unchanged, so tokenizers that need NFKC use this class. Unpaired surrogates are kept as they are and act as
/// starters, as JavaScript's <c>String.prototype.normalize</c> treats them. Thread-safe; strings that are already
/// NFKC-stable (all ASCII text, for one) are returned as the same instance without allocating.
/// </remarks>
internal static partial class Nfkc
{
    private const int MaxCodePoint = 0x10FFFF;

    // Per code point property byte: bits 0-5 combining class rank, bit 6 "NFKC changes it even alone" (compatibility
    // mappings, singletons, composition exclusions; not e.g. U+00E9, which decomposes but recomposes to itself),
    // bit 7 "may compose with the preceding character". A zero byte means a starter that is NFKC-stable next to
    // other zero-byte code points (the NFKC_QC=Yes quick check, restricted to starters).
    private const byte RankMask = 0x3F;
    private const byte ChangesAloneFlag = 0x40;
    private const byte ComposesBackwardFlag = 0x80;
    private const int BlockShift = 8;
    private const int BlockSize = 1 << BlockShift;

    // Hangul syllable arithmetic (Unicode chapter 3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly ushort[] BlockIndex;
    private static readonly byte[] BlockData;
    private static readonly Dictionary<int, (int Start, int Length)> Decompositions;
    private static readonly Dictionary<long, int> Compositions;

#pragma warning disable CA1810 // the tables are built together from the generated spans
    static Nfkc()
#pragma warning restore CA1810
    {
        var props = new byte[MaxCodePoint + 1];
        var ranks = CombiningClassRanks;
        for (int i = 0; i < ranks.Length; i += 3)
            for (int cp = ranks[i]; cp <= ranks[i + 1]; cp++)
                props[cp] = (byte)ranks[i + 2];

        var index = DecompositionIndex;
        Decompositions = new Dictionary<int, (int, int)>(index.Length / 2);
        for (int i = 0; i + 2 < index.Length; i += 2)
            Decompositions.Add(index[i], (index[i + 1], index[i + 3] - index[i + 1]));

        var triples = CompositionTriples;
        Compositions = new Dictionary<long, int>(triples.Length / 3);
        for (int i = 0; i < triples.Length; i += 3)
        {
            Compositions.Add(PairKey(triples[i], triples[i + 1]), triples[i + 2]);
            props[triples[i + 1]] |= ComposesBackwardFlag;
        }
        for (int cp = VBase; cp < VBase + VCount; cp++) props[cp] |= ComposesBackwardFlag;
        for (int cp = TBase + 1; cp < TBase + TCount; cp++) props[cp] |= ComposesBackwardFlag;

        // Which decomposable code points does NFKC change on their own? Run the full algorithm on each (the ranks and
        // compositions above are all it needs).
        var scratch = new int[32];
        foreach (var (cp, (start, count)) in Decompositions)
        {
            var cps = scratch.AsSpan(0, count);
            DecompositionData.Slice(start, count).CopyTo(cps);
            ReorderCanonically(cps, props);
            int length = Compose(cps, props);
            if (length != 1 || cps[0] != cp) props[cp] |= ChangesAloneFlag;
        }

        // Two-stage table: identical 256-entry blocks are stored once (most of the code space is all zero).
        int blocks = (MaxCodePoint + 1) >> BlockShift;
        BlockIndex = new ushort[blocks];
        var unique = new List<byte[]>();
        var seen = new Dictionary<string, int>();
        for (int b = 0; b < blocks; b++)
        {
            var block = props.AsSpan(b << BlockShift, BlockSize);
            string key = Convert.ToBase64String(block);
            if (!seen.TryGetValue(key, out int id))
            {
                id = unique.Count;
                seen.Add(key, id);
                unique.Add(block.ToArray());
            }
            BlockIndex[b] = (ushort)id;
        }
        BlockData = new byte[unique.Count * BlockSize];
        for (int i = 0; i < unique.Count; i++) unique[i].CopyTo(BlockData, i * BlockSize);
    }

    /// <summary>Returns the NFKC form of <paramref name="text"/>; the same instance when it is already stable.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int firstUnstable = FindFirstUnstable(text);
        return firstUnstable < 0 ? text : NormalizeSlow(text);
    }

    /// <summary>True when <see cref="Normalize"/> would return <paramref name="text"/> unchanged by the quick check.</summary>
    public static bool IsQuickStable(ReadOnlySpan<char> text) => FindFirstUnstable(text) < 0;

    private static int FindFirstUnstable(ReadOnlySpan<char> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            int c = text[i];
            if (c < 0xA0) continue; // ASCII and C0/C1 controls never change
            if (char.IsHighSurrogate((char)c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                c = char.ConvertToUtf32((char)c, text[i + 1]);
                if (Props(c) != 0) return i;
                i++;
                continue;
            }
            if (Props(c) != 0) return i; // unpaired surrogates have no properties: stable starters
        }
        return -1;
    }

    private static byte Props(int cp) => BlockData[(BlockIndex[cp >> BlockShift] << BlockShift) | (cp & (BlockSize - 1))];

    private static int Rank(int cp) => Props(cp) & RankMask;

    private static int Rank(int cp, byte[]? props) => (props is null ? Props(cp) : props[cp]) & RankMask;

    private static long PairKey(int first, int second) => ((long)first << 21) | (uint)second;

    private static string NormalizeSlow(string text)
    {
        // Full decompositions grow text at most 18x (U+FDFA); size the buffer generously and grow if ever needed.
        int[] buffer = ArrayPool<int>.Shared.Rent(Math.Max(16, text.Length * 4));
        try
        {
            int length = Decompose(text, ref buffer);
            ReorderCanonically(buffer.AsSpan(0, length), null);
            length = Compose(buffer.AsSpan(0, length), null);
            return ToString(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(buffer);
        }
    }

    private static int Decompose(string text, ref int[] buffer)
    {
        int length = 0;
        for (int i = 0; i < text.Length; i++)
        {
            int cp = text[i];
            if (char.IsHighSurrogate((char)cp) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                cp = char.ConvertToUtf32((char)cp, text[++i]);
            EnsureCapacity(ref buffer, length, 18);
            if (cp >= SBase && cp < SBase + SCount)
            {
                int s = cp - SBase;
                buffer[length++] = LBase + s / NCount;
                buffer[length++] = VBase + s % NCount / TCount;
                if (s % TCount != 0) buffer[length++] = TBase + s % TCount;
            }
            else if (Decompositions.TryGetValue(cp, out var mapping))
            {
                EnsureCapacity(ref buffer, length, mapping.Length);
                DecompositionData.Slice(mapping.Start, mapping.Length).CopyTo(buffer.AsSpan(length));
                length += mapping.Length;
            }
            else
            {
                buffer[length++] = cp;
            }
        }
        return length;
    }

    private static void EnsureCapacity(ref int[] buffer, int used, int extra)
    {
        if (used + extra <= buffer.Length) return;
        int[] larger = ArrayPool<int>.Shared.Rent(Math.Max(buffer.Length * 2, used + extra));
        buffer.AsSpan(0, used).CopyTo(larger);
        ArrayPool<int>.Shared.Return(buffer);
        buffer = larger;
    }

    /// <summary>Stable sort of every run of non-starters by combining class (insertion sort: runs are short).</summary>
    /// <remarks><paramref name="props"/>: the table under construction during static initialisation, else null.</remarks>
    private static void ReorderCanonically(Span<int> cps, byte[]? props)
    {
        for (int i = 1; i < cps.Length; i++)
        {
            int rank = Rank(cps[i], props);
            if (rank == 0) continue;
            int cp = cps[i];
            int j = i;
            while (j > 0 && Rank(cps[j - 1], props) > rank)
            {
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = cp;
        }
    }

    /// <summary>Canonical composition in place; returns the new length.</summary>
    private static int Compose(Span<int> cps, byte[]? props)
    {
        int written = 0, starter = -1, lastRank = 0;
        for (int i = 0; i < cps.Length; i++)
        {
            int cp = cps[i];
            int rank = Rank(cp, props);
            // Not blocked: directly after the starter, or every character between has a lower, non-zero class.
            if (starter >= 0 && (written - 1 == starter || (lastRank != 0 && lastRank < rank))
                && TryComposePair(cps[starter], cp, props, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (rank == 0)
            {
                starter = written;
                lastRank = 0;
            }
            else
            {
                lastRank = rank;
            }
            cps[written++] = cp;
        }
        return written;
    }

    private static bool TryComposePair(int first, int second, byte[]? props, out int composite)
    {
        if (first >= LBase && first < LBase + LCount && second >= VBase && second < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + (second - VBase)) * TCount;
            return true;
        }
        if (first >= SBase && first < SBase + SCount && (first - SBase) % TCount == 0 && second > TBase && second < TBase + TCount)
        {
            composite = first + (second - TBase);
            return true;
        }
        if (((props is null ? Props(second) : props[second]) & ComposesBackwardFlag) == 0)
        {
            composite = 0;
            return false;
        }
        return Compositions.TryGetValue(PairKey(first, second), out composite);
    }

    private static string ToString(ReadOnlySpan<int> cps)
    {
        int chars = 0;
        foreach (int cp in cps) chars += cp >= 0x10000 ? 2 : 1;
        char[] rented = ArrayPool<char>.Shared.Rent(chars);
        try
        {
            int n = 0;
            foreach (int cp in cps)
            {
                if (cp >= 0x10000)
                {
                    int v = cp - 0x10000;
                    rented[n++] = (char)(0xD800 + (v >> 10));
                    rented[n++] = (char)(0xDC00 + (v & 0x3FF));
                }
                else
                {
                    rented[n++] = (char)cp; // includes unpaired surrogates, kept as they were
                }
            }
            return new string(rented, 0, n);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }
}
