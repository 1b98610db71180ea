namespace RankEngine.Text;

/// <summary>
/// Turns text into the token ids an encoder model reads. Implemented by <see cref="WordPieceTokenizer"/>
/// (BERT family) and by the SentencePiece tokenizer (USE-lite family).
/// </summary>
/// <remarks>
/// Implementations are immutable after construction and safe to call from several threads at once.
/// Lengths count tokens and include the sequence's special tokens (for BERT, [CLS] and [SEP]).
/// </remarks>
internal interface ITextTokenizer
{
    /// <summary>Number of entries in the vocabulary; every id produced is in [0, VocabSize).</summary>
    int VocabSize { get; }

    /// <summary>The longest sequence, special tokens included, that the model accepts (e.g. 512 for BERT).</summary>
    int MaxInputLength { get; }

    /// <summary>Id used to fill padded positions.</summary>
    int PadId { get; }

    /// <summary>Id given to text the vocabulary cannot represent.</summary>
    int UnknownId { get; }

    /// <summary>Id placed first in every sequence (BERT's [CLS]), or -1 if the model uses none.</summary>
    int SequenceStartId { get; }

    /// <summary>Id placed last in every sequence (BERT's [SEP]), or -1 if the model uses none.</summary>
    int SequenceEndId { get; }

    /// <summary>
    /// Encodes one text into at most <paramref name="maxLength"/> ids, special tokens included.
    /// </summary>
    /// <param name="text">The text; must not be null (an empty text gives just the special tokens).</param>
    /// <param name="maxLength">Upper bound on the result's length, between the tokenizer's minimum and <see cref="MaxInputLength"/>.</param>
    /// <param name="truncated">True when the text had more tokens than fit and its tail was cut off.</param>
    /// <returns>A new array owned by the caller.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is out of range.</exception>
    int[] Encode(string text, int maxLength, out bool truncated);

    /// <summary>
    /// Encodes several texts into one packed batch (no padding); each sequence is at most <paramref name="maxLength"/> ids.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="texts"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="texts"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is out of range.</exception>
    TokenizedBatch EncodeBatch(IReadOnlyList<string> texts, int maxLength);
}
