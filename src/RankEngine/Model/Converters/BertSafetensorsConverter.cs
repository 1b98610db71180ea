using System.Text.Json;
using RankEngine.Encoders;

namespace RankEngine.Model.Converters;

/// <summary>Options of <see cref="BertSafetensorsConverter"/>.</summary>
internal sealed record BertConversionOptions
{
    /// <summary>Storage type of the matrices (vectors and norms always stay fp32).</summary>
    public TensorType MatrixStorage { get; init; } = TensorType.F32;
    /// <summary>Pooling; null reads sentence-transformers' 1_Pooling/config.json if present, else CLS.</summary>
    public Pooling? Pooling { get; init; }
    /// <summary>L2-normalise output vectors.</summary>
    public bool Normalize { get; init; } = true;
    /// <summary>Maximum tokens per sequence; null uses max_position_embeddings.</summary>
    public int? MaxLength { get; init; }
}

/// <summary>
/// Converts a Hugging Face BERT directory (config.json, vocab.txt, *.safetensors with BERT naming:
/// <c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.N.attention.self.query.weight</c>, …, optionally under
/// a <c>bert.</c> prefix) to a RankEngine weight file. Query, key and value are fused into one [3H, H] matrix.
/// </summary>
internal static class BertSafetensorsConverter
{
    public static WeightFileWriter Convert(string directory, BertConversionOptions? options = null, Action<string>? log = null)
    {
        options ??= new BertConversionOptions();
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"model directory '{directory}' does not exist");
        string configPath = Path.Combine(directory, "config.json");
        string vocabPath = Path.Combine(directory, "vocab.txt");
        if (!File.Exists(configPath)) throw new InvalidModelException($"'{directory}' has no config.json");
        if (!File.Exists(vocabPath)) throw new InvalidModelException($"'{directory}' has no vocab.txt (the WordPiece vocabulary)");
        var files = Directory.GetFiles(directory, "*.safetensors");
        if (files.Length == 0) throw new InvalidModelException($"'{directory}' has no .safetensors file");
        Array.Sort(files, StringComparer.Ordinal);
        var readers = files.Select(f => new SafetensorsReader(f)).ToArray();

        var hf = ReadHfConfig(configPath);
        var pooling = options.Pooling ?? ReadSentenceTransformersPooling(directory) ?? Pooling.Cls;
        int maxLength = options.MaxLength ?? hf.MaxPositions;
        if (maxLength < 2 || maxLength > hf.MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(options), $"max length {maxLength} must be between 2 and max_position_embeddings {hf.MaxPositions}");

        var config = new ModelConfig
        {
            Architecture = "bert",
            VocabSize = hf.Vocab, HiddenSize = hf.Hidden, NumLayers = hf.Layers, NumHeads = hf.Heads,
            IntermediateSize = hf.Ffn, MaxPositions = hf.MaxPositions, TypeVocabSize = hf.TypeVocab,
            NormPlacement = NormPlacement.Post, Activation = hf.Activation, PositionEncoding = PositionEncoding.Learned,
            EmbeddingNorm = true, FinalNorm = false, LayerNormEps = hf.Eps, Pooling = pooling, Normalize = options.Normalize,
            Tokenizer = new TokenizerConfig { Kind = TokenizerKind.WordPiece, Lowercase = hf.Lowercase, MaxLength = maxLength },
        };
        var writer = new WeightFileWriter(config);
        writer.Metadata["converter"] = "rankengine convert --from safetensors";
        writer.Metadata["source"] = Path.GetFullPath(directory);

        string prefix = readers.Any(r => r.Contains("bert.embeddings.word_embeddings.weight")) ? "bert." : "";
        float[] Read(string name)
        {
            foreach (var r in readers)
                if (r.Contains(prefix + name)) return r.ReadFloat32(prefix + name);
            throw new InvalidModelException($"'{directory}': tensor '{prefix + name}' is missing");
        }
        long[] ShapeOf(string name) => readers.First(r => r.Contains(prefix + name)).Shape(prefix + name);

        void Matrix(string target, string source, long rows, long cols)
        {
            var shape = ShapeOf(source);
            if (shape.Length != 2 || shape[0] != rows || shape[1] != cols)
                throw new InvalidModelException($"tensor '{prefix + source}' has shape [{string.Join(", ", shape)}] but config.json implies [{rows}, {cols}]");
            writer.Add(target, Read(source), new[] { rows, cols }, options.MatrixStorage);
        }
        void Vector(string target, string source, long size)
        {
            var v = Read(source);
            if (v.Length != size) throw new InvalidModelException($"tensor '{prefix + source}' has {v.Length} values but config.json implies {size}");
            writer.Add(target, v, new[] { size });
        }
        void Table(string target, string source, long rows, long cols)
        {
            var shape = ShapeOf(source);
            if (shape.Length != 2 || shape[0] != rows || shape[1] != cols)
                throw new InvalidModelException($"tensor '{prefix + source}' has shape [{string.Join(", ", shape)}] but config.json implies [{rows}, {cols}]");
            writer.Add(target, Read(source), new[] { rows, cols });
        }

