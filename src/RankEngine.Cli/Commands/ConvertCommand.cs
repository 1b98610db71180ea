using System.CommandLine;
using System.Diagnostics;
using RankEngine.Model;
using RankEngine.Model.Converters;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine convert --from safetensors DIR --out FILE</c>.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from")
        {
            Description = "Source format: 'safetensors' (a Hugging Face BERT directory with config.json, vocab.txt, *.safetensors) " +
                "or 'tfjs' (USE-lite's TF.js graph model: model.json, shards, vocab.json; see tools/fetch-use-lite.sh).",
            Required = true,
        };
        from.AcceptOnlyFromAmong("safetensors", "tfjs");
        var source = new Argument<DirectoryInfo>("source") { Description = "Directory holding the source model." };
        var output = new Option<FileInfo>("--out", "-o") { Description = "Weight file to write (.rem).", Required = true };
        var dtype = new Option<string>("--dtype")
        {
            Description = "Storage type of the weight matrices: f32, f16 (half the size; computed in fp32) or i8 (int8 with one " +
                "scale per output row; run by the int8 GEMM, which quantises activations per row). Embeddings, norms and biases stay f32.",
            DefaultValueFactory = _ => "f32",
        };
        dtype.AcceptOnlyFromAmong("f32", "f16", "i8");
        var quantize = new Option<string?>("--quantize")
        {
            Description = "Quantise the weight matrices: int8 (the same as --dtype i8).",
        };
        quantize.AcceptOnlyFromAmong("int8");
        var pooling = new Option<string?>("--pooling")
        {
            Description = "Pooling (safetensors only): cls or mean. Default: sentence-transformers' 1_Pooling/config.json if present, else cls.",
        };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var noNormalize = new Option<bool>("--no-normalize") { Description = "Do not L2-normalise output vectors." };
        var maxLength = new Option<int?>("--max-length") { Description = "Maximum tokens per input (default: the model's position count)." };

        var command = new Command("convert", "Convert pretrained weights to RankEngine's weight file format.")
        {
            from, source, output, dtype, quantize, pooling, noNormalize, maxLength,
        };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(source)!;
            var outFile = parse.GetValue(output)!;
            WeightFileFormat.TryFromWire(parse.GetValue(dtype), out var storage);
            if (parse.GetValue(quantize) == "int8")
            {
                bool dtypeGiven = parse.GetResult(dtype) is { Implicit: false };
                if (dtypeGiven && storage != TensorType.I8)
                {
                    Console.Error.WriteLine($"error: --quantize int8 stores int8 matrices, but --dtype {parse.GetValue(dtype)} was also given; pass one of them");
                    return 2;
                }
                storage = TensorType.I8;
            }
            var options = new BertConversionOptions
            {
                MatrixStorage = storage,
                Pooling = parse.GetValue(pooling) switch { "cls" => Pooling.Cls, "mean" => Pooling.Mean, _ => null },
                Normalize = !parse.GetValue(noNormalize),
                MaxLength = parse.GetValue(maxLength),
            };
            return CliErrors.Run(() =>
            {
                var sw = Stopwatch.StartNew();
                var writer = parse.GetValue(from) == "tfjs"
                    ? UseLiteConverter.Convert(dir.FullName, storage)
                    : BertSafetensorsConverter.Convert(dir.FullName, options, msg => Console.Error.WriteLine($"  converting {msg}"));
                writer.Write(outFile.FullName);
                using var check = WeightFile.Open(outFile.FullName); // re-open: proves the file validates
                Console.Error.WriteLine($"wrote {outFile.FullName} ({new FileInfo(outFile.FullName).Length / 1e6:F1} MB, " +
                    $"{check.TensorNames.Count} tensors, {check.Config.NumLayers} layers × {check.Config.HiddenSize}) in {sw.Elapsed.TotalSeconds:F1} s");
                return 0;
            });
        });
        return command;
    }
}
