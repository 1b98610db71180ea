using System.Text;
using System.Text.Json;
using RankEngine.Tests.Support;
using RankEngine.Text;
using Xunit;

namespace RankEngine.Tests.Text;

public class SentencePieceTokenizerTests
{
    private static readonly Lazy<SentencePieceTokenizer> UseLite =
        new(() => SentencePieceTokenizer.FromVocabularyFile(UseLiteFiles.VocabularyPath));

    // A tiny vocabulary whose expected ids are worked out by hand below (and agree with the JS reference).
    private static SentencePieceTokenizer Tiny() => new(new (string, double?)[]
    {
        ("\uFFFD", 0), ("<s>", 0), ("</s>", 0), ("r3", 0), ("r4", 0), ("r5", 0),
        ("\u2581a", -1.0),   // 6
        ("b", -2.0),         // 7
        ("\u2581ab", -2.5),  // 8
        ("a", -1.5),         // 9
        ("\u2581", -4.0),    // 10
        (":", null),         // 11: null score reads as 0
        ("\u2581:", null),   // 12
        ("c", -1.0),         // 13
        ("d", -1.0),         // 14
        ("cd", -2.0),        // 15
        ("ef", -1.0),        // 16
    });

    [Fact]
    public void MatchesTheReferenceOnEveryFixtureString()
    {
        using var fixture = UseLiteFiles.ReadFixture("tokenizer-cases.json");
        var cases = fixture.RootElement.GetProperty("cases");
        Assert.True(cases.GetArrayLength() >= 300, $"only {cases.GetArrayLength()} fixture strings");
        var failures = new StringBuilder();
        int failed = 0;
        foreach (var entry in cases.EnumerateArray())
        {
            string text = UseLiteFiles.TextOf(entry);
            int[] expected = UseLiteFiles.IntArray(entry.GetProperty("ids"));
            int[] actual = UseLite.Value.Encode(text);
            if (expected.AsSpan().SequenceEqual(actual)) continue;
            if (++failed <= 20)
                failures.AppendLine($"text {JsonSerializer.Serialize(text)}\n  reference [{string.Join(", ", expected)}]\n  ours      [{string.Join(", ", actual)}]");
        }
        Assert.True(failed == 0, $"{failed} of {cases.GetArrayLength()} strings differ from the reference:\n{failures}");
    }

    [Fact]
    public void MatchesTheReferenceIdsOfTheEmbeddingFixture()
    {
        using var fixture = UseLiteFiles.ReadFixture("embeddings.json");
        foreach (var entry in fixture.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = UseLiteFiles.TextOf(entry);
            int[] expected = UseLiteFiles.IntArray(entry.GetProperty("ids"));
            Assert.True(expected.AsSpan().SequenceEqual(UseLite.Value.Encode(text)),
                $"text {JsonSerializer.Serialize(text)}: reference [{string.Join(", ", expected)}], ours [{string.Join(", ", UseLite.Value.Encode(text))}]");
        }
    }

    [Fact]
    public void UseLiteVocabularyHasTheExpectedShape()
    {
        var t = UseLite.Value;
        Assert.Equal(8000, t.VocabularySize);
        Assert.Equal("\uFFFD", t.GetPiece(0));
        Assert.Equal("\u2581the", t.GetPiece(9));
        Assert.Equal([393, 48, 481, 1364, 3513, 3079, 52], t.Encode("Toy Story (1995)"));
    }

    [Theory]
    [InlineData("ab", new[] { 8 })]                 // "▁ab" -2.5 beats "▁a"+"b" -3.0 and "▁"+"a"+"b" -7.5
    [InlineData("a b", new[] { 6, 10, 7 })]         // the space becomes "▁": ▁a ▁ b
    [InlineData("a\u20ACb", new[] { 6, 0, 7 })]     // no piece starts at €: unknown id 0 with score 0
    [InlineData("a\u20AC\u20ACb", new[] { 6, 0, 7 })] // a run of unknowns is merged into one id
    [InlineData(":b", new[] { 10, 11, 7 })]         // "▁:" reaches 0 exactly, so the worse "▁"+":" replaces it
    [InlineData("cd", new[] { 10, 13, 14 })]        // tie -6 ("cd" vs "c"+"d"): the later start wins
    [InlineData("eff", new[] { 10, 0 })]            // position after "e" is unreachable: holds id 0, walk back by 1
    [InlineData("", new int[0])]
    [InlineData("  ", new[] { 10, 10, 10 })]        // every space is kept: "▁▁▁"
    [InlineData("\u00A0a", new[] { 10, 6 })]        // NFKC turns NBSP into a space
    public void FollowsTheReferenceAlgorithmOnHandWorkedCases(string text, int[] expected)
    {
        Assert.Equal(expected, Tiny().Encode(text));
    }

    [Fact]
    public void BatchTryEncodeAndEncodeAgree()
    {
        var t = UseLite.Value;
        string[] texts = ["Heat (1995)", "", "Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "ﬁ ①"];
        int[][] batch = t.EncodeBatch(texts);
        Assert.Equal(texts.Length, batch.Length);
        Span<int> buffer = stackalloc int[64];
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(t.Encode(texts[i]), batch[i]);
            Assert.True(t.TryEncode(texts[i], buffer, out int written));
            Assert.Equal(batch[i], buffer[..written].ToArray());
        }
        Assert.False(t.TryEncode("Heat (1995)", buffer[..2], out int needed));
        Assert.Equal(t.Encode("Heat (1995)").Length, needed);
    }

    [Fact]
    public void RejectsBadInput()
    {
        var t = Tiny();
        Assert.Throws<ArgumentNullException>(() => t.Encode(null!));
        Assert.Throws<ArgumentNullException>(() => t.EncodeBatch(null!));
        var e = Assert.Throws<ArgumentNullException>(() => t.EncodeBatch(["a", null!]));
        Assert.Contains("Text 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => t.GetPiece(17));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.GetPiece(-1));
    }

    [Fact]
    public void RejectsBadVocabularies()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => SentencePieceTokenizer.FromVocabularyFile("/nonexistent/vocab.json"));
        Assert.Contains("fetch-use-lite", missing.Message);
        AssertBadJson("not json", "not valid JSON");
        AssertBadJson("{\"a\": 1}", "expected an array");
        AssertBadJson("[[\"a\", 0], \"b\"]", "entry 1 is not a [piece, score] pair");
        AssertBadJson("[[\"a\", 0], [1, 0]]", "entry 1 has a non-string piece");
        AssertBadJson("[[\"a\", \"x\"]]", "neither a number nor null");
        AssertBadJson("[[\"\\ud800\", 0]]", "not valid UTF-16");
        AssertBadJson("[[\"a\", 0], [\"b\", 0]]", "needs more than 6 pieces");
        AssertBadJson("[[\"a\",0],[\"b\",0],[\"c\",0],[\"d\",0],[\"e\",0],[\"f\",0],[\"\",0]]", "piece 6 is empty");
    }

    private static void AssertBadJson(string json, string expectedMessagePart)
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            SentencePieceTokenizer.FromVocabularyJson(new MemoryStream(Encoding.UTF8.GetBytes(json)), sourceName: "test vocab"));
        Assert.Contains(expectedMessagePart, e.Message);
        Assert.Contains("test vocab", e.Message);
    }
}
