using System.Globalization;
using System.Text.Json;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;
using RankEngine.Model;
using RankEngine.Model.Converters;

namespace RankEngine.Bench.Encoders;

/// <summary>
/// <c>bench quant-accuracy [max-titles] [--int8-kernel NAME]</c>: how far int8 weights move USE-lite's vectors. Encodes
/// the UseLite parity fixture texts (tests/RankEngine.Tests/Fixtures/UseLite/embeddings.json) and the MovieLens titles
/// (data/ml-latest-small.zip) with models/default.rem (fp32) and with an int8 conversion of the same source
/// (<c>UseLiteConverter.Convert(models/use-lite, TensorType.I8)</c>, i.e. <c>rankengine convert --from tfjs --dtype i8</c>),
/// once per int8 kernel this CPU runs (or only the forced one), and prints the min / p1 / mean cosine to fp32.
/// Not a timing: accuracy only.
/// </summary>
internal static class QuantAccuracy
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Run(int maxTitles)
    {
        string root = BenchPaths.RepoRoot;
        Console.WriteLine("# Encoder accuracy: USE-lite int8 weights vs fp32");
        BenchMachine.Print();
        string fp32Path = Path.Combine(root, "models", "default.rem"), source = Path.Combine(root, "models", "use-lite");
        if (!File.Exists(fp32Path) || !Directory.Exists(source))
            throw new FileNotFoundException("models/default.rem and models/use-lite are made by tools/setup.sh");
        var corpora = new List<(string Name, string[] Texts)>
        {
            ("UseLite parity fixture texts", FixtureTexts(Path.Combine(root, "tests", "RankEngine.Tests", "Fixtures", "UseLite", "embeddings.json"))),
            ("MovieLens titles", UseLiteSideBySide.MovieTitles(Path.Combine(root, "data", "ml-latest-small.zip"), maxTitles)),
        };
        string int8Path = Path.Combine(Path.GetTempPath(), $"rankengine-use-lite-i8-{Environment.ProcessId}.rem");
        try
        {
            UseLiteConverter.Convert(source, TensorType.I8).Write(int8Path);
            Console.WriteLine($"fp32: {fp32Path} ({new FileInfo(fp32Path).Length / 1e6:F1} MB); int8: UseLiteConverter.Convert(models/use-lite, I8) ({new FileInfo(int8Path).Length / 1e6:F1} MB)  ");
            var reference = new List<float[]>();
            int dim;
            using (var backend = new SimdCpuBackend())
            using (var fp32 = TextEncoder.Open(fp32Path, backend))
            {
                dim = fp32.Dimension;
                foreach (var (_, texts) in corpora) reference.Add(Encode(fp32, texts));
            }
            var kernels = Int8Kernels.Forced == Int8Kernel.Auto ? Int8Kernels.Supported : [Int8Kernels.Forced];
            Console.WriteLine($"int8 kernels: {string.Join(", ", kernels)} (auto picks {Int8Dots.Default})\n");
            Console.WriteLine("| int8 kernel (backend.Int8Kernel) | texts | n | min cosine | p1 cosine | mean cosine |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|");
            foreach (var kernel in kernels)
            {
                using var backend = new SimdCpuBackend(kernel);
                using var int8 = TextEncoder.Open(int8Path, backend);
                for (int c = 0; c < corpora.Count; c++)
                {
                    var vectors = Encode(int8, corpora[c].Texts);
                    var cosines = Enumerable.Range(0, corpora[c].Texts.Length)
                        .Select(i => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(
                            vectors.AsSpan(i * dim, dim), reference[c].AsSpan(i * dim, dim)))
                        .OrderBy(x => x).ToArray();
                    double p1 = cosines[(int)Math.Floor(0.01 * (cosines.Length - 1))];
                    Console.WriteLine(string.Create(Inv, $"| {backend.Int8Kernel} | {corpora[c].Name} | {cosines.Length:N0} | {cosines[0]:F6} | {p1:F6} | {cosines.Average():F6} |"));
                }
            }
            Console.WriteLine();
        }
        finally
        {
            File.Delete(int8Path);
        }
    }

    private static float[] Encode(TextEncoder encoder, string[] texts)
    {
        var all = new float[texts.Length * encoder.Dimension];
        const int batch = 256;
        for (int start = 0; start < texts.Length; start += batch)
        {
            var part = texts.AsSpan(start, Math.Min(batch, texts.Length - start)).ToArray();
            encoder.Encode(part).Vectors.CopyTo(all.AsSpan(start * encoder.Dimension));
        }
        return all;
    }

    /// <summary>A fixture case's text: its "utf16" code units when present (lone surrogates survive), else "text".</summary>
    private static string TextOf(JsonElement entry)
    {
        if (entry.TryGetProperty("utf16", out var units)) return new string(units.EnumerateArray().Select(u => (char)u.GetInt32()).ToArray());
        return entry.GetProperty("text").GetString()!;
    }

    private static string[] FixtureTexts(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(TextOf).ToArray();
    }
}
