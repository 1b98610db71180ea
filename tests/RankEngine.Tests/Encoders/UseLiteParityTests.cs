using System.Numerics.Tensors;
using RankEngine.Compute;
using RankEngine.Encoders;
using RankEngine.Model.Converters;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Encoders;

/// <summary>The converted USE-lite model in a temporary .rem file (from models/use-lite, made by tools/fetch-use-lite.sh).</summary>
public sealed class UseLiteModelFixture : IDisposable
{
    private readonly TempDir _dir = new();
    public string ModelPath { get; }

    public UseLiteModelFixture()
    {
        ModelPath = _dir.File("use-lite.rem");
        UseLiteConverter.Convert(UseLiteFiles.ModelDirectory).Write(ModelPath);
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The product encoder (converter → weight file → tokenizer → Transformer on a backend) against the JS reference
/// (<c>@energetic-ai/embeddings</c>) on every fixture sentence: single words, MovieLens titles, texts past the
/// 128-token limit, empty text.
/// </summary>
public sealed class UseLiteParityTests : IClassFixture<UseLiteModelFixture>
{
    private readonly UseLiteModelFixture _fx;
    private readonly Xunit.Abstractions.ITestOutputHelper _out;
    public UseLiteParityTests(UseLiteModelFixture fx, Xunit.Abstractions.ITestOutputHelper output) => (_fx, _out) = (fx, output);

    public static TheoryData<string> Backends => new() { "simd", "reference" };

    private static (List<string> Texts, List<float[]> Expected) ReferenceCases()
    {
        using var fixture = UseLiteFiles.ReadFixture("embeddings.json");
        var texts = new List<string>();
        var expected = new List<float[]>();
        foreach (var entry in fixture.RootElement.GetProperty("cases").EnumerateArray())
        {
            texts.Add(UseLiteFiles.TextOf(entry));
            expected.Add(Convert.FromBase64String(entry.GetProperty("vector").GetString()!).AsSpan().ToArray() is var bytes
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray() : throw new InvalidDataException());
        }
        return (texts, expected);
    }

    public static TheoryData<string> Int8Kernels => new() { "AvxVnni", "Avx512BW", "Avx2", "Scalar" };

    [Theory]
    [MemberData(nameof(Int8Kernels))]
    public void Int8MatricesStayCloseToTheJsReferenceOnEveryKernel(string kernelName)
    {
        var kernel = Enum.Parse<RankEngine.Compute.Simd.Int8Kernel>(kernelName);
        if (!RankEngine.Compute.Simd.Int8Dots.IsSupported(kernel))
        {
            _out.WriteLine($"skipped {kernel}: not on this CPU");
            return;
        }
        using var dir = new TempDir();
        string path = dir.File("use-lite-int8.rem");
        UseLiteConverter.Convert(UseLiteFiles.ModelDirectory, RankEngine.Model.TensorType.I8).Write(path);
        using (var file = RankEngine.Model.WeightFile.Open(path))
        {
            Assert.Equal(RankEngine.Model.TensorType.I8, file.Get("layers.0.ffn.intermediate.weight").Type);
            Assert.Equal(RankEngine.Model.TensorType.F32, file.Get("head.0.weight").Type); // once per sentence: kept exact
        }
        var (texts, expected) = ReferenceCases();
        using var backend = new RankEngine.Compute.Simd.SimdCpuBackend(kernel);
        using var encoder = TextEncoder.Open(path, backend);
        var result = encoder.Encode(texts);
        double worst = 1, sum = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            double cos = TensorPrimitives.CosineSimilarity(expected[i], result.Vector(i));
            worst = Math.Min(worst, cos);
            sum += cos;
        }
        _out.WriteLine($"{kernel}: cosine to the fp32 JS reference over {texts.Count} texts: worst {worst:F5}, mean {sum / texts.Count:F5}");
        // Measured on MovieLens titles: mean 0.9994, worst 0.998 (VNNI); the 7-bit activations of the vpmaddubsw pair lose a little more.
        Assert.True(sum / texts.Count >= 0.999, $"{kernel}: mean cosine {sum / texts.Count:F5}");
        Assert.True(worst >= 0.995, $"{kernel}: worst cosine {worst:F5}");
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void VectorsMatchTheJsReference(string backendName)
    {
        var (texts, expected) = ReferenceCases();
        Assert.True(texts.Count >= 100, $"only {texts.Count} reference sentences");
        Assert.Contains(texts, t => t.Length == 0);

        using var backend = BackendFactory.Create(backendName);
        using var encoder = TextEncoder.Open(_fx.ModelPath, backend);
        var result = encoder.Encode(texts); // one batch: mixed lengths, empty text included
        Assert.Contains(Enumerable.Range(0, texts.Count), i => result.IsTruncated(i)); // some texts pass the 128-token limit
        for (int i = 0; i < texts.Count; i++)
        {
            var actual = result.Vector(i);
            double cos = TensorPrimitives.CosineSimilarity(expected[i], actual);
            Assert.True(cos >= 0.9999, $"{backendName}: text {i} {System.Text.Json.JsonSerializer.Serialize(texts[i])}: cosine {cos:F6}");
        }
    }

    [Fact]
    public void ParaphrasesAreCloserThanUnrelatedSentences()
    {
        // Hand-written triples: (anchor, paraphrase, unrelated). Not from any reference set.
        string[][] triples =
        {
            new[] { "The movie was really funny.", "That film made me laugh a lot.", "The stock market fell sharply today." },
            new[] { "How do I bake bread at home?", "What is a good recipe for homemade bread?", "The train to Paris leaves at nine." },
            new[] { "A space adventure with aliens and starships.", "Science fiction about interstellar travel and extraterrestrials.", "A quiet romance in a small French village." },
            new[] { "My car will not start in the morning.", "The engine of my automobile fails to turn over at dawn.", "She plays the violin beautifully." },
            new[] { "Children's animated film about toys.", "A cartoon for kids where playthings come alive.", "A documentary about tax law." },
        };
        using var backend = BackendFactory.Create("simd");
        using var encoder = TextEncoder.Open(_fx.ModelPath, backend);
        foreach (var t in triples)
        {
            var v = encoder.Encode(t);
            float para = TensorPrimitives.Dot(v.Vector(0), v.Vector(1));
            float other = TensorPrimitives.Dot(v.Vector(0), v.Vector(2));
            Assert.True(para > other + 0.1f, $"'{t[0]}': paraphrase {para:F3} vs unrelated {other:F3}");
        }
    }
}
