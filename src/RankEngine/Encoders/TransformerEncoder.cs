using RankEngine.Compute;
using RankEngine.Model;

namespace RankEngine.Encoders;

/// <summary>
/// Token ids of several sequences packed back to back (no padding): sequence <c>s</c> is
/// <c>TokenIds[SequenceStarts[s] .. SequenceStarts[s+1]]</c>. Token-type ids are optional (all 0 when empty).
/// </summary>
internal readonly record struct EncoderInput(ReadOnlyMemory<int> TokenIds, ReadOnlyMemory<int> SequenceStarts, ReadOnlyMemory<int> TokenTypeIds = default)
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
internal sealed class EncoderOutput
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
internal sealed class TransformerEncoder : IDisposable
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
            if (len < 0 || (len == 0 && Config.Pooling == Pooling.Cls))
                throw new ArgumentException($"sequence {s} is empty (with CLS pooling every sequence needs at least one token)");
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

        // Chunk-local layout over the non-empty sequences, and positions (0-based within each sequence).
        var nonEmpty = new List<int>(seqs);
        var starts = new List<int>(seqs + 1) { 0 };
        var positions = new int[tokens];
        for (int s = 0; s < seqs; s++)
        {
            int a = allStarts[first + s] - tokenStart, b = allStarts[first + s + 1] - tokenStart;
            if (b == a) continue;
            nonEmpty.Add(s);
            starts.Add(b);
            for (int t = a; t < b; t++) positions[t] = t - a;
        }
        var act = EnsureActivations(Math.Max(tokens, 1), seqs);
        var pooled = act.Get("pooled", seqs, c.HiddenSize);
        if (tokens > 0)
        {
            var layout = new SequenceLayout(starts.ToArray());
            var ids = input.TokenIds.Span.Slice(tokenStart, tokens);
            ReadOnlySpan<int> types = input.TokenTypeIds.IsEmpty ? new int[tokens] : input.TokenTypeIds.Span.Slice(tokenStart, tokens);
            var hidden = RunLayers(act, ids, positions, types, layout, tokens);
            if (!hiddenOut.IsEmpty) _backend.Download(hidden, hiddenOut);
            if (nonEmpty.Count == seqs)
            {
                _backend.Pool(hidden, layout, c.Pooling, pooled);
            }
            else
            {
                // Empty sequences pool to zero (mean over no tokens, as USE's max(len, 1) clamp gives): pool the
                // non-empty ones, then scatter them into their rows.
                var dense = act.Get("pooled-dense", seqs, c.HiddenSize);
                _backend.Pool(hidden, layout, c.Pooling, dense);
                var host = new float[nonEmpty.Count * c.HiddenSize];
                _backend.Download(dense, host);
                var scattered = new float[seqs * c.HiddenSize];
                for (int j = 0; j < nonEmpty.Count; j++)
                    host.AsSpan(j * c.HiddenSize, c.HiddenSize).CopyTo(scattered.AsSpan(nonEmpty[j] * c.HiddenSize));
                _backend.Upload(scattered, pooled);
            }
        }
        else
        {
            _backend.Upload(new float[seqs * c.HiddenSize], pooled);
        }

        var w = _weights;
        var current = pooled;
        for (int j = 0; j < w.Heads.Length; j++)
        {
            var next = act.Get("head" + j, seqs, c.HeadLayers[j].OutSize);
            _backend.Linear(current, w.Heads[j].Weight, w.Heads[j].Bias, c.HeadLayers[j].Activation, next, null, seqs);
            current = next;
        }
        if (c.Normalize) _backend.L2Normalize(current, seqs);
        _backend.Download(current, vectorsOut);
    }

    /// <summary>Embeddings and every layer; returns the tensor holding the last hidden states.</summary>
    private IDeviceTensor RunLayers(Activations act, ReadOnlySpan<int> ids, ReadOnlySpan<int> positions, ReadOnlySpan<int> types,
        SequenceLayout layout, int tokens)
    {
        var c = Config;
        var w = _weights;
        int width = c.EffectiveEmbeddingSize;
        var hidden = act.Get("hidden", tokens, width);
        _backend.Embed(ids, positions, types, w.Word, w.Position, w.TokenType, c.EmbeddingScale, hidden);
        if (w.EmbeddingNorm is { } en) _backend.LayerNorm(hidden, en.Gamma, en.Beta, c.LayerNormEps, hidden, tokens);

        for (int i = 0; i < w.Layers.Length; i++)
        {
            var layer = w.Layers[i];
            var shape = layer.Shape;
            float scale = c.AttentionScaleOf(i);
            var qkv = act.Get("qkv", tokens, 3 * shape.AttentionSize);
            var context = act.Get("context", tokens, shape.AttentionSize);
            var ffn = act.Get("ffn", tokens, c.IntermediateSize);
            if (c.NormPlacement == NormPlacement.Post)
            {
                // BERT: h = LN(h + Attn(h)); h = LN(h + FFN(h))
                var scratch = act.Get("scratch", tokens, shape.OutSize);
                _backend.Linear(hidden, layer.Qkv.Weight, layer.Qkv.Bias, Activation.None, qkv, null, tokens);
                _backend.Attention(qkv, layout, shape.NumHeads, scale, context);
                _backend.Linear(context, layer.AttentionOutput.Weight, layer.AttentionOutput.Bias, Activation.None, scratch, hidden, tokens);
                _backend.LayerNorm(scratch, layer.AttentionNorm.Gamma, layer.AttentionNorm.Beta, c.LayerNormEps, hidden, tokens);
                _backend.Linear(hidden, layer.FfnIntermediate.Weight, layer.FfnIntermediate.Bias, c.Activation, ffn, null, tokens);
                _backend.Linear(ffn, layer.FfnOutput.Weight, layer.FfnOutput.Bias, Activation.None, scratch, hidden, tokens);
                _backend.LayerNorm(scratch, layer.FfnNorm.Gamma, layer.FfnNorm.Beta, c.LayerNormEps, hidden, tokens);
            }
            else
            {
                // Pre-norm: h = R(h) + Attn(LN(h)), R the identity or a projection; h = h + FFN(LN(h))
                var normed = act.Get("normed-in", tokens, shape.InSize);
                _backend.LayerNorm(hidden, layer.AttentionNorm.Gamma, layer.AttentionNorm.Beta, c.LayerNormEps, normed, tokens);
                _backend.Linear(normed, layer.Qkv.Weight, layer.Qkv.Bias, Activation.None, qkv, null, tokens);
                _backend.Attention(qkv, layout, shape.NumHeads, scale, context);
                if (layer.AttentionResidual is { } projection)
                {
                    // The output has another width: a fresh buffer receives the projected residual, then the attention.
                    var next = act.Get(hidden == act.Get("hidden", tokens, width) ? "hidden-b" : "hidden", tokens, shape.OutSize);
                    _backend.Linear(hidden, projection.Weight, projection.Bias, Activation.None, next, null, tokens);
                    hidden = next;
                    width = shape.OutSize;
                }
                _backend.Linear(context, layer.AttentionOutput.Weight, layer.AttentionOutput.Bias, Activation.None, hidden, hidden, tokens);
                var normedOut = act.Get("normed-out", tokens, shape.OutSize);
                _backend.LayerNorm(hidden, layer.FfnNorm.Gamma, layer.FfnNorm.Beta, c.LayerNormEps, normedOut, tokens);
                _backend.Linear(normedOut, layer.FfnIntermediate.Weight, layer.FfnIntermediate.Bias, c.Activation, ffn, null, tokens);
                _backend.Linear(ffn, layer.FfnOutput.Weight, layer.FfnOutput.Bias, Activation.None, hidden, hidden, tokens);
            }
        }
        if (w.FinalNorm is { } fn) _backend.LayerNorm(hidden, fn.Gamma, fn.Beta, c.LayerNormEps, hidden, tokens);
        return hidden;
    }

    private Activations EnsureActivations(int tokens, int sequences)
    {
        if (_act is { } a && a.TokenCapacity >= tokens && a.SequenceCapacity >= sequences) return a;
        _act?.Dispose();
        // Round up so a slowly growing workload does not reallocate on every call.
        int tokenCap = Math.Max(tokens, Math.Min(TokenBudget, 256));
        int seqCap = Math.Max(sequences, 64);
        _act = new Activations(_backend, tokenCap, seqCap);
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

    /// <summary>
    /// Reusable activation buffers, one per (role, width), with room for <see cref="TokenCapacity"/> tokens or
    /// <see cref="SequenceCapacity"/> sequences; created on first use and kept until the capacity must grow.
    /// </summary>
    private sealed class Activations : IDisposable
    {
        private readonly IComputeBackend _backend;
        private readonly Dictionary<(string, int), IDeviceTensor> _tensors = new();

        public int TokenCapacity { get; }
        public int SequenceCapacity { get; }

        public Activations(IComputeBackend backend, int tokens, int sequences)
        {
            _backend = backend;
            TokenCapacity = tokens;
            SequenceCapacity = sequences;
        }

        /// <summary>The buffer for <paramref name="role"/> at <paramref name="width"/> columns; <paramref name="rows"/> only picks token vs sequence capacity.</summary>
        public IDeviceTensor Get(string role, int rows, int width)
        {
            if (!_tensors.TryGetValue((role, width), out var t))
            {
                int capacity = role.StartsWith("pooled", StringComparison.Ordinal) || role.StartsWith("head", StringComparison.Ordinal) ? SequenceCapacity : TokenCapacity;
                if (rows > capacity) throw new InvalidOperationException($"{rows} rows exceed the {role} buffer's capacity {capacity}");
                t = _backend.Allocate(capacity, width);
                _tensors[(role, width)] = t;
            }
            return t;
        }

        public void Dispose()
        {
            foreach (var t in _tensors.Values) t.Dispose();
            _tensors.Clear();
        }
    }
}
