using System.Buffers;
using System.Text;
using MlBertOptions = Microsoft.ML.Tokenizers.BertOptions;
using MlBertTokenizer = Microsoft.ML.Tokenizers.BertTokenizer;

namespace RankEngine.Text;

/// <summary>Settings for <see cref="WordPieceTokenizer"/>.</summary>
internal sealed class WordPieceTokenizerOptions
{
    /// <summary>
    /// True (the default) for uncased models such as bert-base-uncased: lowercase and strip accents, as Hugging
    /// Face's BertNormalizer does with lowercase=true. False for cased models: text keeps its case and accents.
    /// </summary>
    public bool LowerCase { get; init; } = true;

    /// <summary>The longest sequence the model accepts, [CLS] and [SEP] included (BERT: 512 positions).</summary>
    public int MaxInputLength { get; init; } = 512;
}

/// <summary>
/// BERT-family WordPiece tokenization that gives exactly Hugging Face's token ids: special tokens, Hugging Face's
/// normalisation and word splitting in our layer, then Microsoft.ML.Tokenizers' <see cref="MlBertTokenizer"/> for
/// the vocabulary and the greedy longest-match WordPiece step.
/// </summary>
/// <remarks>
/// <para>Pipeline for one text, as Hugging Face runs it:</para>
/// <list type="number">
/// <item>split the raw text at the special tokens [PAD] [UNK] [CLS] [SEP] [MASK], matched exactly and case-sensitively
/// (Microsoft.ML.Tokenizers lowercases them and would also match "[cls]");</item>
/// <item>normalise each piece between them with <see cref="HfBertNormalizer"/>;</item>
/// <item>split into words with <see cref="HfBertPreTokenizer"/> and look the words up with Microsoft.ML.Tokenizers
/// (a word of more than 100 characters becomes [UNK]);</item>
/// <item>add [CLS] and [SEP]; when that is more than the allowed length, keep [CLS], the first maxLength − 2
/// tokens and [SEP], as Python Hugging Face does with truncation=True.</item>
/// </list>
/// <para>Immutable and thread-safe. See docs/tokenizers.md for every difference from Microsoft.ML.Tokenizers we correct.</para>
/// </remarks>
internal sealed class WordPieceTokenizer : ITextTokenizer
{
    /// <summary>Hugging Face's max_input_chars_per_word for BERT: longer words become [UNK].</summary>
    public const int MaxInputCharsPerWord = 100;

    /// <summary>The smallest maxLength: room for [CLS] and [SEP].</summary>
    public const int MinSequenceLength = 2;

    private static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    private readonly MlBertTokenizer _bert;
    private readonly bool _lowerCase;
    private readonly string[] _specialTokens;   // longest first, so a longer token wins at the same position
    private readonly int[] _specialTokenIds;
    private readonly SearchValues<char> _specialTokenStarts;

    private WordPieceTokenizer(MlBertTokenizer bert, int vocabSize, Dictionary<string, int> specialIds, WordPieceTokenizerOptions options)
    {
        _bert = bert;
        _lowerCase = options.LowerCase;
        VocabSize = vocabSize;
        MaxInputLength = options.MaxInputLength;
        PadId = specialIds["[PAD]"];
        UnknownId = specialIds["[UNK]"];
        ClsId = specialIds["[CLS]"];
        SepId = specialIds["[SEP]"];
        MaskId = specialIds["[MASK]"];

        _specialTokens = SpecialTokens.OrderByDescending(t => t.Length).ToArray();
        _specialTokenIds = _specialTokens.Select(t => specialIds[t]).ToArray();
        _specialTokenStarts = SearchValues.Create(_specialTokens.Select(t => t[0]).Distinct().ToArray());
    }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public int MaxInputLength { get; }

    /// <inheritdoc />
    public int PadId { get; }

    /// <inheritdoc />
    public int UnknownId { get; }

    /// <summary>Id of [CLS], the first token of every sequence.</summary>
    public int ClsId { get; }

    /// <summary>Id of [SEP], the last token of every sequence.</summary>
    public int SepId { get; }

    /// <summary>Id of [MASK].</summary>
    public int MaskId { get; }

    /// <inheritdoc />
    public int SequenceStartId => ClsId;

    /// <inheritdoc />
    public int SequenceEndId => SepId;

