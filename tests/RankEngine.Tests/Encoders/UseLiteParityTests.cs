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
    public UseLiteParityTests(UseLiteModelFixture fx) => _fx = fx;

    public static TheoryData<string> Backends => new() { "simd", "reference" };

    [Theory]
    [MemberData(nameof(Backends))]
    public void VectorsMatchTheJsReference(string backendName)
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
