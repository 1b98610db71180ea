using System.Buffers.Binary;
using System.Text;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Model;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Model;

public sealed class WeightFileTests : IClassFixture<TinyBertFixture>
{
    private readonly TinyBertFixture _fx;
    public WeightFileTests(TinyBertFixture fx) => _fx = fx;

    private static ModelConfig SmallConfig => new()
    {
        VocabSize = 4, HiddenSize = 4, NumLayers = 1, NumHeads = 1, IntermediateSize = 4, MaxPositions = 4,
        Tokenizer = new TokenizerConfig { MaxLength = 4 },
    };

    [Fact]
    public void RoundTripsEveryStorageType()
    {
        using var dir = Fixtures.TempDir();
        var values = new float[] { 0.5f, -1.25f, 3f, 0f, 1e-3f, -2f };
        var writer = new WeightFileWriter(SmallConfig);
        writer.Add("a", values, new long[] { 2, 3 }, TensorType.F32);
        writer.Add("b", values, new long[] { 2, 3 }, TensorType.F16);
        writer.Add("c", values, new long[] { 2, 3 }, TensorType.I8);
        writer.AddTextBlob("vocab", "hello\nworld\n");
        writer.Metadata["source"] = "test";
        string path = dir.File("m.rem");
        writer.Write(path);

        using var file = WeightFile.Open(path);
        Assert.Equal(SmallConfig.HiddenSize, file.Config.HiddenSize);
        Assert.Equal("test", file.Metadata["source"]);
        Assert.Equal(values, file.Get("a", 2, 3).ToFloat32());
        // fp16 of these values is exact except 1e-3 (nearest half 0.0010004).
        var half = file.Get("b").ToFloat32();
        for (int i = 0; i < values.Length; i++) Assert.Equal(values[i], half[i], 3);
        // int8 per-row: row 0 scale = 3/127, row 1 scale = 2/127; each value within half a step.
        var q = file.Get("c").ToFloat32();
        for (int i = 0; i < values.Length; i++) Assert.True(Math.Abs(values[i] - q[i]) <= (i < 3 ? 3f : 2f) / 127 / 2 + 1e-6, $"int8 element {i}: {q[i]} vs {values[i]}");
        Assert.Equal("hello\nworld\n", Encoding.UTF8.GetString(file.Get("vocab").ToBlob()));
        foreach (var name in file.TensorNames)
            Assert.Equal(0, GetOffset(path, name) % WeightFileFormat.Alignment);
    }

    private static long GetOffset(string path, string name)
    {
        var bytes = File.ReadAllBytes(path);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
        string json = Encoding.UTF8.GetString(bytes, WeightFileFormat.PrefixSize, len);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        foreach (var t in doc.RootElement.GetProperty("tensors").EnumerateArray())
            if (t.GetProperty("name").GetString() == name) return t.GetProperty("offset").GetInt64();
        throw new InvalidOperationException(name);
    }

    [Fact]
    public void FlippedDataByteIsReportedWithTheTensorName()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("bad.rem");
        File.Copy(_fx.ModelPath, path);
        long offset = GetOffset(path, "layers.1.ffn.output.weight");
        using (var f = new FileStream(path, FileMode.Open))
        {
            f.Position = offset + 100;
            int b = f.ReadByte();
            f.Position = offset + 100;
            f.WriteByte((byte)(b ^ 0x40));
        }
        var e = Assert.Throws<InvalidModelException>(() => WeightFile.Open(path));
        Assert.Contains("layers.1.ffn.output.weight", e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void TruncatedFileIsReported()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("short.rem");
        var bytes = File.ReadAllBytes(_fx.ModelPath);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var e = Assert.Throws<InvalidModelException>(() => WeightFile.Open(path));
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(path, bytes.AsSpan(0, 10).ToArray());
        Assert.Contains("too short", Assert.Throws<InvalidModelException>(() => WeightFile.Open(path)).Message);
    }

