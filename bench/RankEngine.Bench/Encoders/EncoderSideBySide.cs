using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Model;

namespace RankEngine.Bench.Encoders;

/// <summary>
/// <c>bench encoder</c>: RankEngine's SIMD encoder vs ONNX Runtime CPU on the same MiniLM-sized weights,
/// interleaved round by round (see <see cref="SideBySide"/>), for batch 32 × 128 and 1 × 16.
/// </summary>
internal static class EncoderSideBySide
{
    public static void Run(int rounds)
    {
        string models = Path.Combine(BenchPaths.RepoRoot, "models");
        using var file = WeightFile.Open(Path.Combine(models, "minilm-random.rem"));
        using var backend = new SimdCpuBackend();
        using var encoder = new TransformerEncoder(file, backend);
        using var fileF16 = WeightFile.Open(Path.Combine(models, "minilm-random-f16.rem"));
        using var encoderF16 = new TransformerEncoder(fileF16, backend);
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
        };
        using var ort = new InferenceSession(Path.Combine(models, "minilm-random", "model.onnx"), options);
        Console.WriteLine($"ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}, {Environment.ProcessorCount} threads each; backend: {backend.DeviceDescription}\n");

        foreach (var (batch, len) in new[] { (32, 128), (1, 16) })
        {
            var rng = new Random(42);
            var ids = new long[batch * len];
            var seqs = new List<int[]>();
            for (int b = 0; b < batch; b++)
            {
                var s = new int[len];
                for (int t = 0; t < len; t++) ids[b * len + t] = s[t] = rng.Next(1000, 30000);
                seqs.Add(s);
            }
            var input = EncoderInput.Pack(seqs);
            var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
            var ortInputs = new List<NamedOnnxValue>
            {
                NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, new[] { batch, len })),
                NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, new[] { batch, len })),
            };
            // Same weights, same inputs: check the outputs agree before timing anything.
            using (var r = ort.Run(ortInputs))
            {
                var ortHidden = r.First().AsTensor<float>().ToArray();
                var ours = encoder.Encode(input, returnHiddenStates: true).HiddenStates!;
                float maxDiff = 0;
                for (int i = 0; i < ours.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - ortHidden[i]));
                Console.WriteLine($"batch {batch}×{len}: max |ours − ORT| over all hidden states = {maxDiff:g3}");
                var half = encoderF16.Encode(input).Vectors;
                var full = encoder.Encode(input).Vectors;
                double worst = 1;
                for (int b = 0; b < batch; b++)
                    worst = Math.Min(worst, System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(half.AsSpan(b * 384, 384), full.AsSpan(b * 384, 384)));
                Console.WriteLine($"batch {batch}×{len}: fp16-weight vectors vs fp32: worst cosine {worst:F6}");
            }
            SideBySide.Run($"encoder, MiniLM-sized, batch {batch} × {len} tokens", rounds, TimeSpan.FromSeconds(batch == 1 ? 0.3 : 1.0),
                new SideBySide.Contender("ONNX Runtime CPU", () => { using var r = ort.Run(ortInputs); }, batch * len, "tokens/s"),
                new SideBySide.Contender("RankEngine SIMD fp16 weights", () => encoderF16.Encode(input), batch * len, "tokens/s"),
                new SideBySide.Contender("RankEngine SIMD", () => encoder.Encode(input), batch * len, "tokens/s"));
        }
    }
}
