using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Model;

namespace RankEngine.Bench.Encoders;

/// <summary>
/// <c>bench encoder</c>: RankEngine's SIMD encoder vs ONNX Runtime CPU on the same MiniLM-sized weights,
/// interleaved round by round (see <see cref="SideBySide"/>), for batch 32 × 128 and 1 × 16: fp32, fp16 and int8
/// weights on our side (minilm-random{,-f16,-i8}.rem), fp32 and int8 dynamic (tools/quantize_onnx_dynamic.py:
/// DynamicQuantizeLinear + MatMulInteger, fused by ORT into DynamicQuantizeMatMul) on ORT's. Before timing: our
/// hidden states against ORT's, and each int8 model's cosine to its own fp32 model. <c>--int8-kernel NAME</c> forces
/// the int8 kernel of our backend (whatever the int8 weight path does with it).
/// </summary>
internal static class EncoderSideBySide
{
    public static void Run(int rounds)
    {
        string models = Path.Combine(BenchPaths.RepoRoot, "models");
        using var file = WeightFile.Open(Path.Combine(models, "minilm-random.rem"));
        foreach (string needed in new[] { "minilm-random-f16.rem", "minilm-random-i8.rem", Path.Combine("minilm-random", "model-int8-dynamic.onnx") })
            if (!File.Exists(Path.Combine(models, needed))) throw new FileNotFoundException($"models/{needed} is missing: run tools/bench-models.sh");
        using var backend = new SimdCpuBackend(Int8Kernels.Forced);
        using var encoder = new TransformerEncoder(file, backend);
        using var fileF16 = WeightFile.Open(Path.Combine(models, "minilm-random-f16.rem"));
        using var encoderF16 = new TransformerEncoder(fileF16, backend);
        using var fileI8 = WeightFile.Open(Path.Combine(models, "minilm-random-i8.rem"));
        using var encoderI8 = new TransformerEncoder(fileI8, backend);
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
        };
        using var ort = new InferenceSession(Path.Combine(models, "minilm-random", "model.onnx"), options);
        string optimizedI8 = Path.Combine(Path.GetTempPath(), $"rankengine-ort-int8-optimized-{Environment.ProcessId}.onnx");
        var optionsI8 = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = Environment.ProcessorCount,
            OptimizedModelFilePath = optimizedI8,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, // not the warning that a saved optimised model is machine-specific
        };
        using var ortI8 = new InferenceSession(Path.Combine(models, "minilm-random", "model-int8-dynamic.onnx"), optionsI8);
        // What ORT's optimiser made of the quantised graph: nodes per op type in the saved optimised model (NodeProto.op_type
        // is field 4, length-delimited: the bytes 0x22, the length, the name).
        string optimizedText = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(optimizedI8));
        File.Delete(optimizedI8);
        int Count(string op)
        {
            string needle = "\x22" + (char)op.Length + op;
            int n = 0;
            for (int at = optimizedText.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = optimizedText.IndexOf(needle, at + 1, StringComparison.Ordinal)) n++;
            return n;
        }
        BenchMachine.Print();
        Console.WriteLine($"ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}, {Environment.ProcessorCount} threads each; backend: {backend.DeviceDescription}  ");
        Console.WriteLine($"ONNX Runtime int8 graph after optimisation: {Count("DynamicQuantizeMatMul")} DynamicQuantizeMatMul, {Count("MatMulIntegerToFloat")} MatMulIntegerToFloat, " +
            $"{Count("MatMulInteger")} MatMulInteger, {Count("DynamicQuantizeLinear")} DynamicQuantizeLinear (nodes in the saved optimised model)  ");
        Console.WriteLine($"RankEngine SIMD int8 kernel: {backend.Int8Kernel}{(Int8Kernels.Forced == Int8Kernel.Auto ? " (auto)" : " (forced by --int8-kernel)")}\n");

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
                var int8 = encoderI8.Encode(input).Vectors;
                var (worstI8, meanI8) = Cosines(int8, full, 384);
                Console.WriteLine($"batch {batch}×{len}: RankEngine int8-weight vectors vs fp32: worst cosine {worstI8:F6}, mean {meanI8:F6}");
                var oursHiddenI8 = encoderI8.Encode(input, returnHiddenStates: true).HiddenStates!;
                var (worstH, meanH) = Cosines(oursHiddenI8, ours, 384);
                using var rI8 = ortI8.Run(ortInputs);
                var ortHiddenI8 = rI8.First().AsTensor<float>().ToArray();
                var (worstOrt, meanOrt) = Cosines(ortHiddenI8, ortHidden, 384);
                Console.WriteLine($"batch {batch}×{len}: hidden states per token, int8 vs fp32: RankEngine worst cosine {worstH:F6} (mean {meanH:F6}); " +
                    $"ONNX Runtime int8 dynamic worst {worstOrt:F6} (mean {meanOrt:F6})");
            }
            var results = SideBySide.RunRounds($"encoder, MiniLM-sized, batch {batch} × {len} tokens", rounds, TimeSpan.FromSeconds(batch == 1 ? 0.3 : 1.0),
                new SideBySide.Contender("ONNX Runtime CPU", () => { using var r = ort.Run(ortInputs); }, batch * len, "tokens/s"),
                new SideBySide.Contender("ONNX Runtime int8 dynamic", () => { using var r = ortI8.Run(ortInputs); }, batch * len, "tokens/s"),
                new SideBySide.Contender("RankEngine SIMD fp16 weights", () => encoderF16.Encode(input), batch * len, "tokens/s"),
                new SideBySide.Contender("RankEngine SIMD int8", () => encoderI8.Encode(input), batch * len, "tokens/s"),
                new SideBySide.Contender("RankEngine SIMD", () => encoder.Encode(input), batch * len, "tokens/s"));
            Console.WriteLine($"median per-round ratio RankEngine SIMD int8 / ONNX Runtime int8 dynamic: **{SideBySide.MedianRatio(results[3], results[1]):F2}×**  ");
            Console.WriteLine($"median per-round ratio RankEngine SIMD int8 / RankEngine SIMD: **{SideBySide.MedianRatio(results[3], results[4]):F2}×**  ");
            Console.WriteLine($"median per-round ratio ONNX Runtime int8 dynamic / ONNX Runtime CPU: **{SideBySide.MedianRatio(results[1], results[0]):F2}×**  \n");
        }
    }

    /// <summary>Worst and mean cosine between matching rows of width <paramref name="width"/>.</summary>
    private static (double Worst, double Mean) Cosines(float[] a, float[] b, int width)
    {
        double worst = 1, sum = 0;
        int n = a.Length / width;
        for (int i = 0; i < n; i++)
        {
            double c = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.AsSpan(i * width, width), b.AsSpan(i * width, width));
            worst = Math.Min(worst, c);
            sum += c;
        }
        return (worst, sum / n);
    }
}
