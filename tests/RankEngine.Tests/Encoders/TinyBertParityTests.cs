using RankEngine.Compute;
using RankEngine.Compute.Reference;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Encoders;

/// <summary>
/// The whole encoder on the tiny random BERT against PyTorch's nn.TransformerEncoderLayer outputs
/// (tools/make_bert_reference.py): every token's hidden state and the pooled vectors, for a batch of mixed lengths.
/// </summary>
public sealed class TinyBertParityTests : IClassFixture<TinyBertFixture>
{
    private const float MaxAbs = 1e-4f;
    private const double MinCosine = 0.99999;
    private readonly TinyBertFixture _fx;
    private readonly Xunit.Abstractions.ITestOutputHelper _out;

    public TinyBertParityTests(TinyBertFixture fx, Xunit.Abstractions.ITestOutputHelper output) => (_fx, _out) = (fx, output);

    public static TheoryData<string> Backends => new() { "reference", "simd", "ilgpu-cpu" };

    internal static IComputeBackend Create(string name) => name switch
    {
        "reference" => new ReferenceBackend(),
        "simd" => new SimdCpuBackend(),
        "ilgpu-cpu" => RankEngine.Compute.Ilgpu.IlgpuBackend.Create(RankEngine.Tests.Kernels.IlgpuCpuFixture.Kind),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Backends))]
    public void HiddenStatesAndPooledVectorsMatchPyTorch(string backendName)
    {
        Assert.True(_fx.Sequences.Length >= 16);
        Assert.Contains(_fx.Sequences, s => s.Length == 1);
        using var backend = Create(backendName);
        using var file = _fx.Open();
        using var encoder = new TransformerEncoder(file, backend);
        var output = encoder.Encode(EncoderInput.Pack(_fx.Sequences), returnHiddenStates: true);

        int h = encoder.Config.HiddenSize;
        int offset = 0;
        for (int s = 0; s < _fx.Sequences.Length; s++)
        {
            for (int t = 0; t < _fx.Sequences[s].Length; t++, offset++)
            {
                var ours = output.HiddenStates.AsSpan(offset * h, h);
                var theirs = _fx.Hidden.AsSpan(offset * h, h);
                float diff = Numerics.MaxAbsDiff(ours, theirs);
                double cos = Numerics.Cosine(ours, theirs);
                Assert.True(diff <= MaxAbs && cos >= MinCosine,
                    $"{backendName}: sequence {s} (length {_fx.Sequences[s].Length}) token {t}: max |diff| {diff:g3}, cosine {cos:f7}");
            }
            // CLS pooling (the converter default) and no normalisation (the fixture was converted with Normalize=false).
            var pooled = output.Vector(s);
            var cls = _fx.Cls.AsSpan(s * h, h);
            Assert.True(Numerics.MaxAbsDiff(pooled, cls) <= MaxAbs, $"{backendName}: pooled vector of sequence {s}");
        }
        Assert.Equal(_fx.Hidden.Length, offset * h);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void MeanPooledNormalisedVectorsMatchPyTorch(string backendName)
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("tiny-mean.rem");
        RankEngine.Model.Converters.BertSafetensorsConverter.Convert(Fixtures.Dir("TinyBert"),
            new RankEngine.Model.Converters.BertConversionOptions { Pooling = RankEngine.Model.Pooling.Mean, Normalize = true }).Write(path);
        using var backend = Create(backendName);
        using var file = RankEngine.Model.WeightFile.Open(path);
        using var encoder = new TransformerEncoder(file, backend);
        var output = encoder.Encode(EncoderInput.Pack(_fx.Sequences));
        int h = encoder.Config.HiddenSize;
        for (int s = 0; s < _fx.Sequences.Length; s++)
        {
            var expected = _fx.MeanNormalized.AsSpan(s * h, h);
            float diff = Numerics.MaxAbsDiff(output.Vector(s), expected);
            double cos = Numerics.Cosine(output.Vector(s), expected);
            Assert.True(diff <= MaxAbs && cos >= MinCosine, $"{backendName}: sequence {s}: max |diff| {diff:g3}, cosine {cos:f7}");
        }
    }

    [Fact]
    public void SmallTokenBudgetSplitsTheBatchWithoutChangingResults()
    {
        using var backend = new SimdCpuBackend();
        using var file = _fx.Open();
        using var whole = new TransformerEncoder(file, backend);
        using var chunked = new TransformerEncoder(file, backend, tokenBudget: whole.Config.Tokenizer.MaxLength);
        var input = EncoderInput.Pack(_fx.Sequences);
        var a = whole.Encode(input, returnHiddenStates: true);
        var b = chunked.Encode(input, returnHiddenStates: true);
        Assert.True(Numerics.MaxAbsDiff(a.Vectors, b.Vectors) <= 1e-6f);
        Assert.True(Numerics.MaxAbsDiff(a.HiddenStates, b.HiddenStates) <= 1e-6f);
    }

    [Fact]
    public void Fp16WeightsRunOnTheSimdBackendAsOnTheReference()
    {
        // Same stored weights on both backends (the SIMD GEMM keeps fp16 panels and widens them per K block): hidden
        // states must agree as closely as fp32 runs do, and stay close to fp32 PyTorch.
        var file = ConvertedWith(RankEngine.Model.TensorType.F16, out var dir);
        using var cleanup = dir;
        using var fileScope = file;
        using var simd = new SimdCpuBackend();
        using var reference = new ReferenceBackend();
        using var a = new TransformerEncoder(file, simd);
        using var b = new TransformerEncoder(file, reference);
        var input = EncoderInput.Pack(_fx.Sequences);
        var fast = a.Encode(input, returnHiddenStates: true).HiddenStates!;
        var slow = b.Encode(input, returnHiddenStates: true).HiddenStates!;
        Assert.True(Numerics.MaxAbsDiff(fast, slow) <= MaxAbs, $"SIMD vs reference max |diff| {Numerics.MaxAbsDiff(fast, slow):g3}");
        double cosine = Numerics.Cosine(fast, _fx.Hidden);
        Assert.True(cosine >= 0.9999, $"cosine to fp32 PyTorch {cosine:F6}");
    }

    public static TheoryData<string> Int8Kernels => new() { "AvxVnni", "Avx512BW", "Avx2", "Scalar" };

    [Theory]
    [MemberData(nameof(Int8Kernels))]
    public void Int8WeightsRunOnEveryInt8KernelCloseToPyTorch(string kernelName)
    {
        // int8 matrices run on the int8 GEMM (activations quantised per row): hidden states are not those of fp32, but
        // must stay close to fp32 PyTorch and to the reference backend running the dequantised weights in fp32.
        var kernel = Enum.Parse<Int8Kernel>(kernelName);
        if (!Int8Dots.IsSupported(kernel))
        {
            _out.WriteLine($"skipped {kernel}: not on this CPU");
            return;
        }
        var file = ConvertedWith(RankEngine.Model.TensorType.I8, out var dir);
        using var cleanup = dir;
        using var fileScope = file;
        using var simd = new SimdCpuBackend(kernel);
        using var reference = new ReferenceBackend();
        using var a = new TransformerEncoder(file, simd);
        using var b = new TransformerEncoder(file, reference);
        var input = EncoderInput.Pack(_fx.Sequences);
        var fast = a.Encode(input, returnHiddenStates: true).HiddenStates!;
        var dequantised = b.Encode(input, returnHiddenStates: true).HiddenStates!;
        double toPyTorch = Numerics.Cosine(fast, _fx.Hidden), toDequantised = Numerics.Cosine(fast, dequantised);
        _out.WriteLine($"{kernel}: cosine to fp32 PyTorch {toPyTorch:F6}, to the dequantised fp32 run {toDequantised:F6}");
        Assert.True(toPyTorch >= 0.999, $"{kernel}: cosine to fp32 PyTorch {toPyTorch:F6}");
        Assert.True(toDequantised >= 0.999, $"{kernel}: cosine to the dequantised fp32 run {toDequantised:F6}");
    }

    private RankEngine.Model.WeightFile ConvertedWith(RankEngine.Model.TensorType storage, out TempDir dir)
    {
        dir = Fixtures.TempDir();
        string path = dir.File($"tiny-{storage}.rem");
        RankEngine.Model.Converters.BertSafetensorsConverter.Convert(Fixtures.Dir("TinyBert"),
            new RankEngine.Model.Converters.BertConversionOptions { MatrixStorage = storage, Normalize = false }).Write(path);
        return RankEngine.Model.WeightFile.Open(path);
    }
}
