using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Model;

namespace RankEngine.Bench.Encoders;

/// <summary>
/// Encoder throughput, ours vs ONNX Runtime CPU, on the same MiniLM-sized random BERT (6 layers, hidden 384,
/// 12 heads, FFN 1536) exported by torch.onnx.export. Both use all cores. Prepare the model first:
/// <c>tools/bench-models.sh</c> (writes models/minilm-random/{model.safetensors, model.onnx} and models/minilm-random.rem).
/// Report tokens/s = Batch × SeqLen / mean time.
/// </summary>
[MemoryDiagnoser]
public class EncoderThroughputBenchmarks
{
    [Params(32, 1)] public int Batch;
    [Params(128, 16)] public int SeqLen;

    private WeightFile? _file;
    private SimdCpuBackend? _backend;
    private TransformerEncoder? _encoder;
    private EncoderInput _input;
    private InferenceSession? _ort;
    private List<NamedOnnxValue>? _ortInputs;

    public static string ModelDir => Path.Combine(BenchPaths.RepoRoot, "models");

    [GlobalSetup]
    public void Setup()
    {
        _file = WeightFile.Open(Path.Combine(ModelDir, "minilm-random.rem"));
        _backend = new SimdCpuBackend();
        _encoder = new TransformerEncoder(_file, _backend);
        var rng = new Random(42);
        var seqs = new List<int[]>();
        var ids = new long[Batch * SeqLen];
        for (int b = 0; b < Batch; b++)
        {
            var s = new int[SeqLen];
            for (int t = 0; t < SeqLen; t++) ids[b * SeqLen + t] = s[t] = rng.Next(1000, 30000);
            seqs.Add(s);
        }
        _input = EncoderInput.Pack(seqs);

        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        _ort = new InferenceSession(Path.Combine(ModelDir, "minilm-random", "model.onnx"), options);
        var mask = new long[ids.Length];
        Array.Fill(mask, 1L);
        _ortInputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, new[] { Batch, SeqLen })),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, new[] { Batch, SeqLen })),
        };
    }

    [Benchmark(Baseline = true, Description = "ONNX Runtime CPU")]
    public float OnnxRuntime()
    {
        using var results = _ort!.Run(_ortInputs!);
        return results.First().AsTensor<float>().GetValue(0);
    }

    [Benchmark(Description = "RankEngine SIMD")]
    public float RankEngineSimd() => _encoder!.Encode(_input).Vectors[0];

    [GlobalCleanup]
    public void Cleanup()
    {
        _ort?.Dispose();
        _encoder?.Dispose();
        _backend?.Dispose();
        _file?.Dispose();
    }
}
