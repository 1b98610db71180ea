using System.Text;
using RankEngine.Text;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Text;

/// <summary>
/// WordPiece tokenization against Hugging Face's JS port on the real bert-base-uncased vocabulary, plus
/// truncation, batching and bad-input behaviour.
/// </summary>
public sealed class WordPieceTokenizerTests(ITestOutputHelper output)
{
    private static WordPieceTokenizer Tokenizer => BertTestData.Tokenizer;

    private static ParityFixture Fixture => BertTestData.Fixture;

    [Fact]
    public void Fixture_WasMadeFromThisVocabulary_AndCoversEnoughStrings()
    {
        Assert.Equal(Fixture.VocabSha256, BertTestData.VocabSha256());
        Assert.True(Fixture.Cases.Count >= 200, $"only {Fixture.Cases.Count} parity cases");
        Assert.Contains(Fixture.Cases, c => c.Text.Length == 0);
        Assert.Contains(Fixture.Cases, c => c.Ids.Length > Tokenizer.MaxInputLength);
    }

    [Fact]
    public void Encode_EveryFixtureString_GivesHuggingFaceIds()
    {
        var failures = new List<string>();
        foreach (ParityCase c in Fixture.Cases)
        {
            int[] actual = EncodeUntruncated(c.Text);
            if (!actual.AsSpan().SequenceEqual(c.Ids))
            {
                failures.Add($"case {c.Index}: {BertTestData.Describe(c.Text)}\n  expected ({Fixture.Reference}): [{string.Join(", ", c.Ids)}]\n  actual:   [{string.Join(", ", actual)}]");
            }
        }

        foreach (string failure in failures)
        {
            output.WriteLine(failure);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {Fixture.Cases.Count} strings differ from Hugging Face:\n{string.Join("\n", failures.Take(20))}");
    }

    [Fact]
    public void SpecialTokenIds_AreBertBaseUncased()
    {
        Assert.Equal(30522, Tokenizer.VocabSize);
        Assert.Equal(0, Tokenizer.PadId);
        Assert.Equal(100, Tokenizer.UnknownId);
        Assert.Equal(101, Tokenizer.ClsId);
        Assert.Equal(102, Tokenizer.SepId);
        Assert.Equal(103, Tokenizer.MaskId);
        Assert.Equal(Tokenizer.ClsId, Tokenizer.SequenceStartId);
        Assert.Equal(Tokenizer.SepId, Tokenizer.SequenceEndId);
        Assert.Equal(512, Tokenizer.MaxInputLength);
    }

    [Fact]
    public void Encode_WrapsInClsAndSep_AndKeepsSpecialTokensInText()
    {
        Assert.Equal([101, 102], Tokenizer.Encode("", 16, out bool truncated));
        Assert.False(truncated);
        // bert-base-uncased: hello = 7592, world = 2088 (the well-known ids).
        Assert.Equal([101, 7592, 103, 2088, 102], Tokenizer.Encode("Hello [MASK] world", 16, out _));
        // Special tokens match case-sensitively, like Hugging Face's added tokens: "[mask]" is ordinary text.
        Assert.Equal([101, 1031, 7308, 1033, 102], Tokenizer.Encode("[mask]", 16, out _));
        Assert.Equal([101, 101, 102, 102], Tokenizer.Encode("[CLS][SEP]", 16, out _));
    }

    [Fact]
    public void Encode_OverLongInput_IsTruncatedAndSaysSo()
    {
        ParityCase longest = Fixture.Cases.MaxBy(c => c.Ids.Length)!;
        Assert.True(longest.Ids.Length > 512);

        foreach (int maxLength in new[] { 2, 3, 128, 512 })
        {
            int[] ids = Tokenizer.Encode(longest.Text, maxLength, out bool truncated);
            Assert.True(truncated);
            Assert.Equal(maxLength, ids.Length);
            // Python Hugging Face with truncation=True, max_length=n: [CLS], the first n - 2 tokens, [SEP].
            Assert.Equal(ExpectedTruncation(longest.Ids, maxLength), ids);

            Tokenizer.Encode(longest.Text, maxLength, out _, out int originalLength);
            Assert.Equal(longest.Ids.Length, originalLength);
        }
    }

    [Fact]
    public void Encode_ExactFit_IsNotTruncated_OneLessIs()
    {
        ParityCase c = Fixture.Cases.First(x => x.Text == "Toy Story (1995)");
        int n = c.Ids.Length;

        Assert.Equal(c.Ids, Tokenizer.Encode(c.Text, n, out bool fits));
        Assert.False(fits);

        int[] cut = Tokenizer.Encode(c.Text, n - 1, out bool truncated);
        Assert.True(truncated);
        Assert.Equal(ExpectedTruncation(c.Ids, n - 1), cut);
    }

    [Fact]
    public void Encode_TruncationOnEveryFixtureString_MatchesReferencePrefix()
    {
        foreach (int maxLength in new[] { 2, 5, 16 })
        {
            foreach (ParityCase c in Fixture.Cases)
            {
                int[] ids = Tokenizer.Encode(c.Text, maxLength, out bool truncated);
                Assert.Equal(c.Ids.Length > maxLength, truncated);
                Assert.True(ExpectedTruncation(c.Ids, maxLength).AsSpan().SequenceEqual(ids),
                    $"case {c.Index} {BertTestData.Describe(c.Text)} at maxLength {maxLength}: [{string.Join(", ", ids)}]");
            }
        }
    }

    [Fact]
    public void EncodeBatch_MixedLengths_PacksWithoutPadding_AndPaddedViewMatchesReference()
    {
        TokenizedBatch batch = Tokenizer.EncodeBatch(Fixture.BatchTexts, 512);
        int[][] referenceIds = Fixture.BatchInputIds;
        int[][] referenceMask = Fixture.BatchAttentionMask;

        Assert.Equal(Fixture.BatchTexts.Length, batch.Count);
        var expectedPacked = new List<int>();
        int offset = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            int length = referenceMask[i].Sum();
            Assert.Equal(offset, batch.Offsets[i]);
            Assert.Equal(length, batch.GetLength(i));
            Assert.Equal(referenceIds[i][..length], batch.GetSequence(i).ToArray());
            Assert.False(batch.IsTruncated(i));
            Assert.Equal(length, batch.GetOriginalLength(i));
            expectedPacked.AddRange(referenceIds[i][..length]);
            offset += length;
        }

        Assert.Equal(offset, batch.Offsets[batch.Count]);
        Assert.Equal(expectedPacked, batch.TokenIds.ToArray());
        Assert.DoesNotContain(Tokenizer.PadId, batch.TokenIds.ToArray()); // no padding in the packed ids
        Assert.Equal(referenceIds.Max(r => r.Length), batch.MaxSequenceLength);

        PaddedBatch padded = batch.ToPadded();
        Assert.Equal(batch.Count, padded.Rows);
        Assert.Equal(referenceIds[0].Length, padded.Columns);
        Assert.Equal(referenceIds.SelectMany(r => r).ToArray(), padded.InputIds);
        Assert.Equal(referenceMask.SelectMany(r => r).ToArray(), padded.AttentionMask);
        Assert.All(padded.TokenTypeIds, t => Assert.Equal(0, t));
    }