    [Fact]
    public void TamperedHeaderAndWrongMagicAreReported()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("tampered.rem");
        var bytes = File.ReadAllBytes(_fx.ModelPath);
        // Change the hidden size digit in the JSON header without fixing the header checksum.
        int at = Encoding.UTF8.GetString(bytes, 0, 4096).IndexOf("\"hiddenSize\":64", StringComparison.Ordinal);
        Assert.True(at > 0);
        bytes[at + "\"hiddenSize\":".Length] = (byte)'9';
        File.WriteAllBytes(path, bytes);
        Assert.Contains("header checksum", Assert.Throws<InvalidModelException>(() => WeightFile.Open(path)).Message);

        bytes = File.ReadAllBytes(_fx.ModelPath);
        bytes[0] = (byte)'X';
        File.WriteAllBytes(path, bytes);
        Assert.Contains("magic", Assert.Throws<InvalidModelException>(() => WeightFile.Open(path)).Message);
    }

    [Fact]
    public void ConfigAndTensorShapeMismatchNamesTheTensor()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("mismatch.rem");
        // A config that promises a wider FFN than the stored tensors have.
        using (var good = _fx.Open())
        {
            var config = good.Config with { IntermediateSize = good.Config.IntermediateSize * 2 };
            var writer = new WeightFileWriter(config);
            foreach (var name in good.TensorNames)
            {
                var t = good.Get(name);
                if (t.Type == TensorType.U8) writer.AddBlob(name, t.ToBlob());
                else writer.Add(name, t.ToFloat32(), t.Shape);
            }
            writer.Write(path);
        }
        using var file = WeightFile.Open(path);
        var e = Assert.Throws<InvalidModelException>(() => new TransformerEncoder(file, new SimdCpuBackend()));
        Assert.Contains("layers.0.ffn.intermediate.weight", e.Message);
        Assert.Contains("[512, 64]", e.Message);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("missing.rem");
        using (var good = _fx.Open())
        {
            var writer = new WeightFileWriter(good.Config);
            foreach (var name in good.TensorNames)
            {
                if (name == "layers.1.attention.norm.bias") continue;
                var t = good.Get(name);
                if (t.Type == TensorType.U8) writer.AddBlob(name, t.ToBlob());
                else writer.Add(name, t.ToFloat32(), t.Shape);
            }
            writer.Write(path);
        }
        using var file = WeightFile.Open(path);
        var e = Assert.Throws<InvalidModelException>(() => new TransformerEncoder(file, new SimdCpuBackend()));
        Assert.Contains("'layers.1.attention.norm.bias' is missing", e.Message);
    }

    [Fact]
    public void WriterRejectsNaNAndShapeMismatch()
    {
        var writer = new WeightFileWriter(SmallConfig);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => writer.Add("x", new[] { 1f, float.NaN }, new long[] { 2 })).Message);
        Assert.Contains("holds 6 values", Assert.Throws<ArgumentException>(() => writer.Add("y", new float[5], new long[] { 2, 3 })).Message);
    }

    [Fact]
    public void EncoderRejectsBadBatches()
    {
        using var file = _fx.Open();
        using var backend = new SimdCpuBackend();
        using var encoder = new TransformerEncoder(file, backend);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => encoder.Encode(EncoderInput.Pack(Array.Empty<int[]>()))).Message);
        Assert.Contains("sequence 1 is empty", Assert.Throws<ArgumentException>(() => encoder.Encode(EncoderInput.Pack(new[] { new[] { 101 }, Array.Empty<int>() }))).Message);
        var tooLong = Enumerable.Repeat(200, encoder.Config.Tokenizer.MaxLength + 1).ToArray();
        Assert.Contains("at most 64", Assert.Throws<ArgumentException>(() => encoder.Encode(EncoderInput.Pack(new[] { tooLong }))).Message);
        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => encoder.Encode(EncoderInput.Pack(new[] { new[] { 101, 5000 } }))).Message);
    }
}