    /// <summary>Loads a vocab.txt (one token per line, the line number is the id; "##" marks word continuations).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="vocabPath"/> is null.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The vocabulary is malformed or lacks a BERT special token.</exception>
    /// <exception cref="NotSupportedException">The vocabulary holds characters outside the Basic Multilingual Plane.</exception>
    public static WordPieceTokenizer FromFile(string vocabPath, WordPieceTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vocabPath);
        if (!File.Exists(vocabPath))
        {
            throw new FileNotFoundException($"WordPiece vocabulary not found: {vocabPath}", vocabPath);
        }

        return FromBytes(File.ReadAllBytes(vocabPath), options, vocabPath);
    }

    /// <summary>Loads a vocab.txt from a stream (read to its end; the caller keeps ownership of the stream).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="vocabStream"/> is null.</exception>
    /// <exception cref="InvalidDataException">The vocabulary is malformed or lacks a BERT special token.</exception>
    /// <exception cref="NotSupportedException">The vocabulary holds characters outside the Basic Multilingual Plane.</exception>
    public static WordPieceTokenizer FromStream(Stream vocabStream, WordPieceTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vocabStream);
        using var copy = new MemoryStream();
        vocabStream.CopyTo(copy);
        return FromBytes(copy.ToArray(), options, "stream");
    }

    private static WordPieceTokenizer FromBytes(byte[] vocab, WordPieceTokenizerOptions? options, string source)
    {
        options ??= new WordPieceTokenizerOptions();
        if (options.MaxInputLength < MinSequenceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxInputLength,
                $"MaxInputLength must be at least {MinSequenceLength} ([CLS] and [SEP]).");
        }

        (int vocabSize, Dictionary<string, int> specialIds) = ScanVocabulary(vocab, source);

        var bertOptions = new MlBertOptions
        {
            // Our layer normalises, pre-tokenizes and splits special tokens; Microsoft.ML.Tokenizers only does WordPiece.
            ApplyBasicTokenization = false,
            SplitOnSpecialTokens = false,
            LowerCaseBeforeTokenization = false,
            PreTokenizer = HfBertPreTokenizer.Instance,
            MaxInputCharsPerWord = MaxInputCharsPerWord,
        };
        MlBertTokenizer bert;
        using (var stream = new MemoryStream(vocab, writable: false))
        {
            bert = MlBertTokenizer.Create(stream, bertOptions);
        }

        return new WordPieceTokenizer(bert, vocabSize, specialIds, options);
    }

    /// <summary>
    /// Reads the vocabulary the way Microsoft.ML.Tokenizers will (line number = id, empty lines skipped) to check
    /// it and find the special tokens before handing it over.
    /// </summary>
    private static (int VocabSize, Dictionary<string, int> SpecialIds) ScanVocabulary(byte[] vocab, string source)
    {
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(vocab);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"WordPiece vocabulary ({source}) is not valid UTF-8.", e);
        }

        // Microsoft.ML.Tokenizers measures max_input_chars_per_word in UTF-16 units, Hugging Face in code points.
        // The two agree only while no vocabulary entry has a character beyond U+FFFF: then a word holding such a
        // character is [UNK] either way. Refuse vocabularies where they could disagree instead of tokenizing wrongly.
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0)
        {
            throw new NotSupportedException(
                $"WordPiece vocabulary ({source}) contains characters outside the Basic Multilingual Plane, which this tokenizer does not support.");
        }

        var specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var reader = new StringReader(text);
        int lineNumber = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine(), lineNumber++)
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (!seen.Add(line))
            {
                throw new InvalidDataException($"WordPiece vocabulary ({source}) repeats the token \"{line}\" at line {lineNumber + 1}.");
            }

            if (Array.IndexOf(SpecialTokens, line) >= 0)
            {
                specialIds[line] = lineNumber;
            }
        }

        foreach (string token in SpecialTokens)
        {
            if (!specialIds.ContainsKey(token))
            {
                throw new InvalidDataException($"WordPiece vocabulary ({source}) has no {token} token.");
            }
        }

        return (lineNumber, specialIds);
    }

    /// <inheritdoc />
    /// <remarks>maxLength must be between 2 and <see cref="MaxInputLength"/>.</remarks>
    public int[] Encode(string text, int maxLength, out bool truncated) => Encode(text, maxLength, out truncated, out _);

    /// <summary>
    /// Encodes one text into [CLS] tokens… [SEP], at most <paramref name="maxLength"/> ids, and reports the length
    /// the sequence would have had without truncation.
    /// </summary>
    /// <param name="text">The text; an empty text gives [CLS] [SEP].</param>
    /// <param name="maxLength">Between 2 and <see cref="MaxInputLength"/>.</param>
    /// <param name="truncated">True when tokens were cut off (then <paramref name="originalLength"/> &gt; the result's length).</param>
    /// <param name="originalLength">The untruncated sequence length, [CLS] and [SEP] included.</param>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is below 2 or above <see cref="MaxInputLength"/>.</exception>
    public int[] Encode(string text, int maxLength, out bool truncated, out int originalLength)
    {
        ArgumentNullException.ThrowIfNull(text, nameof(text));
        CheckMaxLength(maxLength);
        var ids = new List<int>();
        originalLength = EncodeInto(text, maxLength, ids);
        truncated = originalLength > ids.Count;
        return ids.ToArray();
    }

    /// <inheritdoc />
    /// <remarks>maxLength must be between 2 and <see cref="MaxInputLength"/>.</remarks>
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(texts, nameof(texts));
        if (texts.Count == 0)
        {
            throw new ArgumentException("Cannot encode an empty batch: texts has no items.", nameof(texts));
        }

        CheckMaxLength(maxLength);
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentNullException(nameof(texts), $"texts[{i}] is null; every text must be a string (use \"\" for no text).");
            }
        }

        var ids = new List<int>();
        var offsets = new int[texts.Count + 1];
        var originalLengths = new int[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            originalLengths[i] = EncodeInto(texts[i], maxLength, ids);
            offsets[i + 1] = ids.Count;
        }

        return new TokenizedBatch(ids.ToArray(), offsets, originalLengths, PadId);
    }

    /// <summary>Appends [CLS] tokens… [SEP] for <paramref name="text"/>, truncated to maxLength; returns the untruncated length.</summary>
    private int EncodeInto(string text, int maxLength, List<int> ids)
    {
        int start = ids.Count;
        ids.Add(ClsId);
        AppendContent(text, ids);

        int contentCount = ids.Count - start - 1;
        int keep = maxLength - 2;
        if (contentCount > keep)
        {
            ids.RemoveRange(start + 1 + keep, contentCount - keep);
        }

        ids.Add(SepId);
        return contentCount + 2;
    }

    /// <summary>The ids of <paramref name="text"/> without [CLS]/[SEP]: special tokens as themselves, the rest through WordPiece.</summary>
    private void AppendContent(string text, List<int> ids)
    {
        int position = 0;
        while (position < text.Length)
        {
            int next = FindSpecialToken(text, position, out int specialIndex);
            int end = next < 0 ? text.Length : next;
            if (end > position)
            {
                AppendWordPieces(text.AsSpan(position, end - position), ids);
            }

            if (next < 0)
            {
                break;
            }

            ids.Add(_specialTokenIds[specialIndex]);
            position = next + _specialTokens[specialIndex].Length;
        }
    }

    private void AppendWordPieces(ReadOnlySpan<char> segment, List<int> ids)
    {
        string normalized = HfBertNormalizer.Normalize(segment, _lowerCase);
        if (normalized.Length == 0)
        {
            return;
        }

        ids.AddRange(_bert.EncodeToIds(normalized, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: false));
    }

    /// <summary>
    /// The first position at or after <paramref name="from"/> where a special token starts (the longest one there
    /// wins), or -1. Exact, case-sensitive matching on the raw text, like Hugging Face's added tokens with
    /// normalized=false.
    /// </summary>
    private int FindSpecialToken(string text, int from, out int specialIndex)
    {
        int position = from;
        while (position < text.Length)
        {
            int candidate = text.AsSpan(position).IndexOfAny(_specialTokenStarts);
            if (candidate < 0)
            {
                break;
            }

            position += candidate;
            ReadOnlySpan<char> rest = text.AsSpan(position);
            for (int k = 0; k < _specialTokens.Length; k++)
            {
                if (rest.StartsWith(_specialTokens[k], StringComparison.Ordinal))
                {
                    specialIndex = k;
                    return position;
                }
            }

            position++;
        }

        specialIndex = -1;
        return -1;
    }

    private void CheckMaxLength(int maxLength)
    {
        if (maxLength < MinSequenceLength || maxLength > MaxInputLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                $"maxLength must be between {MinSequenceLength} (room for [CLS] and [SEP]) and {MaxInputLength} (the model's limit).");
        }
    }
}