    [Fact]
    public void EncodeBatch_TruncatesEachSequenceOnItsOwn()
    {
        ParityCase longest = Fixture.Cases.MaxBy(c => c.Ids.Length)!;
        string[] texts = ["short one", longest.Text, "", longest.Text + " more"];
        TokenizedBatch batch = Tokenizer.EncodeBatch(texts, 64);

        Assert.False(batch.IsTruncated(0));
        Assert.True(batch.IsTruncated(1));
        Assert.False(batch.IsTruncated(2));
        Assert.True(batch.IsTruncated(3));
        Assert.Equal(64, batch.GetLength(1));
        Assert.Equal(longest.Ids.Length, batch.GetOriginalLength(1));
        Assert.Equal(ExpectedTruncation(longest.Ids, 64), batch.GetSequence(1).ToArray());
        Assert.Equal([101, 102], batch.GetSequence(2).ToArray());
        Assert.Equal(64, batch.MaxSequenceLength);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(Tokenizer.Encode(texts[i], 64, out _), batch.GetSequence(i).ToArray());
        }
    }

    [Fact]
    public void Encode_FromManyThreads_GivesTheSameIds()
    {
        int[][] expected = Fixture.Cases.Select(c => c.Ids).ToArray();
        var results = new int[Fixture.Cases.Count][];
        Parallel.For(0, Fixture.Cases.Count * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int k = i % Fixture.Cases.Count;
            results[k] = EncodeUntruncated(Fixture.Cases[k].Text);
        });
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], results[k]);
        }
    }

    [Fact]
    public void BadInput_GetsClearExceptions()
    {
        var nullText = Assert.Throws<ArgumentNullException>(() => Tokenizer.Encode(null!, 16, out bool _));
        Assert.Equal("text", nullText.ParamName);

        foreach (int bad in new[] { int.MinValue, -1, 0, 1, 513 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Encode("hello", bad, out bool _));
            Assert.Equal("maxLength", e.ParamName);
            Assert.Contains("between 2", e.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.EncodeBatch(["hello"], bad));
        }

        Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeBatch(null!, 16));
        var empty = Assert.Throws<ArgumentException>(() => Tokenizer.EncodeBatch([], 16));
        Assert.Contains("empty batch", empty.Message);
        var nullItem = Assert.Throws<ArgumentNullException>(() => Tokenizer.EncodeBatch(["a", null!, "b"], 16));
        Assert.Contains("texts[1]", nullItem.Message);
    }

    [Fact]
    public void FromStream_GivesTheSameTokenizerAsFromFile()
    {
        using FileStream stream = File.OpenRead(BertTestData.VocabPath);
        WordPieceTokenizer fromStream = WordPieceTokenizer.FromStream(stream);
        Assert.True(stream.CanRead); // the caller keeps the stream
        Assert.Equal(Tokenizer.VocabSize, fromStream.VocabSize);
        foreach (ParityCase c in Fixture.Cases.Take(60))
        {
            Assert.Equal(Tokenizer.Encode(c.Text, 512, out _), fromStream.Encode(c.Text, 512, out _));
        }
    }

    [Fact]
    public void BadVocabulary_IsRejectedWithReason()
    {
        Assert.Throws<FileNotFoundException>(() => WordPieceTokenizer.FromFile(Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.txt")));
        Assert.Throws<ArgumentNullException>(() => WordPieceTokenizer.FromFile(null!));
        Assert.Throws<ArgumentNullException>(() => WordPieceTokenizer.FromStream(null!));

        var noCls = Assert.Throws<InvalidDataException>(() => FromLines("[PAD]", "[UNK]", "[SEP]", "[MASK]", "hello"));
        Assert.Contains("[CLS]", noCls.Message);

        var duplicate = Assert.Throws<InvalidDataException>(() => FromLines("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "hello"));
        Assert.Contains("line 7", duplicate.Message);

        Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.FromStream(new MemoryStream([0x5B, 0xFF, 0xFE, 0x0A])));
        Assert.Throws<NotSupportedException>(() => FromLines("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "\U0001F600"));
        Assert.Throws<ArgumentOutOfRangeException>(() => FromLines(new WordPieceTokenizerOptions { MaxInputLength = 1 }, "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
    }

    [Fact]
    public void TinyVocabulary_UncasedAndCased_HandWorkedExamples()
    {
        // ids:                 0        1        2        3        4         5        6        7       8       9      10      11   12
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "Hello", "##lo", "hel", "cafe", "café", ",", "##s"];

        WordPieceTokenizer uncased = FromLines(vocab);
        // "Hello" -> "hello"; "Café" -> "café" -> NFD "cafe" + U+0301 -> accent dropped -> "cafe"; "hels" -> hel ##s.
        Assert.Equal([2, 5, 11, 9, 8, 12, 3], uncased.Encode("Hello, Café hels", 32, out _));
        // "helo": hel, then "##o" is missing, so the whole word is [UNK].
        Assert.Equal([2, 1, 3], uncased.Encode("helo", 32, out _));

        WordPieceTokenizer cased = FromLines(new WordPieceTokenizerOptions { LowerCase = false }, vocab);
        // Case and accents stay: "Hello" and "café" are whole words; "Café" has no entry and no "C" piece.
        Assert.Equal([2, 6, 11, 10, 1, 3], cased.Encode("Hello,café Café", 32, out _));
        Assert.Equal([2, 5, 3], cased.Encode("hello", 32, out _));
    }

    [Fact]
    public void WordOfMoreThan100Characters_IsUnknown_ButOneHundredIsNot()
    {
        WordPieceTokenizer tiny = FromLines("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a");
        int[] hundred = tiny.Encode(new string('a', 100), 512, out _);
        Assert.Equal(102, hundred.Length);                              // a ##a ×99 between [CLS] and [SEP]
        Assert.Equal([2, 1, 3], tiny.Encode(new string('a', 101), 512, out _));
        // The limit counts characters after normalisation: 100 "á" lose their accents and fit.
        Assert.Equal(102, tiny.Encode(string.Concat(Enumerable.Repeat("a\u0301", 100)), 512, out _).Length);
    }

    // Same vocabulary with no practical length limit, to compare whole sequences longer than 512 tokens.
    private static readonly Lazy<WordPieceTokenizer> Unlimited = new(() =>
        WordPieceTokenizer.FromFile(BertTestData.VocabPath, new WordPieceTokenizerOptions { MaxInputLength = UnlimitedLength }));

    private const int UnlimitedLength = 1_000_000;

    private static int[] EncodeUntruncated(string text)
    {
        int[] ids = Unlimited.Value.Encode(text, UnlimitedLength, out bool truncated);
        Assert.False(truncated);
        return ids;
    }

    private static int[] ExpectedTruncation(int[] reference, int maxLength)
    {
        if (reference.Length <= maxLength)
        {
            return reference;
        }

        int[] expected = reference[..maxLength];
        expected[^1] = reference[^1]; // [SEP]
        return expected;
    }

    private static WordPieceTokenizer FromLines(params string[] lines) => FromLines(new WordPieceTokenizerOptions(), lines);

    private static WordPieceTokenizer FromLines(WordPieceTokenizerOptions options, params string[] lines) =>
        WordPieceTokenizer.FromStream(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n")), options);
}
