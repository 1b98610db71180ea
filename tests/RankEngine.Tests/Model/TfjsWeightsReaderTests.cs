using System.Buffers.Binary;
using System.Text;
using RankEngine.Model.Converters;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Model;

public class TfjsWeightsReaderTests
{
    private static readonly Lazy<IReadOnlyDictionary<string, TfjsTensor>> UseLite =
        new(() => TfjsWeightsReader.Read(UseLiteFiles.ModelJsonPath));

    /// <summary>Every weight against values decoded by tools/make-use-lite-fixtures.js with plain JavaScript.</summary>
    [Fact]
    public void UseLiteWeightsMatchTheIndependentDecoding()
    {
        using var fixture = UseLiteFiles.ReadFixture("weights-summary.json");
        int checkedWeights = 0;
        foreach (var w in fixture.RootElement.GetProperty("weights").EnumerateArray())
        {
            if (!w.TryGetProperty("name", out var nameElement)) continue; // group totals
            string name = nameElement.GetString()!;
            Assert.True(UseLite.Value.TryGetValue(name, out var tensor), $"weight {name} missing");
            Assert.Equal(UseLiteFiles.IntArray(w.GetProperty("shape")), tensor!.Shape);
            Assert.Equal(w.GetProperty("count").GetInt64(), tensor.ElementCount);
            int middle = w.GetProperty("middleIndex").GetInt32();
            if (w.GetProperty("dtype").GetString() == "float32")
            {
                Assert.Equal(TfjsDType.Float32, tensor.DType);
                float[] v = tensor.Float32!;
                Assert.Equal((float)w.GetProperty("first").GetDouble(), v[0]);
                Assert.Equal((float)w.GetProperty("middle").GetDouble(), v[middle]);
                Assert.Equal((float)w.GetProperty("last").GetDouble(), v[^1]);
                double sum = 0, sumAbs = 0;
                foreach (float x in v) { sum += x; sumAbs += Math.Abs(x); }
                Assert.Equal(w.GetProperty("sum").GetDouble(), sum, 1e-9 * Math.Max(1, sumAbs));
                Assert.Equal(w.GetProperty("sumAbs").GetDouble(), sumAbs, 1e-9 * Math.Max(1, sumAbs));
            }
            else
            {
                Assert.Equal(TfjsDType.Int32, tensor.DType);
                int[] v = tensor.Int32!;
                Assert.Equal(w.GetProperty("first").GetInt32(), v[0]);
                Assert.Equal(w.GetProperty("last").GetInt32(), v[^1]);
                Assert.Equal(w.GetProperty("sum").GetInt64(), v.Sum(x => (long)x));
            }
            checkedWeights++;
        }
        Assert.Equal(61, checkedWeights);
        Assert.Equal(61, UseLite.Value.Count);
    }

    [Fact]
    public void UseLiteHasTheShapesDocsUseLiteDescribes()
    {
        var w = UseLite.Value;
        Assert.Equal([8002, 256], w["module/Embeddings_en"].Shape);
        Assert.Equal([1, 1, 256, 768], w["module/Encoder_en/KonaTransformer/Encode/Layer_0/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0"].Shape);
        Assert.Equal([1, 1, 512, 1536], w["module/Encoder_en/KonaTransformer/Encode/Layer_1/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0"].Shape);
        Assert.Equal([512, 512], w["module/Encoder_en/hidden_layers/tanh_layer_0/weights"].Shape);
        const string A = "module_apply_default/Encoder_en/KonaTransformer/";
        Assert.Equal(1e-6f, w[A + "Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x"].Float32![0]);
        Assert.Equal(128, w[A + "ClipToMaxLength/Less/y"].Int32![0]);
        Assert.Equal(0.125f, w[A + "Encode/TransformerStack/Layer_0/TransformerLayer/MultiheadAttention/mul/y"].Float32![0]);
    }