        int h = hf.Hidden;
        Table(TensorNames.WordEmbedding, "embeddings.word_embeddings.weight", hf.Vocab, h);
        Table(TensorNames.PositionEmbedding, "embeddings.position_embeddings.weight", hf.MaxPositions, h);
        if (hf.TypeVocab > 0) Table(TensorNames.TokenTypeEmbedding, "embeddings.token_type_embeddings.weight", hf.TypeVocab, h);
        Vector(TensorNames.EmbeddingNorm + ".weight", "embeddings.LayerNorm.weight", h);
        Vector(TensorNames.EmbeddingNorm + ".bias", "embeddings.LayerNorm.bias", h);
        for (int i = 0; i < hf.Layers; i++)
        {
            log?.Invoke($"layer {i + 1}/{hf.Layers}");
            string p = $"encoder.layer.{i}.";
            var qkv = new float[3 * h * h];
            var qkvBias = new float[3 * h];
            string[] parts = { "query", "key", "value" };
            for (int part = 0; part < 3; part++)
            {
                string name = p + $"attention.self.{parts[part]}";
                var shape = ShapeOf(name + ".weight");
                if (shape.Length != 2 || shape[0] != h || shape[1] != h)
                    throw new InvalidModelException($"tensor '{prefix + name}.weight' has shape [{string.Join(", ", shape)}] but config.json implies [{h}, {h}]");
                Read(name + ".weight").CopyTo(qkv, part * h * h);
                var bias = Read(name + ".bias");
                if (bias.Length != h) throw new InvalidModelException($"tensor '{prefix + name}.bias' has {bias.Length} values, expected {h}");
                bias.CopyTo(qkvBias, part * h);
            }
            writer.Add(TensorNames.Layer(i, TensorNames.Qkv) + ".weight", qkv, new long[] { 3 * h, h }, options.MatrixStorage);
            writer.Add(TensorNames.Layer(i, TensorNames.Qkv) + ".bias", qkvBias, new long[] { 3 * h });
            Matrix(TensorNames.Layer(i, TensorNames.AttentionOutput) + ".weight", p + "attention.output.dense.weight", h, h);
            Vector(TensorNames.Layer(i, TensorNames.AttentionOutput) + ".bias", p + "attention.output.dense.bias", h);
            Vector(TensorNames.Layer(i, TensorNames.AttentionNorm) + ".weight", p + "attention.output.LayerNorm.weight", h);
            Vector(TensorNames.Layer(i, TensorNames.AttentionNorm) + ".bias", p + "attention.output.LayerNorm.bias", h);
            Matrix(TensorNames.Layer(i, TensorNames.FfnIntermediate) + ".weight", p + "intermediate.dense.weight", hf.Ffn, h);
            Vector(TensorNames.Layer(i, TensorNames.FfnIntermediate) + ".bias", p + "intermediate.dense.bias", hf.Ffn);
            Matrix(TensorNames.Layer(i, TensorNames.FfnOutput) + ".weight", p + "output.dense.weight", h, hf.Ffn);
            Vector(TensorNames.Layer(i, TensorNames.FfnOutput) + ".bias", p + "output.dense.bias", h);
            Vector(TensorNames.Layer(i, TensorNames.FfnNorm) + ".weight", p + "output.LayerNorm.weight", h);
            Vector(TensorNames.Layer(i, TensorNames.FfnNorm) + ".bias", p + "output.LayerNorm.bias", h);
        }

        var vocabBytes = File.ReadAllBytes(vocabPath);
        int vocabLines = CountVocabLines(vocabBytes);
        if (vocabLines != hf.Vocab)
            throw new InvalidModelException($"vocab.txt has {vocabLines} entries but config.json says vocab_size {hf.Vocab}");
        writer.AddBlob(config.Tokenizer.VocabTensor, vocabBytes);
        return writer;
    }

    private static int CountVocabLines(byte[] bytes)
    {
        int lines = 0;
        foreach (byte b in bytes) if (b == (byte)'\n') lines++;
        if (bytes.Length > 0 && bytes[^1] != (byte)'\n') lines++;
        return lines;
    }

    private sealed record HfConfig(int Vocab, int Hidden, int Layers, int Heads, int Ffn, int MaxPositions, int TypeVocab,
        float Eps, Activation Activation, bool Lowercase);

    private static HfConfig ReadHfConfig(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        int Int(string name) => root.TryGetProperty(name, out var v) && v.TryGetInt32(out int i)
            ? i : throw new InvalidModelException($"'{path}': missing integer '{name}'");
        string act = root.TryGetProperty("hidden_act", out var a) ? a.GetString() ?? "gelu" : "gelu";
        var activation = act switch
        {
            "gelu" => Activation.Gelu,
            "relu" => Activation.Relu,
            _ => throw new InvalidModelException($"'{path}': hidden_act '{act}' is not supported (gelu, relu)"),
        };
        float eps = root.TryGetProperty("layer_norm_eps", out var e) ? (float)e.GetDouble() : 1e-12f;
        int typeVocab = root.TryGetProperty("type_vocab_size", out var t) ? t.GetInt32() : 0;
        bool lower = !root.TryGetProperty("do_lower_case", out var lc) || lc.ValueKind != JsonValueKind.False;
        return new HfConfig(Int("vocab_size"), Int("hidden_size"), Int("num_hidden_layers"), Int("num_attention_heads"),
            Int("intermediate_size"), Int("max_position_embeddings"), typeVocab, eps, activation, lower);
    }

    private static Pooling? ReadSentenceTransformersPooling(string directory)
    {
        string path = Path.Combine(directory, "1_Pooling", "config.json");
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        bool Flag(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        if (Flag("pooling_mode_mean_tokens")) return Pooling.Mean;
        if (Flag("pooling_mode_cls_token")) return Pooling.Cls;
        throw new InvalidModelException($"'{path}': only CLS and mean pooling are supported");
    }
}
