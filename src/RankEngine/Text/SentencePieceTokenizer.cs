using System.Buffers;
using System.Text.Json;
using RankEngine.Text.Normalization;

namespace RankEngine.Text;

/// <summary>
/// SentencePiece unigram tokenizer that reproduces, id for id, the tokenizer of the Universal Sentence Encoder lite
/// JavaScript reference (<c>@energetic-ai/embeddings</c> 0.2.0, itself the tfjs-models USE tokenizer), including its
/// departures from the C++ SentencePiece library. docs/use-lite.md describes the algorithm step by step.
/// </summary>
/// <remarks>
/// <para>Encoding: NFKC; if the result is not empty, prefix U+2581 and replace every U+0020 by U+2581 (nothing else:
/// runs of spaces, tabs and newlines are kept); split into code points (an unpaired surrogate is one symbol);
/// Viterbi over the pieces that start at each symbol, maximising the sum of piece scores, where a position at which
/// no piece starts contributes the unknown piece (id 0) with score 0; walk back from the end; merge runs of unknown
/// ids into one.</para>
/// <para>The reference's quirks kept on purpose, because the model was used with them: the unknown piece scores 0
/// (better than every real piece), a running best of exactly 0 counts as "not set" so the next candidate replaces
/// it, ties go to the later start (the shorter last piece), the walk back steps by the UTF-16 length of the chosen
/// piece's text (unreachable positions hold id 0 and step by the length of piece 0), a duplicated piece text keeps
/// the last id and score, and a null score counts as 0.</para>
/// <para>Instances are immutable and thread-safe. <see cref="Encode(string)"/> allocates only its result (plus the
/// normalised string when NFKC changes the text); working buffers come from <see cref="ArrayPool{T}"/>.</para>
/// </remarks>
internal sealed class SentencePieceTokenizer : ITextTokenizer
{
    /// <summary>Word-boundary marker (LOWER ONE EIGHTH BLOCK) that replaces spaces and starts every non-empty text.</summary>
    public const char WordBoundary = '\u2581';

    /// <summary>Number of leading reserved pieces (unknown, &lt;s&gt;, &lt;/s&gt;, three extra ids) never produced by matching.</summary>
    public const int DefaultReservedCount = 6;

    /// <summary>Id the reference emits for text no piece covers (one id per run of such symbols).</summary>
    public const int UnknownId = 0;

    private const int NoChild = -1;

    // Trie over code points: node n's children are found through ChildKey(n, symbol); node 0 is the root.
    private readonly Dictionary<long, int> _children;
    private readonly int[] _nodePiece;       // piece id ending at the node, or -1
    private readonly double[] _nodeScore;    // score of that piece (null scores read as 0)
    private readonly int[] _pieceUtf16Length; // per id: string length of the piece text, used by the walk back
    private readonly string[] _pieces;

    /// <summary>Builds the tokenizer from pieces in id order (id = position in the list).</summary>
    /// <param name="pieces">Piece text and score per id; a null score is read as 0, as the reference does.</param>
    /// <param name="reservedCount">Leading ids that are not matched against text (the reference uses 6).</param>
    /// <exception cref="ArgumentException">The list is shorter than <paramref name="reservedCount"/> + 1, a piece is
    /// empty, or a score is NaN or infinite.</exception>
    public SentencePieceTokenizer(IReadOnlyList<(string Piece, double? Score)> pieces, int reservedCount = DefaultReservedCount)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        if (reservedCount < 1 || pieces.Count <= reservedCount)
            throw new ArgumentException($"A vocabulary needs more than {reservedCount} pieces (reserved ids first, id 0 the unknown piece); got {pieces.Count}.", nameof(pieces));

