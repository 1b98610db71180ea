using RankEngine.Compute;
using RankEngine.Model;
using RankEngine.Text;

namespace RankEngine.Encoders;

/// <summary>The vectors of a batch of texts, with what the tokenizer did to each text.</summary>
public sealed class TextEmbeddings
{
    /// <summary>Row-major [texts × <see cref="Dimension"/>].</summary>
    public required float[] Vectors { get; init; }
    /// <summary>Width of each vector.</summary>
    public required int Dimension { get; init; }
    /// <summary>Tokens fed to the encoder per text (special tokens included).</summary>
    public required int[] TokenCounts { get; init; }
    /// <summary>Tokens each text had before truncation.</summary>
    public required int[] OriginalTokenCounts { get; init; }

    /// <summary>Number of texts (vectors) in the batch.</summary>
    public int Count => TokenCounts.Length;
    /// <summary>The vector of text <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Vector(int index) => Vectors.AsSpan(index * Dimension, Dimension);
    /// <summary>True when text <paramref name="index"/> was longer than the model's limit and was truncated.</summary>
    public bool IsTruncated(int index) => OriginalTokenCounts[index] > TokenCounts[index];
}

/// <summary>
/// Text in, vectors out: the model file's own tokenizer (its vocabulary is stored in the file) feeding the
/// <see cref="TransformerEncoder"/>. Texts longer than the model's limit are truncated and reported as such.
/// </summary>
internal sealed class TextEncoder : IDisposable
{
    private readonly WeightFile _file;

    public TransformerEncoder Encoder { get; }
    public ITextTokenizer Tokenizer { get; }
    public ModelConfig Config => Encoder.Config;
    /// <summary>Width of the vectors.</summary>
    public int Dimension => Config.OutputSize;
    /// <summary>The model file's identity (<see cref="WeightFile.Identity"/>).</summary>
    public string ModelIdentity => _file.Identity;
    /// <summary>Longest input in tokens; longer texts are truncated.</summary>
    public int MaxLength => Config.Tokenizer.MaxLength;

    private TextEncoder(WeightFile file, IComputeBackend backend, int tokenBudget)
    {
        _file = file;
        Tokenizer = TokenizerFactory.Create(file);
        Encoder = new TransformerEncoder(file, backend, tokenBudget);
    }

    /// <summary>Opens a weight file and prepares its tokenizer and encoder on <paramref name="backend"/> (not owned).</summary>
    /// <exception cref="InvalidModelException">The file is invalid or its tokenizer cannot be built.</exception>
    public static TextEncoder Open(string modelPath, IComputeBackend backend, int tokenBudget = 8192)
    {
        var file = WeightFile.Open(modelPath);
        try
        {
            return new TextEncoder(file, backend, tokenBudget);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Encodes texts in one batch (split internally by the token budget).</summary>
    /// <exception cref="ArgumentException">The list is empty or holds a null text.</exception>
    public TextEmbeddings Encode(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("no texts to encode: give at least one");
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var batch = Tokenizer.EncodeBatch(texts, MaxLength);
        var output = Encoder.Encode(new EncoderInput(batch.TokenIds.ToArray(), batch.Offsets.ToArray(),
            batch.HasTokenTypeIds ? batch.TokenTypeIds.ToArray() : default));
        var counts = new int[batch.Count];
        var originals = new int[batch.Count];
        long tokens = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            counts[i] = batch.GetLength(i);
            originals[i] = batch.GetOriginalLength(i);
            tokens += counts[i];
        }
        Diagnostics.EncoderMetrics.Record(batch.Count, tokens, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        return new TextEmbeddings { Vectors = output.Vectors, Dimension = output.VectorSize, TokenCounts = counts, OriginalTokenCounts = originals };
    }

    public void Dispose()
    {
        Encoder.Dispose();
        _file.Dispose();
    }
}

/// <summary>Builds the tokenizer a model file declares, from the vocabulary blob stored in it.</summary>
internal static class TokenizerFactory
{
    public static ITextTokenizer Create(WeightFile file)
    {
        var tc = file.Config.Tokenizer;
        if (!file.TryGet(tc.VocabTensor, out var vocab))
            throw new InvalidModelException($"model file '{file.Path}': the tokenizer vocabulary '{tc.VocabTensor}' is missing");
        var bytes = vocab.ToBlob();
        ITextTokenizer tokenizer;
        try
        {
            tokenizer = tc.Kind switch
            {
                TokenizerKind.WordPiece => WordPieceTokenizer.FromStream(new MemoryStream(bytes),
                    new WordPieceTokenizerOptions { LowerCase = tc.Lowercase, MaxInputLength = tc.MaxLength }),
                TokenizerKind.SentencePiece => SentencePieceTokenizer.FromVocabularyJson(new MemoryStream(bytes), sourceName: file.Path),
                _ => throw new InvalidModelException($"model file '{file.Path}': tokenizer kind {tc.Kind} is not supported by this build"),
            };
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidModelException($"model file '{file.Path}': tokenizer vocabulary: {e.Message}", e);
        }
        // The embedding table may have rows the tokenizer never produces (USE-lite: 8,000 pieces, 8,002 rows).
        if (tokenizer.VocabSize > file.Config.VocabSize)
            throw new InvalidModelException($"model file '{file.Path}': the vocabulary has {tokenizer.VocabSize} entries but the embedding table only {file.Config.VocabSize} rows");
        return tokenizer;
    }
}
