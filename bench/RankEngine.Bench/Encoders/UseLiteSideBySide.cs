using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using RankEngine.Compute.Simd;
using RankEngine.Encoders;

namespace RankEngine.Bench.Encoders;

/// <summary>
/// <c>bench use-lite</c>: our encoder on the converted USE-lite model vs the JS reference (@energetic-ai/embeddings,
/// run by tools/bench-use-lite-js.js in a child process), alternating round by round on the same MovieLens titles
/// in batches of 32. Each side times only its own encoding (model loading excluded).
/// </summary>
internal static class UseLiteSideBySide
{
    public static void Run(int rounds)
    {
        string root = BenchPaths.RepoRoot;
        string model = Path.Combine(root, "models", "default.rem");
        var titles = MovieTitles(Path.Combine(root, "data", "ml-latest-small.zip"), 2048);
        string sentencesFile = Path.Combine(Path.GetTempPath(), "rankengine-bench-titles.json");
        File.WriteAllText(sentencesFile, JsonSerializer.Serialize(titles));

        using var backend = new SimdCpuBackend();
        using var encoder = TextEncoder.Open(model, backend);
        if (encoder.Config.Architecture != "use-lite") throw new InvalidOperationException($"{model} is not USE-lite: run tools/setup.sh");
        const int batch = 32;
        var batches = Enumerable.Range(0, titles.Length / batch).Select(b => titles.Skip(b * batch).Take(batch).ToArray()).ToArray();
        encoder.Encode(batches[0]);

        var js = new List<double>();
        var ours = new List<double>();
        var ratios = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            js.Add(RunJs(root, sentencesFile, seconds: 3, batch));
            var sw = Stopwatch.StartNew();
            int done = 0, i = 0;
            while (sw.Elapsed.TotalSeconds < 3)
            {
                encoder.Encode(batches[i++ % batches.Length]);
                done += batch;
            }
            ours.Add(done / sw.Elapsed.TotalSeconds);
            ratios.Add(ours[^1] / js[^1]);
            Console.Error.Write($"\ruse-lite: round {r + 1}/{rounds}");
        }
        Console.Error.WriteLine();
        Console.WriteLine($"### encoder, USE-lite (2 layers, 512-d), MovieLens titles, batch {batch}");
        Console.WriteLine("| contender | median sentences/s | best sentences/s |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| JS reference (@energetic-ai/embeddings 0.2.0, Node {NodeVersion()}) | {SideBySide.Median(js):N0} | {js.Max():N0} |");
        Console.WriteLine($"| RankEngine SIMD | {SideBySide.Median(ours):N0} | {ours.Max():N0} |");
        Console.WriteLine($"\nmedian per-round ratio RankEngine SIMD / JS reference: **{SideBySide.Median(ratios):F1}×** ({rounds} interleaved rounds)\n");
    }

    private static double RunJs(string root, string sentencesFile, int seconds, int batch)
    {
        var psi = new ProcessStartInfo("node", $"tools/bench-use-lite-js.js \"{sentencesFile}\" {seconds} {batch}")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"tools/bench-use-lite-js.js failed: {error}");
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        return doc.RootElement.GetProperty("sentencesPerSecond").GetDouble();
    }

    private static string NodeVersion()
    {
        using var p = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true })!;
        string v = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return v;
    }

    /// <summary>Movie titles from movies.csv inside the MovieLens zip (quoted titles unquoted).</summary>
    internal static string[] MovieTitles(string zipPath, int count)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        var entry = zip.Entries.First(e => e.FullName.EndsWith("movies.csv", StringComparison.Ordinal));
        using var reader = new StreamReader(entry.Open());
        reader.ReadLine();
        var titles = new List<string>();
        while (titles.Count < count && reader.ReadLine() is { } line)
        {
            int first = line.IndexOf(','), last = line.LastIndexOf(',');
            string title = line[(first + 1)..last];
            if (title.StartsWith('"')) title = title[1..^1].Replace("\"\"", "\"");
            titles.Add(title);
        }
        return titles.ToArray();
    }
}
