using System.Buffers;
using System.Globalization;
using System.Text;

namespace RankEngine.Text;

/// <summary>
/// Hugging Face's <c>BertNormalizer</c> (clean_text, handle_chinese_chars, lowercase, strip_accents), step for
/// step as <c>@huggingface/tokenizers</c> (the JS port, our parity reference) runs it.
/// </summary>
/// <remarks>
/// We do not use Microsoft.ML.Tokenizers' own BertNormalizer: it differs from Hugging Face in ways that change
/// token ids (see docs/tokenizers.md). In short, it deletes tab/newline instead of making them spaces, keeps
/// format characters (zero-width space, soft hyphen, BOM) where Hugging Face deletes them, strips accents only
/// when asked and, under InvariantGlobalization, not at all (string.Normalize is a no-op there), recomposes to
/// NFC (so Hangul stays unsplit), and lowercases without Greek final sigma. The steps here, in Hugging Face's order:
/// <list type="number">
/// <item>clean: drop U+0000, U+FFFD and control/format/private-use/surrogate characters (Cc, Cf, Co, Cs)
/// except tab, LF, CR; turn every JS-whitespace character into a plain space;</item>
/// <item>pad CJK ideographs with spaces (only those in the BMP: the JS port tests UTF-16 code units);</item>
/// <item>lowercase with JavaScript's full mapping (İ becomes "i̇", Σ becomes ς at the end of a word);</item>
/// <item>decompose (NFD) and drop non-spacing marks (Mn).</item>
/// </list>
/// </remarks>
internal static class HfBertNormalizer
{
    private const int CapitalIWithDot = 0x0130;
    private const int CapitalSigma = 0x03A3;
    private const int SmallSigma = 0x03C3;
    private const int SmallFinalSigma = 0x03C2;
    private const int CombiningDotAbove = 0x0307;

    /// <summary>Normalises <paramref name="text"/>; <paramref name="lowerCase"/> also lowercases and strips accents.</summary>
    public static string Normalize(ReadOnlySpan<char> text, bool lowerCase)
    {
        if (text.IsEmpty)
        {
            return string.Empty;
        }

        // Each step writes code points into a pooled buffer that starts at the input's size and grows only when
        // a step expands the text (CJK padding, "İ", decompositions), so memory stays proportional to the text.
        var cleaned = new CodePointBuffer(text.Length);
        var lowered = default(CodePointBuffer);
        var decomposed = default(CodePointBuffer);
        try
        {
            CleanAndPadCjk(text, ref cleaned);
            if (!lowerCase || cleaned.Count == 0)
            {
                return ToUtf16String(cleaned.Items);
            }

            lowered = new CodePointBuffer(cleaned.Count);
            LowerCase(cleaned.Items, ref lowered);
            decomposed = new CodePointBuffer(lowered.Count + lowered.Count / 2);
            DecomposeAndStripMarks(lowered.Items, ref decomposed);
            return ToUtf16String(decomposed.Items);
        }
        finally
        {
            cleaned.Dispose();
            lowered.Dispose();
            decomposed.Dispose();
        }
    }