    [Fact]
    public void DecodesQuantizedAndOtherDtypes()
    {
        using var dir = new TempDirectory();
        var bytes = new List<byte>();
        bytes.AddRange([0, 128, 255]);                                   // uint8 float: q*0.5 + -1
        bytes.AddRange(U16(0)); bytes.AddRange(U16(1000));               // uint16 int32: round(q*0.25 + 2)
        bytes.AddRange(F16(1.5f)); bytes.AddRange(F16(-0.25f));          // float16
        bytes.AddRange([1, 0, 7]);                                       // bool
        bytes.AddRange(I32(-5));                                         // int32 scalar
        File.WriteAllBytes(dir.File("w.bin"), bytes.ToArray());
        string json = """
        {"weightsManifest":[{"paths":["w.bin"],"weights":[
          {"name":"q8","shape":[3],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},
          {"name":"q16","shape":[2],"dtype":"int32","quantization":{"dtype":"uint16","scale":0.25,"min":2}},
          {"name":"h","shape":[2],"dtype":"float32","quantization":{"dtype":"float16"}},
          {"name":"b","shape":[3],"dtype":"bool"},
          {"name":"s","shape":[],"dtype":"int32"}]}]}
        """;
        File.WriteAllText(dir.File("model.json"), json);
        var w = TfjsWeightsReader.Read(dir.File("model.json"));
        Assert.Equal([-1f, 63f, 126.5f], w["q8"].Float32!);
        Assert.Equal("uint8", w["q8"].Quantization);
        Assert.Equal([2, 252], w["q16"].Int32!);
        Assert.Equal([1.5f, -0.25f], w["h"].Float32!);
        Assert.Equal([1, 0, 1], w["b"].Int32!);
        Assert.Equal(TfjsDType.Bool, w["b"].DType);
        Assert.Equal([-5], w["s"].Int32!);
        Assert.Empty(w["s"].Shape);
        Assert.Throws<InvalidDataException>(() => w["s"].RequireFloat32());
    }

    [Theory]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[3],"dtype":"float32"}]}]}""", "truncated")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[1],"dtype":"float32"}]}]}""", "do not belong")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[1],"dtype":"string"}]}]}""", "dtype 'string'")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[-1],"dtype":"float32"}]}]}""", "dimension 0")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[1],"dtype":"int32"},{"name":"a","shape":[1],"dtype":"int32"}]}]}""", "appears twice")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[2],"dtype":"float32","quantization":{"dtype":"int4"}}]}]}""", "'int4'")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"a","shape":[8],"dtype":"float32","quantization":{"dtype":"uint8"}}]}]}""", "'min' and 'scale'")]
    [InlineData("""{"weightsManifest":[{"paths":["missing.bin"],"weights":[]}]}""", "not found")]
    [InlineData("""{"weightsManifest":[{"paths":["../w.bin"],"weights":[]}]}""", "plain relative")]
    [InlineData("""{"modelTopology":{}}""", "no weightsManifest")]
    [InlineData("""{"weightsManifest":[{"paths":["w.bin"]""", "not valid JSON")]
    public void RejectsBrokenManifestsAndShards(string json, string expectedMessagePart)
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("w.bin"), new byte[8]);
        File.WriteAllText(dir.File("model.json"), json);
        var e = Assert.ThrowsAny<Exception>(() => TfjsWeightsReader.Read(dir.File("model.json")));
        Assert.True(e is InvalidDataException or FileNotFoundException, e.GetType().Name);
        Assert.Contains(expectedMessagePart, e.Message);
    }

    [Fact]
    public void MissingModelJsonIsReported()
    {
        var e = Assert.Throws<FileNotFoundException>(() => TfjsWeightsReader.Read("/nonexistent/model.json"));
        Assert.Contains("/nonexistent/model.json", e.Message);
    }

    private static byte[] U16(ushort v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, v); return b; }
    private static byte[] I32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); return b; }
    private static byte[] F16(float v) { var b = new byte[2]; BinaryPrimitives.WriteHalfLittleEndian(b, (Half)v); return b; }

    private sealed class TempDirectory : IDisposable
    {
        private readonly string _path = Directory.CreateTempSubdirectory("rankengine-tfjs-").FullName;
        public string File(string name) => Path.Combine(_path, name);
        public void Dispose() => Directory.Delete(_path, recursive: true);
    }
}
