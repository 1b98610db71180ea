using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace RankEngine.Text;

/// <summary>
/// Hugging Face's <c>BertPreTokenizer</c>, plugged into Microsoft.ML.Tokenizers: splits normalised text into
/// words at whitespace, and makes every punctuation character a word of its own.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers' BERT pre-tokenizer matches <c>\w+|[\p{P}]</c> and silently drops everything else:
/// ASCII symbols that BERT treats as punctuation (<c>$ + &lt; = &gt; ^ ` | ~</c>), emoji and other symbols, and
/// digits or marks outside <c>\w</c> (superscripts, Devanagari vowel signs); it also keeps "_" inside words.
/// Hugging Face keeps all of them. Punctuation here is Unicode's P* categories plus the four ASCII ranges
/// <c>!-/ :-@ [-` {-~</c>; whitespace is JavaScript's <c>\s</c>, as in the JS reference.
/// </remarks>
internal sealed class HfBertPreTokenizer : PreTokenizer
{
    public static HfBertPreTokenizer Instance { get; } = new();

    private HfBertPreTokenizer()
    {
    }

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int i = 0;
        while (i < text.Length)
        {
            int width = ReadCodePoint(text, i, out int cp);
            if (HfBertNormalizer.IsJsWhitespace(cp))
            {
                i += width;
                continue;
            }

            if (IsPunctuation(cp))
            {
                yield return (i, width);
                i += width;
                continue;
            }

            int start = i;
            i += width;
            while (i < text.Length)
            {
                width = ReadCodePoint(text, i, out cp);
                if (HfBertNormalizer.IsJsWhitespace(cp) || IsPunctuation(cp))
                {
                    break;
                }

                i += width;
            }

            yield return (start, i - start);
        }
    }

    /// <inheritdoc />
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => PreTokenize(text.ToString());

    /// <summary>BERT's punctuation: Unicode P* categories and every non-alphanumeric printable ASCII character.</summary>
    public static bool IsPunctuation(int codePoint)
    {
        if (codePoint < 0x80)
        {
            return codePoint is (>= 0x21 and <= 0x2F) or (>= 0x3A and <= 0x40) or (>= 0x5B and <= 0x60) or (>= 0x7B and <= 0x7E);
        }

        if (!Rune.IsValid(codePoint))
        {
            return false;
        }

        return Rune.GetUnicodeCategory(new Rune(codePoint)) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    // A lone surrogate (never present after normalisation) reads as one non-space, non-punctuation unit.
    private static int ReadCodePoint(string text, int index, out int codePoint)
    {
        char c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            codePoint = char.ConvertToUtf32(c, text[index + 1]);
            return 2;
        }

        codePoint = c;
        return 1;
    }
}
