using System.Text.Json;
using System.Text.Json.Serialization;

namespace RankEngine.Model;

/// <summary>Where each sub-layer's LayerNorm sits relative to its residual connection.</summary>
internal enum NormPlacement
{
    /// <summary>BERT: <c>x = LN(x + f(x))</c>.</summary>
    Post,
    /// <summary>USE-lite / GPT style: <c>x = x + f(LN(x))</c>, with a final LayerNorm after the last layer.</summary>
    Pre,
}

/// <summary>Element-wise activation applied after a linear layer.</summary>
internal enum Activation
{
    /// <summary>No activation (identity).</summary>
    None,
    /// <summary>GELU with the exact erf formulation, as BERT and PyTorch's default.</summary>
    Gelu,
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>Hyperbolic tangent (USE-lite head layers).</summary>
    Tanh,
}

/// <summary>How absolute positions enter the embedding.</summary>
internal enum PositionEncoding
{
    /// <summary>No positional signal.</summary>
    None,
    /// <summary>A trained table <c>embeddings.position.weight</c>.</summary>
    Learned,
    /// <summary>A fixed sinusoidal timing signal, stored by the converter as the table <c>embeddings.position.weight</c>.</summary>
    Sinusoidal,
}

/// <summary>How a sequence of hidden states becomes one vector.</summary>
internal enum Pooling
{
    /// <summary>The first token's hidden state ([CLS]).</summary>
    Cls,
    /// <summary>The mean over the sequence's tokens.</summary>
    Mean,
    /// <summary>The sum over the tokens divided by sqrt(length) (Universal Sentence Encoder).</summary>
    SqrtLengthSum,
}

/// <summary>Which tokenizer the model was trained with.</summary>
internal enum TokenizerKind
{
    /// <summary>BERT WordPiece; vocabulary stored in the model file.</summary>
    WordPiece,
    /// <summary>SentencePiece unigram; vocabulary stored in the model file.</summary>
    SentencePiece,
}

/// <summary>One dense layer applied after pooling (e.g. USE-lite's tanh projection).</summary>
internal sealed record HeadLayerConfig
{
    /// <summary>Output width of the layer.</summary>
    public int OutSize { get; init; }
    /// <summary>Activation after the affine map.</summary>
    public Activation Activation { get; init; } = Activation.None;
}

/// <summary>
/// Widths of one Transformer layer when they differ from the uniform <c>hiddenSize</c>/<c>numHeads</c> (USE-lite's
/// first layer maps 256 → 512). Pre-norm only.
/// </summary>
internal sealed record LayerShape
{
    /// <summary>Width of the layer's input (its attention LayerNorm and QKV input).</summary>
    public int InSize { get; init; }
    /// <summary>Width of q, k, v and the attention context (heads × head size).</summary>
    public int AttentionSize { get; init; }
    public int NumHeads { get; init; }
    /// <summary>Width of the layer's output (attention projection, FFN input and output).</summary>
    public int OutSize { get; init; }
    /// <summary>
    /// The attention residual is a dense projection of the layer input (<c>layers.N.attention.residual</c>,
    /// [out, in]) instead of the identity; required when <see cref="InSize"/> ≠ <see cref="OutSize"/>.
    /// </summary>
    public bool ResidualProjection { get; init; }

    public int HeadSize => AttentionSize / NumHeads;
}

/// <summary>Tokenizer settings carried by a model file.</summary>
internal sealed record TokenizerConfig
{
    /// <summary>The tokenizer family.</summary>
    public TokenizerKind Kind { get; init; } = TokenizerKind.WordPiece;
    /// <summary>Lower-case (and strip accents, for WordPiece) before tokenizing.</summary>
    public bool Lowercase { get; init; } = true;
    /// <summary>Name of the <c>u8</c> blob tensor that holds the vocabulary file (vocab.txt or vocab.json) verbatim.</summary>
    public string VocabTensor { get; init; } = "tokenizer.vocab";
    /// <summary>Maximum tokens per sequence, special tokens included; longer inputs are truncated.</summary>
    public int MaxLength { get; init; } = 512;
}

