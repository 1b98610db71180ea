using RankEngine.Compute;
using RankEngine.Model;

namespace RankEngine.Encoders;

/// <summary>
/// Token ids of several sequences packed back to back (no padding): sequence <c>s</c> is
/// <c>TokenIds[SequenceStarts[s] .. SequenceStarts[s+1]]</c>. Token-type ids are optional (all 0 when empty).
/// </summary>
public readonly record struct EncoderInput(ReadOnlyMemory<int> TokenIds, ReadOnlyMemory<int> SequenceStarts, ReadOnlyMemory<int> TokenTypeIds = default)
{
    /// <summary>Packs separate token-id arrays.</summary>
    public static EncoderInput Pack(IReadOnlyList<int[]> sequences)
    {
        var starts = new int[sequences.Count + 1];
        for (int i = 0; i < sequences.Count; i++) starts[i + 1] = starts[i] + sequences[i].Length;
        var ids = new int[starts[^1]];
        for (int i = 0; i < sequences.Count; i++) sequences[i].CopyTo(ids, starts[i]);
        return new EncoderInput(ids, starts);
    }

    public int SequenceCount => Math.Max(0, SequenceStarts.Length - 1);
}

/// <summary>What the encoder returns for a batch.</summary>
public sealed class EncoderOutput
{
    /// <summary>One vector per sequence, row-major [sequences × <see cref="VectorSize"/>].</summary>
    public required float[] Vectors { get; init; }
    public required int VectorSize { get; init; }
    /// <summary>Last-layer hidden state of every token, packed like the input [tokens × hidden]; null unless requested.</summary>
    public float[]? HiddenStates { get; init; }
    public int HiddenSize { get; init; }

    /// <summary>The vector of sequence <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Vector(int index) => Vectors.AsSpan(index * VectorSize, VectorSize);
}

/// <summary>
/// The config-driven Transformer encoder: embeddings, N post- or pre-norm layers, pooling, optional dense head,
/// optional L2 normalisation. Sequences are packed (no compute on padding) and processed in chunks of at most
/// <see cref="TokenBudget"/> tokens so activation memory stays bounded. Not thread-safe: one caller at a time
/// (calls are serialised by a lock).
/// </summary>
public sealed class TransformerEncoder : IDisposable
{
    private readonly IComputeBackend _backend;
    private readonly EncoderWeights _weights;
    private readonly object _gate = new();
    private Activations? _act;

    public ModelConfig Config { get; }
    public IComputeBackend Backend => _backend;
    /// <summary>Most tokens processed in one pass; longer batches are split between sequences.</summary>
    public int TokenBudget { get; }

    /// <param name="file">An open weight file; it may be disposed after construction (weights are copied to the backend).</param>
    /// <param name="backend">Where the ops run; not owned.</param>
    /// <param name="tokenBudget">Most tokens per pass (at least the model's maximum sequence length).</param>
    public TransformerEncoder(WeightFile file, IComputeBackend backend, int tokenBudget = 8192)
    {
        Config = file.Config;
        int maxSeq = Config.Tokenizer.MaxLength;
        if (tokenBudget < maxSeq)
            throw new ArgumentOutOfRangeException(nameof(tokenBudget), $"token budget {tokenBudget} is below the model's maximum sequence length {maxSeq}");
        TokenBudget = tokenBudget;
        _backend = backend;
        _weights = new EncoderWeights(file, backend);
    }

    /// <summary>Encodes a batch of token sequences.</summary>
    /// <exception cref="ArgumentException">Empty batch, empty sequence, sequence too long, or a token id out of range.</exception>
    public EncoderOutput Encode(EncoderInput input, bool returnHiddenStates = false)
    {
        Validate(input);
        int n = input.SequenceCount, outSize = Config.OutputSize, hidden = Config.HiddenSize;
        var starts = input.SequenceStarts.Span;
        var vectors = new float[n * outSize];
        float[]? hiddenStates = returnHiddenStates ? new float[(long)starts[n] * hidden] : null;
        lock (_gate)
        {
            int first = 0;
            while (first < n)
            {
                // Greedy chunk: as many whole sequences as fit in the token budget.
                int last = first + 1;
                while (last < n && starts[last + 1] - starts[first] <= TokenBudget) last++;
                var hiddenChunk = hiddenStates is null ? Span<float>.Empty
                    : hiddenStates.AsSpan(starts[first] * hidden, (starts[last] - starts[first]) * hidden);
                RunChunk(input, first, last, vectors.AsSpan(first * outSize, (last - first) * outSize), hiddenChunk);
                first = last;
            }
        }
        return new EncoderOutput { Vectors = vectors, VectorSize = outSize, HiddenStates = hiddenStates, HiddenSize = hidden };
    }