    /// <summary>
    /// Whitespace as JavaScript's <c>\s</c> sees it (the JS port's clean_text and BertPreTokenizer both use it).
    /// Wider than Python's BERT (which takes only Zs, tab, LF, CR): it also has VT, FF, U+2028, U+2029 and BOM.
    /// </summary>
    public static bool IsJsWhitespace(int codePoint) => codePoint switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0xA0 or 0x1680 or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 or 0xFEFF => true,
        >= 0x2000 and <= 0x200A => true,
        _ => false,
    };

    /// <summary>
    /// CJK ideographs that the JS port pads with spaces. It tests UTF-16 code units, so the supplementary
    /// ranges (Extension B and later) never match there; Python and Rust Hugging Face do pad those.
    /// </summary>
    public static bool IsBmpCjkIdeograph(int codePoint) =>
        codePoint is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0xF900 and <= 0xFAFF);

    private static void CleanAndPadCjk(ReadOnlySpan<char> text, ref CodePointBuffer destination)
    {
        int i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[i..], out Rune rune, out int consumed) != OperationStatus.Done)
            {
                // A lone surrogate: category Cs, which clean_text removes.
                i += Math.Max(consumed, 1);
                continue;
            }

            i += consumed;
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsRemovedControl(rune))
            {
                continue;
            }

            if (IsJsWhitespace(cp))
            {
                destination.Add(' ');
            }
            else if (IsBmpCjkIdeograph(cp))
            {
                destination.Add(' ');
                destination.Add(cp);
                destination.Add(' ');
            }
            else
            {
                destination.Add(cp);
            }
        }
    }

    private static bool IsRemovedControl(Rune rune)
    {
        int cp = rune.Value;
        if (cp is '\t' or '\n' or '\r')
        {
            return false;
        }

        if (cp < 0x80)
        {
            return cp < 0x20 || cp == 0x7F;
        }

        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;
    }

    private static void LowerCase(ReadOnlySpan<int> source, ref CodePointBuffer destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            int cp = source[i];
            if (cp < 0x80)
            {
                destination.Add(cp is >= 'A' and <= 'Z' ? cp + 32 : cp);
            }
            else if (cp == CapitalIWithDot)
            {
                // JavaScript's toLowerCase applies the full mapping (SpecialCasing.txt); .NET's invariant casing
                // leaves U+0130 unchanged.
                destination.Add('i');
                destination.Add(CombiningDotAbove);
            }
            else if (cp == CapitalSigma)
            {
                destination.Add(IsFinalSigma(source, i) ? SmallFinalSigma : SmallSigma);
            }
            else
            {
                destination.Add(Rune.ToLowerInvariant(new Rune(cp)).Value);
            }
        }
    }

    /// <summary>Unicode's Final_Sigma condition: a cased letter before (skipping case-ignorables), none after.</summary>
    private static bool IsFinalSigma(ReadOnlySpan<int> text, int index)
    {
        bool casedBefore = false;
        for (int j = index - 1; j >= 0; j--)
        {
            if (!IsCaseIgnorable(text[j]))
            {
                casedBefore = IsCased(text[j]);
                break;
            }
        }

        if (!casedBefore)
        {
            return false;
        }

        for (int j = index + 1; j < text.Length; j++)
        {
            if (!IsCaseIgnorable(text[j]))
            {
                return !IsCased(text[j]);
            }
        }

        return true;
    }

    /// <summary>Unicode's Cased property: letters with case, plus Other_Lowercase/Other_Uppercase symbols.</summary>
    private static bool IsCased(int cp)
    {
        if (cp < 0x80)
        {
            return (uint)((cp | 0x20) - 'a') <= 'z' - 'a';
        }

        if (cp is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189))
        {
            return true;
        }

        return Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.UppercaseLetter
            or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;
    }

    /// <summary>Unicode's Case_Ignorable property: marks, format, modifiers and word-internal punctuation.</summary>
    private static bool IsCaseIgnorable(int cp)
    {
        // Word_Break MidLetter, MidNumLet and Single_Quote.
        if (cp is '\'' or '.' or ':' or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A)
        {
            return true;
        }

        if (cp < 0x80)
        {
            return cp == '^' || cp == '`';
        }

        return Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
    }

    private static void DecomposeAndStripMarks(ReadOnlySpan<int> source, ref CodePointBuffer destination)
    {
        Span<int> one = stackalloc int[UnicodeNfd.MaxDecompositionLength];
        foreach (int cp in source)
        {
            int n = UnicodeNfd.Decompose(cp, one);
            for (int k = 0; k < n; k++)
            {
                destination.Add(one[k]);
            }
        }

        Span<int> decomposed = destination.Items;
        UnicodeNfd.Reorder(decomposed);

        int kept = 0;
        foreach (int cp in decomposed)
        {
            if (cp >= 0x300 && Rune.GetUnicodeCategory(new Rune(cp)) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            decomposed[kept++] = cp;
        }

        destination.Truncate(kept);
    }

    private static string ToUtf16String(ReadOnlySpan<int> codePoints)
    {
        if (codePoints.IsEmpty)
        {
            return string.Empty;
        }

        char[] chars = ArrayPool<char>.Shared.Rent(codePoints.Length * 2);
        int length = 0;
        foreach (int cp in codePoints)
        {
            length += new Rune(cp).EncodeToUtf16(chars.AsSpan(length));
        }

        string result = new(chars, 0, length);
        ArrayPool<char>.Shared.Return(chars);
        return result;
    }

    /// <summary>A growable list of code points in a pooled array; use it by reference and dispose it.</summary>
    private struct CodePointBuffer(int initialCapacity) : IDisposable
    {
        private int[]? _items = ArrayPool<int>.Shared.Rent(Math.Max(initialCapacity, 16));

        public int Count { get; private set; }

        public readonly Span<int> Items => _items.AsSpan(0, Count);

        public void Add(int codePoint)
        {
            if (Count == _items!.Length)
            {
                int[] larger = ArrayPool<int>.Shared.Rent(_items.Length * 2);
                _items.AsSpan(0, Count).CopyTo(larger);
                ArrayPool<int>.Shared.Return(_items);
                _items = larger;
            }

            _items[Count++] = codePoint;
        }

        public void Truncate(int count) => Count = count;

        public void Dispose()
        {
            if (_items is not null)
            {
                ArrayPool<int>.Shared.Return(_items);
                _items = null;
                Count = 0;
            }
        }
    }
}
