using RankEngine.Compute;
using RankEngine.Model;

namespace RankEngine.Encoders;

/// <summary>
/// The canonical tensor names of an encoder in a weight file. Converters write these names; the encoder reads them.
/// Matrices use the PyTorch layout [out, in].
/// </summary>
internal static class TensorNames
{
    public const string WordEmbedding = "embeddings.word.weight";
    public const string PositionEmbedding = "embeddings.position.weight";
    public const string TokenTypeEmbedding = "embeddings.token_type.weight";
    public const string EmbeddingNorm = "embeddings.norm";
    public const string FinalNorm = "final_norm";

    public static string Layer(int layer, string part) => $"layers.{layer}.{part}";
    public const string Qkv = "attention.qkv";
    public const string AttentionOutput = "attention.output";
    public const string AttentionNorm = "attention.norm";
    /// <summary>Dense projection of a layer's input used as its attention residual (layers that change width).</summary>
    public const string AttentionResidual = "attention.residual";
    public const string FfnIntermediate = "ffn.intermediate";
    public const string FfnOutput = "ffn.output";
    public const string FfnNorm = "ffn.norm";
    public static string Head(int index) => $"head.{index}";
}

/// <summary>Weights of one dense layer on a backend.</summary>
internal sealed record DenseWeights(IDeviceWeight Weight, IDeviceWeight? Bias);

/// <summary>LayerNorm gain and shift on a backend.</summary>
internal sealed record NormWeights(IDeviceWeight Gamma, IDeviceWeight Beta);

/// <summary>One Transformer layer's weights on a backend.</summary>
internal sealed record LayerWeights(LayerShape Shape, DenseWeights Qkv, DenseWeights AttentionOutput, NormWeights AttentionNorm,
    DenseWeights? AttentionResidual, DenseWeights FfnIntermediate, DenseWeights FfnOutput, NormWeights FfnNorm);

/// <summary>
/// All encoder weights, checked against the config (every shape is validated and a mismatch names the tensor) and
/// uploaded to a backend.
/// </summary>
internal sealed class EncoderWeights : IDisposable
{
    private readonly List<IDeviceWeight> _owned = new(); // every uploaded weight, disposed together

    public IDeviceWeight Word { get; }
    public IDeviceWeight? Position { get; }
    public IDeviceWeight? TokenType { get; }
    public NormWeights? EmbeddingNorm { get; }
    public LayerWeights[] Layers { get; }
    public NormWeights? FinalNorm { get; }
    public DenseWeights[] Heads { get; }

    public EncoderWeights(WeightFile file, IComputeBackend backend)
    {
        var c = file.Config;
        int h = c.HiddenSize, f = c.IntermediateSize, e = c.EffectiveEmbeddingSize;
        try
        {
            Word = Own(backend.UploadWeight(file.Get(TensorNames.WordEmbedding, c.VocabSize, e), WeightRole.Table));
            if (c.PositionEncoding != PositionEncoding.None)
                Position = Own(backend.UploadWeight(file.Get(TensorNames.PositionEmbedding, c.MaxPositions, e), WeightRole.Table));
            if (c.TypeVocabSize > 0)
                TokenType = Own(backend.UploadWeight(file.Get(TensorNames.TokenTypeEmbedding, c.TypeVocabSize, e), WeightRole.Table));
            if (c.EmbeddingNorm) EmbeddingNorm = Norm(file, backend, TensorNames.EmbeddingNorm, e);

            Layers = new LayerWeights[c.NumLayers];
            for (int i = 0; i < c.NumLayers; i++)
            {
                var s = c.Layer(i);
                // Post-norm normalises after the residual add (output width); pre-norm before the sublayer (input width).
                int attentionNormWidth = c.NormPlacement == NormPlacement.Post ? s.OutSize : s.InSize;
                Layers[i] = new LayerWeights(s,
                    Dense(file, backend, TensorNames.Layer(i, TensorNames.Qkv), 3 * s.AttentionSize, s.InSize),
                    Dense(file, backend, TensorNames.Layer(i, TensorNames.AttentionOutput), s.OutSize, s.AttentionSize),
                    Norm(file, backend, TensorNames.Layer(i, TensorNames.AttentionNorm), attentionNormWidth),
                    s.ResidualProjection ? Dense(file, backend, TensorNames.Layer(i, TensorNames.AttentionResidual), s.OutSize, s.InSize) : null,
                    Dense(file, backend, TensorNames.Layer(i, TensorNames.FfnIntermediate), f, s.OutSize),
                    Dense(file, backend, TensorNames.Layer(i, TensorNames.FfnOutput), s.OutSize, f),
                    Norm(file, backend, TensorNames.Layer(i, TensorNames.FfnNorm), s.OutSize));
            }
            if (c.FinalNorm) FinalNorm = Norm(file, backend, TensorNames.FinalNorm, h);

            Heads = new DenseWeights[c.HeadLayers.Count];
            int inSize = h;
            for (int j = 0; j < Heads.Length; j++)
            {
                Heads[j] = Dense(file, backend, TensorNames.Head(j), c.HeadLayers[j].OutSize, inSize);
                inSize = c.HeadLayers[j].OutSize;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private IDeviceWeight Own(IDeviceWeight item)
    {
        _owned.Add(item);
        return item;
    }

    private DenseWeights Dense(WeightFile file, IComputeBackend backend, string prefix, int outSize, int inSize)
    {
        var weight = Own(backend.UploadWeight(file.Get(prefix + ".weight", outSize, inSize), WeightRole.MatMul));
        IDeviceWeight? bias = null;
        if (file.Contains(prefix + ".bias"))
            bias = Own(backend.UploadWeight(file.Get(prefix + ".bias", outSize), WeightRole.Vector));
        return new DenseWeights(weight, bias);
    }

    private NormWeights Norm(WeightFile file, IComputeBackend backend, string prefix, int size) => new(
        Own(backend.UploadWeight(file.Get(prefix + ".weight", size), WeightRole.Vector)),
        Own(backend.UploadWeight(file.Get(prefix + ".bias", size), WeightRole.Vector)));

    public void Dispose()
    {
        foreach (var item in _owned) item.Dispose();
        _owned.Clear();
    }
}
