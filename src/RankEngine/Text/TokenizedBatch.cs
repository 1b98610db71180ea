namespace RankEngine.Text;

/// <summary>
/// The token ids of N sequences, packed end to end without padding (what a padding-free encoder wants), with
/// per-sequence offsets and truncation facts. <see cref="ToPadded()"/> and <see cref="CopyPadded"/> give the
/// classic [N, length] view with an attention mask for consumers that need rectangles.
/// </summary>
/// <remarks>Immutable; the arrays passed to the constructor are owned by the batch afterwards.</remarks>
internal sealed class TokenizedBatch
{
    private readonly int[] _tokenIds;
    private readonly int[] _offsets;
    private readonly int[] _originalLengths;
    private readonly int[]? _tokenTypeIds;

    /// <summary>Creates a batch from packed ids.</summary>
    /// <param name="tokenIds">All sequences' ids, concatenated; its length must equal the last offset.</param>
    /// <param name="offsets">N + 1 non-decreasing starts: sequence i is <c>tokenIds[offsets[i]..offsets[i + 1]]</c>; <c>offsets[0]</c> is 0.</param>
    /// <param name="originalLengths">Per sequence, the token count before truncation (≥ its packed length).</param>
    /// <param name="padId">The id written into padded positions by the padded views.</param>
    /// <param name="tokenTypeIds">Segment ids parallel to <paramref name="tokenIds"/>, or null when every token is segment 0.</param>
    /// <exception cref="ArgumentNullException">An array argument is null.</exception>
    /// <exception cref="ArgumentException">The arrays are inconsistent with each other.</exception>
    public TokenizedBatch(int[] tokenIds, int[] offsets, int[] originalLengths, int padId, int[]? tokenTypeIds = null)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(originalLengths);
        if (offsets.Length < 2)
        {
            throw new ArgumentException("A batch needs at least one sequence: offsets must have N + 1 ≥ 2 entries.", nameof(offsets));
        }

        if (offsets[0] != 0 || offsets[^1] != tokenIds.Length)
        {
            throw new ArgumentException(
                $"offsets must start at 0 and end at tokenIds.Length ({tokenIds.Length}); got {offsets[0]}..{offsets[^1]}.", nameof(offsets));
        }

        if (originalLengths.Length != offsets.Length - 1)
        {
            throw new ArgumentException(
                $"originalLengths has {originalLengths.Length} entries for {offsets.Length - 1} sequences.", nameof(originalLengths));
        }

        if (tokenTypeIds is not null && tokenTypeIds.Length != tokenIds.Length)
        {
            throw new ArgumentException(
                $"tokenTypeIds has {tokenTypeIds.Length} entries for {tokenIds.Length} tokens.", nameof(tokenTypeIds));
        }

        int longest = 0;
        for (int i = 0; i < originalLengths.Length; i++)
        {
            int length = offsets[i + 1] - offsets[i];
            if (length < 0)
            {
                throw new ArgumentException($"offsets decrease at sequence {i}.", nameof(offsets));
            }

            if (originalLengths[i] < length)
            {
                throw new ArgumentException(
                    $"Sequence {i} has {length} tokens but an original length of {originalLengths[i]}.", nameof(originalLengths));
            }

            longest = Math.Max(longest, length);
        }