    private void Validate(EncoderInput input)
    {
        int n = input.SequenceCount;
        if (n == 0) throw new ArgumentException("the batch is empty: give at least one sequence");
        var starts = input.SequenceStarts.Span;
        var ids = input.TokenIds.Span;
        var types = input.TokenTypeIds.Span;
        if (starts[0] != 0 || starts[n] != ids.Length)
            throw new ArgumentException($"sequence starts must run from 0 to the token count {ids.Length}");
        if (!types.IsEmpty && types.Length != ids.Length)
            throw new ArgumentException($"{types.Length} token-type ids for {ids.Length} tokens");
        int maxLen = Config.Tokenizer.MaxLength;
        for (int s = 0; s < n; s++)
        {
            int len = starts[s + 1] - starts[s];
            if (len <= 0) throw new ArgumentException($"sequence {s} is empty (every sequence needs at least one token)");
            if (len > maxLen) throw new ArgumentException($"sequence {s} has {len} tokens; the model accepts at most {maxLen} (truncate first)");
        }
        for (int t = 0; t < ids.Length; t++)
            if ((uint)ids[t] >= (uint)Config.VocabSize)
                throw new ArgumentException($"token id {ids[t]} at position {t} is outside the vocabulary (size {Config.VocabSize})");
        for (int t = 0; t < types.Length; t++)
            if ((uint)types[t] >= (uint)Math.Max(1, Config.TypeVocabSize))
                throw new ArgumentException($"token type {types[t]} at position {t} is outside the type vocabulary (size {Config.TypeVocabSize})");
    }

    private void RunChunk(EncoderInput input, int first, int last, Span<float> vectorsOut, Span<float> hiddenOut)
    {
        var c = Config;
        var allStarts = input.SequenceStarts.Span;
        int tokenStart = allStarts[first], tokens = allStarts[last] - tokenStart, seqs = last - first;
        var act = EnsureActivations(tokens, seqs);

        // Chunk-local layout and positions (0-based within each sequence).
        var starts = new int[seqs + 1];
        var positions = new int[tokens];
        for (int s = 0; s < seqs; s++)
        {
            starts[s + 1] = allStarts[first + s + 1] - tokenStart;
            for (int t = starts[s]; t < starts[s + 1]; t++) positions[t] = t - starts[s];
        }
        var layout = new SequenceLayout(starts);
        var ids = input.TokenIds.Span.Slice(tokenStart, tokens);
        ReadOnlySpan<int> types = input.TokenTypeIds.IsEmpty ? new int[tokens] : input.TokenTypeIds.Span.Slice(tokenStart, tokens);

        var w = _weights;
        _backend.Embed(ids, positions, types, w.Word, w.Position, w.TokenType, c.EmbeddingScale, act.Hidden);
        if (w.EmbeddingNorm is { } en) _backend.LayerNorm(act.Hidden, en.Gamma, en.Beta, c.LayerNormEps, act.Hidden, tokens);

        float scale = c.EffectiveAttentionScale;
        foreach (var layer in w.Layers)
        {
            if (c.NormPlacement == NormPlacement.Post)
            {
                // BERT: h = LN(h + Attn(h)); h = LN(h + FFN(h))
                _backend.Linear(act.Hidden, layer.Qkv.Weight, layer.Qkv.Bias, Activation.None, act.Qkv, null, tokens);
                _backend.Attention(act.Qkv, layout, c.NumHeads, scale, act.Context);
                _backend.Linear(act.Context, layer.AttentionOutput.Weight, layer.AttentionOutput.Bias, Activation.None, act.Scratch, act.Hidden, tokens);
                _backend.LayerNorm(act.Scratch, layer.AttentionNorm.Gamma, layer.AttentionNorm.Beta, c.LayerNormEps, act.Hidden, tokens);
                _backend.Linear(act.Hidden, layer.FfnIntermediate.Weight, layer.FfnIntermediate.Bias, c.Activation, act.Ffn, null, tokens);
                _backend.Linear(act.Ffn, layer.FfnOutput.Weight, layer.FfnOutput.Bias, Activation.None, act.Scratch, act.Hidden, tokens);
                _backend.LayerNorm(act.Scratch, layer.FfnNorm.Gamma, layer.FfnNorm.Beta, c.LayerNormEps, act.Hidden, tokens);
            }
            else
            {
                // Pre-norm: h = h + Attn(LN(h)); h = h + FFN(LN(h))
                _backend.LayerNorm(act.Hidden, layer.AttentionNorm.Gamma, layer.AttentionNorm.Beta, c.LayerNormEps, act.Scratch, tokens);
                _backend.Linear(act.Scratch, layer.Qkv.Weight, layer.Qkv.Bias, Activation.None, act.Qkv, null, tokens);
                _backend.Attention(act.Qkv, layout, c.NumHeads, scale, act.Context);
                _backend.Linear(act.Context, layer.AttentionOutput.Weight, layer.AttentionOutput.Bias, Activation.None, act.Hidden, act.Hidden, tokens);
                _backend.LayerNorm(act.Hidden, layer.FfnNorm.Gamma, layer.FfnNorm.Beta, c.LayerNormEps, act.Scratch, tokens);
                _backend.Linear(act.Scratch, layer.FfnIntermediate.Weight, layer.FfnIntermediate.Bias, c.Activation, act.Ffn, null, tokens);
                _backend.Linear(act.Ffn, layer.FfnOutput.Weight, layer.FfnOutput.Bias, Activation.None, act.Hidden, act.Hidden, tokens);
            }
        }
        if (w.FinalNorm is { } fn) _backend.LayerNorm(act.Hidden, fn.Gamma, fn.Beta, c.LayerNormEps, act.Hidden, tokens);

        if (!hiddenOut.IsEmpty) _backend.Download(act.Hidden, hiddenOut);

        _backend.Pool(act.Hidden, layout, c.Pooling, act.Pooled);
        var current = act.Pooled;
        for (int j = 0; j < w.Heads.Length; j++)
        {
            var next = act.HeadOutputs[j];
            _backend.Linear(current, w.Heads[j].Weight, w.Heads[j].Bias, c.HeadLayers[j].Activation, next, null, seqs);
            current = next;
        }
        if (c.Normalize) _backend.L2Normalize(current, seqs);
        _backend.Download(current, vectorsOut);
    }