/// <summary>
/// Architecture of a Transformer encoder, stored as JSON in the weight file header.
/// One config-driven encoder covers BERT-style (post-norm, GELU, learned positions) and USE-lite-style
/// (pre-norm, ReLU, sinusoidal timing signal, tanh head) models.
/// </summary>
internal sealed record ModelConfig
{
    /// <summary>Free-form family name ("bert", "use-lite"); informational.</summary>
    public string Architecture { get; init; } = "bert";
    /// <summary>Rows of the word-embedding table (may exceed the tokenizer's vocabulary).</summary>
    public int VocabSize { get; init; }
    /// <summary>Width of the last layer's output: what pooling and the head read.</summary>
    public int HiddenSize { get; init; }
    /// <summary>Width of the embeddings (the first layer's input); null means <see cref="HiddenSize"/>.</summary>
    public int? EmbeddingSize { get; init; }
    /// <summary>Per-layer widths when layers differ; null means every layer is hiddenSize wide with numHeads heads.</summary>
    public IReadOnlyList<LayerShape>? LayerShapes { get; init; }
    public int NumLayers { get; init; }
    public int NumHeads { get; init; }
    public int IntermediateSize { get; init; }
    /// <summary>Rows of the position table (the longest sequence the model accepts).</summary>
    public int MaxPositions { get; init; }
    /// <summary>Rows of the token-type table; 0 when the model has none.</summary>
    public int TypeVocabSize { get; init; }
    public NormPlacement NormPlacement { get; init; } = NormPlacement.Post;
    public Activation Activation { get; init; } = Activation.Gelu;
    public PositionEncoding PositionEncoding { get; init; } = PositionEncoding.Learned;
    /// <summary>Factor applied to the word embedding before positions are added (e.g. sqrt(hidden)).</summary>
    public float EmbeddingScale { get; init; } = 1f;
    /// <summary>LayerNorm right after the embedding sum (BERT).</summary>
    public bool EmbeddingNorm { get; init; } = true;
    /// <summary>LayerNorm after the last layer (pre-norm models).</summary>
    public bool FinalNorm { get; init; }
    public float LayerNormEps { get; init; } = 1e-12f;
    /// <summary>Scale of the attention logits; null means 1/sqrt(head size).</summary>
    public float? AttentionScale { get; init; }
    public Pooling Pooling { get; init; } = Pooling.Cls;
    /// <summary>Dense layers after pooling, in order.</summary>
    public IReadOnlyList<HeadLayerConfig> HeadLayers { get; init; } = Array.Empty<HeadLayerConfig>();
    /// <summary>L2-normalise the output vector.</summary>
    public bool Normalize { get; init; } = true;
    public TokenizerConfig Tokenizer { get; init; } = new();

    /// <summary>Width of one attention head (uniform models).</summary>
    [JsonIgnore] public int HeadSize => HiddenSize / NumHeads;

    /// <summary>The embedding width actually used.</summary>
    [JsonIgnore] public int EffectiveEmbeddingSize => EmbeddingSize ?? HiddenSize;

    /// <summary>The widths of layer <paramref name="layer"/>.</summary>
    public LayerShape Layer(int layer) => LayerShapes?[layer] ?? new LayerShape
    {
        InSize = HiddenSize, AttentionSize = HiddenSize, NumHeads = NumHeads, OutSize = HiddenSize,
    };

    /// <summary>Attention logit scale of layer <paramref name="layer"/>: the configured one, else 1/sqrt(head size).</summary>
    public float AttentionScaleOf(int layer) => AttentionScale ?? 1f / MathF.Sqrt(Layer(layer).HeadSize);

    /// <summary>Width of the vector the encoder returns.</summary>
    [JsonIgnore] public int OutputSize => HeadLayers.Count > 0 ? HeadLayers[^1].OutSize : HiddenSize;


