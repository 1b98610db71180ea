using System.Numerics.Tensors;
using System.Text.Json;
using RankEngine.Model.Converters;
using RankEngine.Tests.Support;
using RankEngine.Text;
using Xunit;

namespace RankEngine.Tests.Model;

/// <summary>
/// End to end against the JS reference: text → our tokenizer → canonical tensors from the mapper → a plain scalar
/// forward pass written from docs/use-lite.md → the reference's 512-d vectors (fixture embeddings.json).
/// This checks the mapping (transposes, q/k/v order, timing table) and the documented computation together; the
/// product encoder should be held to the same fixture.
/// </summary>
public class UseLiteWeightMapperTests
{
    private static readonly Lazy<Dictionary<string, CanonicalTensor>> Tensors = new(() =>
        UseLiteWeightMapper.Map(TfjsWeightsReader.Read(UseLiteFiles.ModelJsonPath)).ToDictionary(t => t.Name));

    [Fact]
    public void ProducesTheDocumentedCanonicalTensors()
    {
        var t = Tensors.Value;
        Assert.Equal(30, t.Count); // 2 embeddings, 12 per layer, layer 0 residual 2, head 2
        Assert.Equal([8002, 256], t["embeddings.word.weight"].Shape);
        Assert.Equal([128, 256], t["embeddings.position.weight"].Shape);
        Assert.Equal([768, 256], t["layers.0.attention.qkv.weight"].Shape);
        Assert.Equal([512, 256], t["layers.0.attention.output.weight"].Shape);
        Assert.Equal([512, 256], t["layers.0.attention.residual.weight"].Shape);
        Assert.Equal([1536, 512], t["layers.1.attention.qkv.weight"].Shape);
        Assert.Equal([1536, 512], t["layers.1.ffn.intermediate.weight"].Shape);
        Assert.Equal([512, 1536], t["layers.1.ffn.output.weight"].Shape);
        Assert.Equal([512, 512], t["head.0.weight"].Shape);
        foreach (var tensor in t.Values)
            Assert.Equal(tensor.Shape.Aggregate(1L, (a, b) => a * b), tensor.Data.Length);
        // Timing table: position 0 is [0…0, 1…1]; position 1 channel 0 is sin(1), channel 128 cos(1).
        var pos = t["embeddings.position.weight"].Data;
        Assert.All(pos.AsSpan(0, 128).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(pos.AsSpan(128, 128).ToArray(), v => Assert.Equal(1f, v));
        Assert.Equal(0.84147096f, pos[256], 6);
        Assert.Equal(0.5403023f, pos[256 + 128], 6);
    }

    [Fact]
    public void TransposeMovesRowsToColumns()
    {
        Assert.Equal([1f, 4, 2, 5, 3, 6], UseLiteWeightMapper.Transpose([1, 2, 3, 4, 5, 6], 2, 3));
    }

    [Fact]
    public void RejectsAModelWithoutTheUseLiteWeights()
    {
        var e = Assert.Throws<InvalidDataException>(() => UseLiteWeightMapper.Map(new Dictionary<string, TfjsTensor>()));
        Assert.Contains("module/Embeddings_en", e.Message);
    }

    [Fact]
    public void ScalarForwardOfTheDocumentedComputationMatchesTheReferenceVectors()
    {
        var tokenizer = SentencePieceTokenizer.FromVocabularyFile(UseLiteFiles.VocabularyPath);
        using var fixture = UseLiteFiles.ReadFixture("embeddings.json");
        int cases = 0;
        double worstCos = 1, worstAbs = 0;
        string worstText = "";
        foreach (var entry in fixture.RootElement.GetProperty("cases").EnumerateArray())
        {
            string text = UseLiteFiles.TextOf(entry);
            float[] expected = Floats(entry.GetProperty("vector").GetString()!);
            float[] actual = Forward(tokenizer.Encode(text));
            double cos = TensorPrimitives.CosineSimilarity(expected, actual);
            double maxAbs = 0;
            for (int i = 0; i < 512; i++) maxAbs = Math.Max(maxAbs, Math.Abs(expected[i] - actual[i]));
            if (maxAbs > worstAbs) { worstAbs = maxAbs; worstText = text; }
            worstCos = Math.Min(worstCos, cos);
            cases++;
        }
        Assert.True(cases >= 100, $"only {cases} embedding cases");
        Assert.True(worstAbs < 1e-5 && worstCos > 0.99999,
            $"worst max|diff| {worstAbs:E2} (text {JsonSerializer.Serialize(worstText)}), worst cosine {worstCos:F7}");
    }

    private static float[] Floats(string base64)
    {
        byte[] bytes = Convert.FromBase64String(base64);
        Assert.Equal(512 * 4, bytes.Length);
        var v = new float[512];
        Buffer.BlockCopy(bytes, 0, v, 0, bytes.Length);
        return v;
    }

    /// <summary>docs/use-lite.md §3–§5 with plain loops and canonical [out, in] matrices.</summary>
    private static float[] Forward(int[] ids)
    {
        var t = Tensors.Value;
        int n = Math.Min(ids.Length, UseLiteWeightMapper.MaxPositions);
        var pooled = new float[512];
        if (n > 0)
        {
            float[] word = t["embeddings.word.weight"].Data, pos = t["embeddings.position.weight"].Data;
            var x = new float[n][];
            for (int p = 0; p < n; p++)
            {
                x[p] = new float[256];
                for (int k = 0; k < 256; k++)
                {
                    float e = word[ids[p] * 256 + k];
                    x[p][k] = e + (e + pos[p * 256 + k]);
                }
            }
            x = Layer(t, 0, x, 256, 64);
            x = Layer(t, 1, x, 512, 128);
            for (int p = 0; p < n; p++) TensorPrimitives.Add(pooled, x[p], pooled);
            TensorPrimitives.Divide(pooled, n, pooled);
        }
        var y = Dense(t["head.0.weight"].Data, t["head.0.bias"].Data, pooled, 512);
        TensorPrimitives.Tanh(y, y);
        float norm = MathF.Sqrt(MathF.Max(TensorPrimitives.Dot(y, y), 1e-12f));
        TensorPrimitives.Divide(y, norm, y);
        return y;
    }

    private static float[][] Layer(Dictionary<string, CanonicalTensor> t, int layer, float[][] x, int width, int headDim)
    {
        string p = $"layers.{layer}.";
        int n = x.Length, heads = width / headDim;
        float scale = 1f / MathF.Sqrt(headDim);
        var qkv = new float[n][];
        for (int i = 0; i < n; i++)
            qkv[i] = Dense(t[p + "attention.qkv.weight"].Data, t[p + "attention.qkv.bias"].Data, LayerNorm(x[i], t[p + "attention.norm.weight"].Data, t[p + "attention.norm.bias"].Data), 3 * width);
        var output = new float[n][];
        var scores = new float[n];
        for (int i = 0; i < n; i++)
        {
            var context = new float[width];
            for (int h = 0; h < heads; h++)
            {
                var q = qkv[i].AsSpan(h * headDim, headDim).ToArray();
                TensorPrimitives.Multiply(q, scale, q);
                for (int j = 0; j < n; j++) scores[j] = TensorPrimitives.Dot(q, qkv[j].AsSpan(width + h * headDim, headDim));
                TensorPrimitives.SoftMax(scores.AsSpan(0, n), scores.AsSpan(0, n));
                for (int j = 0; j < n; j++)
                    for (int d = 0; d < headDim; d++)
                        context[h * headDim + d] += scores[j] * qkv[j][2 * width + h * headDim + d];
            }
            var o = Dense(t[p + "attention.output.weight"].Data, t[p + "attention.output.bias"].Data, context, 512);
            var residual = layer == 0
                ? Dense(t[p + "attention.residual.weight"].Data, t[p + "attention.residual.bias"].Data, x[i], 512)
                : x[i];
            TensorPrimitives.Add(o, residual, o);
            var f = Dense(t[p + "ffn.intermediate.weight"].Data, t[p + "ffn.intermediate.bias"].Data, LayerNorm(o, t[p + "ffn.norm.weight"].Data, t[p + "ffn.norm.bias"].Data), 1536);
            TensorPrimitives.Max(f, 0f, f);
            var g = Dense(t[p + "ffn.output.weight"].Data, t[p + "ffn.output.bias"].Data, f, 512);
            TensorPrimitives.Add(g, o, g);
            output[i] = g;
        }
        return output;
    }

    private static float[] LayerNorm(float[] x, float[] gamma, float[] beta)
    {
        float mean = TensorPrimitives.Sum(x) / x.Length;
        float variance = 0;
        foreach (float v in x) variance += (v - mean) * (v - mean);
        variance /= x.Length;
        float inv = 1f / MathF.Sqrt(variance + UseLiteWeightMapper.LayerNormEpsilon);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
        return y;
    }

    private static float[] Dense(float[] weight, float[] bias, float[] x, int outSize)
    {
        var y = new float[outSize];
        for (int o = 0; o < outSize; o++) y[o] = TensorPrimitives.Dot(weight.AsSpan(o * x.Length, x.Length), x) + bias[o];
        return y;
    }
}