    private Activations EnsureActivations(int tokens, int sequences)
    {
        if (_act is { } a && a.TokenCapacity >= tokens && a.SequenceCapacity >= sequences) return a;
        _act?.Dispose();
        // Round up so a slowly growing workload does not reallocate on every call.
        int tokenCap = Math.Min(TokenBudget, Math.Max(tokens, 256));
        tokenCap = Math.Max(tokenCap, tokens);
        int seqCap = Math.Max(sequences, Math.Min(tokenCap, 64));
        _act = new Activations(_backend, Config, tokenCap, seqCap);
        return _act;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _act?.Dispose();
            _act = null;
            _weights.Dispose();
        }
    }

    /// <summary>Reusable activation buffers for up to <see cref="TokenCapacity"/> tokens.</summary>
    private sealed class Activations : IDisposable
    {
        public int TokenCapacity { get; }
        public int SequenceCapacity { get; }
        public IDeviceTensor Hidden, Qkv, Context, Scratch, Ffn, Pooled;
        public IDeviceTensor[] HeadOutputs;

        public Activations(IComputeBackend b, ModelConfig c, int tokens, int sequences)
        {
            TokenCapacity = tokens;
            SequenceCapacity = sequences;
            Hidden = b.Allocate(tokens, c.HiddenSize);
            Qkv = b.Allocate(tokens, 3 * c.HiddenSize);
            Context = b.Allocate(tokens, c.HiddenSize);
            Scratch = b.Allocate(tokens, c.HiddenSize);
            Ffn = b.Allocate(tokens, c.IntermediateSize);
            Pooled = b.Allocate(sequences, c.HiddenSize);
            HeadOutputs = new IDeviceTensor[c.HeadLayers.Count];
            for (int j = 0; j < HeadOutputs.Length; j++) HeadOutputs[j] = b.Allocate(sequences, c.HeadLayers[j].OutSize);
        }

        public void Dispose()
        {
            Hidden.Dispose(); Qkv.Dispose(); Context.Dispose(); Scratch.Dispose(); Ffn.Dispose(); Pooled.Dispose();
            foreach (var h in HeadOutputs) h.Dispose();
        }
    }
}
