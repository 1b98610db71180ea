using System.Security.Cryptography;
using System.Text.Json;
using RankEngine.Text;

namespace RankEngine.Tests.Text;

/// <summary>
/// The real bert-base-uncased vocabulary (written by tools/fetch-bert-vocab.mjs, which tools/setup-deps.sh runs)
/// and the Hugging Face reference fixture (written by tools/make-wordpiece-fixture.mjs).
/// </summary>
internal static class BertTestData
{
    /// <summary>Environment variable that points the tests at another copy of vocab.txt.</summary>
    public const string VocabEnvironmentVariable = "RANKENGINE_BERT_VOCAB";

    private static readonly Lazy<string> VocabPathLazy = new(LocateVocab);
    private static readonly Lazy<WordPieceTokenizer> TokenizerLazy = new(() => WordPieceTokenizer.FromFile(VocabPath));
    private static readonly Lazy<ParityFixture> FixtureLazy = new(LoadFixture);

    public static string VocabPath => VocabPathLazy.Value;

    public static WordPieceTokenizer Tokenizer => TokenizerLazy.Value;

    public static ParityFixture Fixture => FixtureLazy.Value;

    public static string VocabSha256() => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(VocabPath)));

    // Fails loudly rather than skipping: a missing vocabulary means the setup step did not run.
    private static string LocateVocab()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable(VocabEnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return File.Exists(fromEnvironment)
                ? fromEnvironment
                : throw new FileNotFoundException($"{VocabEnvironmentVariable} points at {fromEnvironment}, which does not exist.");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RankEngine.sln")))
            {
                string path = Path.Combine(dir.FullName, "models", "bert-base-uncased", "vocab.txt");
                return File.Exists(path)
                    ? path
                    : throw new FileNotFoundException(
                        $"bert-base-uncased vocabulary missing at {path}. Run tools/setup-deps.sh (it runs node tools/fetch-bert-vocab.mjs).", path);
            }
        }

        throw new DirectoryNotFoundException($"No RankEngine.sln above {AppContext.BaseDirectory}; set {VocabEnvironmentVariable} to a vocab.txt.");
    }

    private static ParityFixture LoadFixture()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Text", "wordpiece-parity.json");
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = doc.RootElement;

        var cases = new List<ParityCase>();
        foreach (JsonElement item in root.GetProperty("cases").EnumerateArray())
        {
            // Texts with lone surrogates are stored as UTF-16 code units, since JSON readers reject them as strings.
            string text = item.TryGetProperty("text", out JsonElement t)
                ? t.GetString()!
                : new string(item.GetProperty("utf16").EnumerateArray().Select(u => (char)u.GetInt32()).ToArray());
            int[] ids = item.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            cases.Add(new ParityCase(cases.Count, text, ids));
        }

        JsonElement batch = root.GetProperty("batch");
        return new ParityFixture(
            root.GetProperty("reference").GetString()!,
            root.GetProperty("vocabSha256").GetString()!,
            cases,
            batch.GetProperty("texts").EnumerateArray().Select(e => e.GetString()!).ToArray(),
            ReadMatrix(batch.GetProperty("input_ids")),
            ReadMatrix(batch.GetProperty("attention_mask")));
    }

    private static int[][] ReadMatrix(JsonElement rows) =>
        rows.EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();

    /// <summary>Shows a test string with its invisible characters spelled out.</summary>
    public static string Describe(string text)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (char c in text.Length > 200 ? text[..200] : text)
        {
            if (c != ' ' && (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || char.IsSurrogate(c) || char.GetUnicodeCategory(c) is
                System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.SpaceSeparator
                or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator))
            {
                sb.Append($"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append(text.Length > 200 ? $"…\" ({text.Length} chars)" : "\"");
        return sb.ToString();
    }
}

internal sealed record ParityCase(int Index, string Text, int[] Ids);

internal sealed record ParityFixture(
    string Reference, string VocabSha256, IReadOnlyList<ParityCase> Cases, string[] BatchTexts, int[][] BatchInputIds, int[][] BatchAttentionMask);
