using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Encoders;

public sealed class TextEncoderTests : IClassFixture<TinyBertFixture>
{
    private readonly TinyBertFixture _fx;
    public TextEncoderTests(TinyBertFixture fx) => _fx = fx;

    [Fact]
    public void OverLongTextIsTruncatedAndSaidSo()
    {
        using var backend = new SimdCpuBackend();
        using var encoder = TextEncoder.Open(_fx.ModelPath, backend);
        string longText = string.Join(' ', Enumerable.Repeat("the movie was a great story", 40)); // 240 words
        var result = encoder.Encode(new[] { "a short one", longText });
        Assert.False(result.IsTruncated(0));
        Assert.True(result.IsTruncated(1));
        Assert.Equal(encoder.MaxLength, result.TokenCounts[1]);
        Assert.Equal(240 + 2, result.OriginalTokenCounts[1]);

        // The truncated text's vector is the vector of its first MaxLength-2 tokens between [CLS] and [SEP].
        var ids = encoder.Tokenizer.Encode(longText, encoder.MaxLength, out bool truncated);
        Assert.True(truncated);
        var direct = encoder.Encoder.Encode(EncoderInput.Pack(new[] { ids }));
        Assert.True(Numerics.MaxAbsDiff(direct.Vector(0), result.Vector(1)) == 0f);
    }

    [Fact]
    public void BatchResultsEqualOneByOneResults()
    {
        using var backend = new SimdCpuBackend();
        using var encoder = TextEncoder.Open(_fx.ModelPath, backend);
        string[] texts = { "", "toy story", "the dark knight returns home", "a", "space war comedy drama" };
        var batch = encoder.Encode(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            var single = encoder.Encode(new[] { texts[i] });
            Assert.True(Numerics.MaxAbsDiff(single.Vector(0), batch.Vector(i)) <= 1e-6f, $"text {i}");
        }
    }

    [Fact]
    public void EmptyBatchIsAClearError()
    {
        using var backend = new SimdCpuBackend();
        using var encoder = TextEncoder.Open(_fx.ModelPath, backend);
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => encoder.Encode(Array.Empty<string>())).Message);
    }
}