        _tokenIds = tokenIds;
        _offsets = offsets;
        _originalLengths = originalLengths;
        _tokenTypeIds = tokenTypeIds;
        PadId = padId;
        MaxSequenceLength = longest;
    }

    /// <summary>Number of sequences (N).</summary>
    public int Count => _originalLengths.Length;

    /// <summary>Total number of tokens over all sequences (the packed length).</summary>
    public int TotalTokens => _tokenIds.Length;

    /// <summary>Length of the longest sequence: the natural width of the padded view.</summary>
    public int MaxSequenceLength { get; }

    /// <summary>The id the padded views write into padded positions.</summary>
    public int PadId { get; }

    /// <summary>All ids, sequence after sequence, no padding.</summary>
    public ReadOnlySpan<int> TokenIds => _tokenIds;

    /// <summary>N + 1 offsets into <see cref="TokenIds"/>: sequence i spans <c>[Offsets[i], Offsets[i + 1])</c>.</summary>
    public ReadOnlySpan<int> Offsets => _offsets;

    /// <summary>True when segment ids were given; otherwise every token is segment 0.</summary>
    public bool HasTokenTypeIds => _tokenTypeIds is not null;

    /// <summary>Segment ids parallel to <see cref="TokenIds"/>; empty when <see cref="HasTokenTypeIds"/> is false.</summary>
    public ReadOnlySpan<int> TokenTypeIds => _tokenTypeIds;

    /// <summary>The ids of sequence <paramref name="index"/>.</summary>
    public ReadOnlySpan<int> GetSequence(int index)
    {
        CheckIndex(index);
        return _tokenIds.AsSpan(_offsets[index], _offsets[index + 1] - _offsets[index]);
    }

    /// <summary>The number of ids in sequence <paramref name="index"/> (after truncation).</summary>
    public int GetLength(int index)
    {
        CheckIndex(index);
        return _offsets[index + 1] - _offsets[index];
    }

    /// <summary>The number of tokens sequence <paramref name="index"/> had before truncation.</summary>
    public int GetOriginalLength(int index)
    {
        CheckIndex(index);
        return _originalLengths[index];
    }

    /// <summary>True when sequence <paramref name="index"/> lost tokens to truncation.</summary>
    public bool IsTruncated(int index) => GetOriginalLength(index) > GetLength(index);

    /// <summary>
    /// Writes the row-major [N, <paramref name="paddedLength"/>] view: ids padded with <see cref="PadId"/>, and an
    /// attention mask of 1 for real tokens and 0 for padding. Lets a caller reuse pooled buffers.
    /// </summary>
    /// <param name="paddedLength">Row width; at least <see cref="MaxSequenceLength"/>.</param>
    /// <param name="inputIds">Destination of N × paddedLength ids.</param>
    /// <param name="attentionMask">Destination of N × paddedLength mask values.</param>
    /// <param name="tokenTypeIds">Optional destination of N × paddedLength segment ids (0 in padding); pass an empty span to skip.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="paddedLength"/> is shorter than the longest sequence.</exception>
    /// <exception cref="ArgumentException">A destination is too small.</exception>
    public void CopyPadded(int paddedLength, Span<int> inputIds, Span<int> attentionMask, Span<int> tokenTypeIds = default)
    {
        if (paddedLength < MaxSequenceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(paddedLength), paddedLength,
                $"The padded length must be at least the longest sequence ({MaxSequenceLength}).");
        }

        int cells = checked(Count * paddedLength);
        if (inputIds.Length < cells || attentionMask.Length < cells || (!tokenTypeIds.IsEmpty && tokenTypeIds.Length < cells))
        {
            throw new ArgumentException($"Each destination needs {cells} elements ({Count} × {paddedLength}).");
        }

        for (int row = 0; row < Count; row++)
        {
            int start = _offsets[row];
            int length = _offsets[row + 1] - start;
            Span<int> idsRow = inputIds.Slice(row * paddedLength, paddedLength);
            Span<int> maskRow = attentionMask.Slice(row * paddedLength, paddedLength);

            _tokenIds.AsSpan(start, length).CopyTo(idsRow);
            idsRow[length..].Fill(PadId);
            maskRow[..length].Fill(1);
            maskRow[length..].Clear();

            if (!tokenTypeIds.IsEmpty)
            {
                Span<int> typesRow = tokenTypeIds.Slice(row * paddedLength, paddedLength);
                if (_tokenTypeIds is null)
                {
                    typesRow.Clear();
                }
                else
                {
                    _tokenTypeIds.AsSpan(start, length).CopyTo(typesRow);
                    typesRow[length..].Clear();
                }
            }
        }
    }

    /// <summary>The padded view at the natural width (<see cref="MaxSequenceLength"/>), in new arrays.</summary>
    public PaddedBatch ToPadded() => ToPadded(MaxSequenceLength);

    /// <summary>The padded view at width <paramref name="paddedLength"/> (≥ <see cref="MaxSequenceLength"/>), in new arrays.</summary>
    public PaddedBatch ToPadded(int paddedLength)
    {
        if (paddedLength < MaxSequenceLength)
        {
            throw new ArgumentOutOfRangeException(nameof(paddedLength), paddedLength,
                $"The padded length must be at least the longest sequence ({MaxSequenceLength}).");
        }

        int cells = checked(Count * paddedLength);
        var ids = new int[cells];
        var mask = new int[cells];
        var types = new int[cells];
        CopyPadded(paddedLength, ids, mask, types);
        return new PaddedBatch(Count, paddedLength, ids, mask, types);
    }

    private void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The batch has {Count} sequences.");
        }
    }
}

/// <summary>A rectangular [Rows, Columns] view of a <see cref="TokenizedBatch"/>, row-major.</summary>
/// <param name="Rows">Number of sequences.</param>
/// <param name="Columns">Padded sequence length.</param>
/// <param name="InputIds">Ids, padded with the batch's pad id.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
/// <param name="TokenTypeIds">Segment ids (0 for single-segment input and for padding).</param>
internal sealed record PaddedBatch(int Rows, int Columns, int[] InputIds, int[] AttentionMask, int[] TokenTypeIds);