    /// <summary>Checks internal consistency; throws <see cref="InvalidModelException"/> naming the bad field.</summary>
    public void Validate()
    {
        Require(VocabSize > 0, "vocabSize must be positive");
        Require(HiddenSize > 0, "hiddenSize must be positive");
        Require(NumLayers > 0, "numLayers must be positive");
        Require(NumHeads > 0, "numHeads must be positive");
        Require(HiddenSize % NumHeads == 0, $"hiddenSize {HiddenSize} is not divisible by numHeads {NumHeads}");
        Require(IntermediateSize > 0, "intermediateSize must be positive");
        Require(PositionEncoding == PositionEncoding.None || MaxPositions > 0, "maxPositions must be positive when the model has position encoding");
        Require(TypeVocabSize >= 0, "typeVocabSize must not be negative");
        Require(float.IsFinite(EmbeddingScale), "embeddingScale must be finite");
        Require(LayerNormEps > 0 && float.IsFinite(LayerNormEps), "layerNormEps must be a positive finite number");
        Require(AttentionScale is null || float.IsFinite(AttentionScale.Value), "attentionScale must be finite");
        Require(Tokenizer.MaxLength >= 2, "tokenizer.maxLength must be at least 2");
        Require(PositionEncoding == PositionEncoding.None || Tokenizer.MaxLength <= MaxPositions,
            $"tokenizer.maxLength {Tokenizer.MaxLength} exceeds maxPositions {MaxPositions}");
        for (int i = 0; i < HeadLayers.Count; i++)
            Require(HeadLayers[i].OutSize > 0, $"headLayers[{i}].outSize must be positive");
        Require(EffectiveEmbeddingSize > 0, "embeddingSize must be positive");
        if (LayerShapes is null)
        {
            Require(EffectiveEmbeddingSize == HiddenSize, $"embeddingSize {EffectiveEmbeddingSize} differs from hiddenSize {HiddenSize}: give layerShapes");
            return;
        }
        Require(LayerShapes.Count == NumLayers, $"layerShapes has {LayerShapes.Count} entries for {NumLayers} layers");
        int width = EffectiveEmbeddingSize;
        for (int i = 0; i < LayerShapes.Count; i++)
        {
            var l = LayerShapes[i];
            Require(l.InSize == width, $"layerShapes[{i}].inSize {l.InSize} does not match the previous width {width}");
            Require(l.AttentionSize > 0 && l.NumHeads > 0 && l.AttentionSize % l.NumHeads == 0,
                $"layerShapes[{i}]: attentionSize {l.AttentionSize} must be a positive multiple of numHeads {l.NumHeads}");
            Require(l.OutSize > 0, $"layerShapes[{i}].outSize must be positive");
            Require(l.InSize == l.OutSize || l.ResidualProjection, $"layerShapes[{i}] changes width {l.InSize} → {l.OutSize} without a residual projection");
            Require(NormPlacement == NormPlacement.Pre || (l.InSize == l.OutSize && !l.ResidualProjection),
                $"layerShapes[{i}]: width changes and residual projections need pre-norm layers");
            width = l.OutSize;
        }
        Require(width == HiddenSize, $"the last layer's outSize {width} differs from hiddenSize {HiddenSize}");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new InvalidModelException("model config: " + message);
    }

    /// <summary>Serialises to the JSON stored in weight files.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ModelJsonContext.Default.ModelConfig);

    /// <summary>Parses a config; throws <see cref="InvalidModelException"/> on malformed JSON.</summary>
    public static ModelConfig FromJson(string json)
    {
        try
        {
            var config = JsonSerializer.Deserialize(json, ModelJsonContext.Default.ModelConfig)
                ?? throw new InvalidModelException("model config: empty JSON");
            return config;
        }
        catch (JsonException e)
        {
            throw new InvalidModelException("model config: malformed JSON: " + e.Message, e);
        }
    }
}

/// <summary>A model file or config that cannot be used; the message names the tensor or field and the problem.</summary>
public sealed class InvalidModelException : Exception
{
    /// <summary>Creates the exception with a message naming the tensor or field and the problem.</summary>
    public InvalidModelException(string message) : base(message) { }
    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public InvalidModelException(string message, Exception inner) : base(message, inner) { }
}