        _pieces = new string[pieces.Count];
        _pieceUtf16Length = new int[pieces.Count];
        var nodePiece = new List<int> { -1 };
        var nodeScore = new List<double> { 0 };
        _children = new Dictionary<long, int>(pieces.Count * 3);
        for (int id = 0; id < pieces.Count; id++)
        {
            var (text, score) = pieces[id];
            if (string.IsNullOrEmpty(text))
                throw new ArgumentException($"Vocabulary piece {id} is empty.", nameof(pieces));
            if (score is double s && !double.IsFinite(s))
                throw new ArgumentException($"Vocabulary piece {id} ({text}) has a non-finite score {s}.", nameof(pieces));
            _pieces[id] = text;
            _pieceUtf16Length[id] = text.Length;
            if (id < reservedCount) continue;

            int node = 0;
            for (int i = 0; i < text.Length; i++)
            {
                int symbol = NextSymbol(text, ref i);
                long key = ChildKey(node, symbol);
                if (!_children.TryGetValue(key, out int child))
                {
                    child = nodePiece.Count;
                    nodePiece.Add(-1);
                    nodeScore.Add(0);
                    _children.Add(key, child);
                }
                node = child;
            }
            nodePiece[node] = id; // a repeated piece text keeps the last id and score, as the reference's trie does
            nodeScore[node] = score ?? 0.0;
        }
        _nodePiece = nodePiece.ToArray();
        _nodeScore = nodeScore.ToArray();
    }

    /// <summary>Number of ids (vocabulary size); every id produced is below it.</summary>
    public int VocabularySize => _pieces.Length;

    /// <inheritdoc />
    public int VocabSize => _pieces.Length;

    /// <summary>Longest sequence handed to the model; USE-lite reads at most 128 tokens and drops the rest.</summary>
    public int MaxInputLength { get; init; } = 128;

    /// <inheritdoc />
    public int PadId => UnknownId;

    /// <inheritdoc />
    int ITextTokenizer.UnknownId => UnknownId;

    /// <summary>No start token: USE-lite adds none.</summary>
    public int SequenceStartId => -1;

    /// <summary>No end token: USE-lite adds none.</summary>
    public int SequenceEndId => -1;

    /// <summary>The ids of <paramref name="text"/>, cut to the first <paramref name="maxLength"/> (as the reference drops tokens past its limit).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not in 1..<see cref="MaxInputLength"/>.</exception>
    public int[] Encode(string text, int maxLength, out bool truncated)
    {
        CheckMaxLength(maxLength);
        var ids = Encode(text);
        truncated = ids.Length > maxLength;
        return truncated ? ids[..maxLength] : ids;
    }

    /// <inheritdoc />
    public TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0) throw new ArgumentException("The batch is empty: give at least one text.", nameof(texts));
        CheckMaxLength(maxLength);
        var all = EncodeBatch(texts);
        var offsets = new int[all.Length + 1];
        var original = new int[all.Length];
        for (int i = 0; i < all.Length; i++)
        {
            original[i] = all[i].Length;
            offsets[i + 1] = offsets[i] + Math.Min(all[i].Length, maxLength);
        }
        var packed = new int[offsets[^1]];
        for (int i = 0; i < all.Length; i++)
            all[i].AsSpan(0, offsets[i + 1] - offsets[i]).CopyTo(packed.AsSpan(offsets[i]));
        return new TokenizedBatch(packed, offsets, original, PadId);
    }

    private void CheckMaxLength(int maxLength)
    {
        if (maxLength < 1 || maxLength > MaxInputLength)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"maxLength must be between 1 and {MaxInputLength}.");
    }

    /// <summary>Text of piece <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is not a vocabulary id.</exception>
    public string GetPiece(int id)
    {
        if ((uint)id >= (uint)_pieces.Length)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Piece ids are 0..{_pieces.Length - 1}.");
        return _pieces[id];
    }

    /// <summary>Loads a vocabulary JSON file: an array of <c>[piece, score]</c> pairs in id order (USE-lite's vocab.json).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist (run tools/fetch-use-lite.sh for USE-lite).</exception>
    /// <exception cref="InvalidDataException">The file is not such an array.</exception>
    public static SentencePieceTokenizer FromVocabularyFile(string path, int reservedCount = DefaultReservedCount)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"SentencePiece vocabulary not found: {path} (for USE-lite, run tools/fetch-use-lite.sh).", path);
        using var stream = File.OpenRead(path);
        return FromVocabularyJson(stream, reservedCount, path);
    }

    /// <summary>Reads a vocabulary JSON stream: an array of <c>[piece, score]</c> pairs, score a number or null.</summary>
    /// <exception cref="InvalidDataException">The content is not such an array.</exception>
    public static SentencePieceTokenizer FromVocabularyJson(Stream json, int reservedCount = DefaultReservedCount, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        string source = sourceName ?? "vocabulary JSON";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{source}: expected an array of [piece, score] pairs, found {root.ValueKind}.");
            var pieces = new List<(string, double?)>(root.GetArrayLength());
            foreach (var entry in root.EnumerateArray())
            {
                int id = pieces.Count;
                if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2)
                    throw new InvalidDataException($"{source}: entry {id} is not a [piece, score] pair.");
                var piece = entry[0];
                var score = entry[1];
                if (piece.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{source}: entry {id} has a non-string piece ({piece.ValueKind}).");
                double? value = score.ValueKind switch
                {
                    JsonValueKind.Number => score.GetDouble(),
                    JsonValueKind.Null => null, // USE-lite's vocab.json has null for some pieces containing ':'
                    _ => throw new InvalidDataException($"{source}: entry {id} has a score that is neither a number nor null ({score.ValueKind})."),
                };
                string? text;
                try
                {
                    text = piece.GetString();
                }
                catch (InvalidOperationException e)
                {
                    throw new InvalidDataException($"{source}: entry {id} has a piece that is not valid UTF-16.", e);
                }
                pieces.Add((text!, value));
            }
            try
            {
                return new SentencePieceTokenizer(pieces, reservedCount);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{source}: {e.Message}", e);
            }
        }
    }

    /// <summary>Token ids of <paramref name="text"/>, exactly as the reference produces them (empty for empty text).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string normalized = Nfkc.Normalize(text);
        if (normalized.Length == 0) return [];
        // Upper bound of ids: one per symbol, symbols <= UTF-16 length + 1 (the leading marker).
        int[] ids = ArrayPool<int>.Shared.Rent(normalized.Length + 1);
        try
        {
            int count = EncodeNormalized(normalized, ids);
            return ids.AsSpan(0, count).ToArray();
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ids);
        }
    }

    /// <summary>Encodes every text of <paramref name="texts"/>; element i holds the ids of text i.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="texts"/> or one of its texts is null.</exception>
    public int[][] EncodeBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var result = new int[texts.Count][];
        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null) throw new ArgumentNullException(nameof(texts), $"Text {i} of the batch is null.");
            result[i] = Encode(texts[i]);
        }
        return result;
    }

    /// <summary>Encodes into <paramref name="destination"/> without allocating the result.</summary>
    /// <param name="text">Text to encode.</param>
    /// <param name="destination">Receives the ids; <c>text.Length + 1</c> elements always suffice when NFKC does not
    /// lengthen the text.</param>
    /// <param name="written">Number of ids written, or the number needed when the method returns false.</param>
    /// <returns>False when <paramref name="destination"/> is too small (nothing useful is written then).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public bool TryEncode(string text, Span<int> destination, out int written)
    {
        ArgumentNullException.ThrowIfNull(text);
        string normalized = Nfkc.Normalize(text);
        if (normalized.Length == 0)
        {
            written = 0;
            return true;
        }
        if (destination.Length >= normalized.Length + 1)
        {
            written = EncodeNormalized(normalized, destination);
            return true;
        }
        int[] ids = ArrayPool<int>.Shared.Rent(normalized.Length + 1);
        try
        {
            written = EncodeNormalized(normalized, ids);
            if (written > destination.Length) return false;
            ids.AsSpan(0, written).CopyTo(destination);
            return true;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(ids);
        }
    }

    /// <summary>Viterbi over NFKC text; <paramref name="ids"/> must hold normalized.Length + 1 elements.</summary>
    private int EncodeNormalized(string normalized, Span<int> ids)
    {
        // Symbols: U+2581, then the code points of the text with every U+0020 replaced by U+2581.
        int capacity = normalized.Length + 1;
        int[] symbols = ArrayPool<int>.Shared.Rent(capacity);
        double[] best = ArrayPool<double>.Shared.Rent(capacity + 1);
        int[] words = ArrayPool<int>.Shared.Rent(capacity + 1);
        try
        {
            int n = 0;
            symbols[n++] = WordBoundary;
            for (int i = 0; i < normalized.Length; i++)
            {
                int symbol = NextSymbol(normalized, ref i);
                symbols[n++] = symbol == ' ' ? WordBoundary : symbol;
            }

            Array.Clear(best, 0, n + 1);
            Array.Clear(words, 0, n + 1);
            // Relaxing start positions in ascending order visits, for every end position, its candidate pieces in
            // the order the reference's backward loop does (ascending start), so the same updates win.
            for (int start = 0; start < n; start++)
            {
                double prefix = best[start];
                bool matched = false;
                int node = 0;
                for (int end = start; end < n; end++)
                {
                    if (!_children.TryGetValue(ChildKey(node, symbols[end]), out node)) break;
                    int piece = _nodePiece[node];
                    if (piece < 0) continue;
                    matched = true;
                    Relax(best, words, end + 1, _nodeScore[node] + prefix, piece);
                }
                if (!matched) Relax(best, words, start + 1, 0.0 + prefix, UnknownId);
            }

            // Walk back by the UTF-16 length of each chosen piece's text, then reverse, merging runs of unknowns.
            int count = 0;
            for (int position = n; position > 0; position -= _pieceUtf16Length[words[position]])
                ids[count++] = words[position];
            ids.Slice(0, count).Reverse();
            int merged = 0;
            for (int i = 0; i < count; i++)
            {
                if (ids[i] == UnknownId && merged > 0 && ids[merged - 1] == UnknownId) continue;
                ids[merged++] = ids[i];
            }
            return merged;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(symbols);
            ArrayPool<double>.Shared.Return(best);
            ArrayPool<int>.Shared.Return(words);
        }
    }

    /// <summary>The reference's update: a best of exactly 0 means "unset"; ties go to the later candidate.</summary>
    private static void Relax(double[] best, int[] words, int end, double score, int piece)
    {
        if (best[end] == 0.0 || score >= best[end])
        {
            best[end] = score;
            words[end] = piece;
        }
    }

    /// <summary>Code point at <paramref name="i"/> (advancing past a low surrogate); an unpaired surrogate is itself.</summary>
    private static int NextSymbol(string text, ref int i)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            return char.ConvertToUtf32(c, text[++i]);
        return c;
    }

    private static long ChildKey(int node, int symbol) => ((long)node << 21) | (uint)symbol;
}
