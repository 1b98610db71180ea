using System.Diagnostics;

namespace RankEngine.Bench;

/// <summary>
/// Alternates two (or more) contenders round by round in one process and reports medians and the median of the
/// per-round ratios. These machines share their host with other workloads, so only interleaved, same-run
/// comparisons are meaningful; absolute numbers drift by 2× within minutes.
/// </summary>
internal static class SideBySide
{
    public sealed record Contender(string Name, Action Run, double WorkPerRun, string WorkUnit);

    /// <summary>One contender's figures: medians and bests of its per-round rates, and the rates themselves (round order).</summary>
    public sealed record Result(string Name, double Median, double Best, IReadOnlyList<double> Rates);

    public static IReadOnlyList<(string Name, double Median, double Best)> Run(string title, int rounds, TimeSpan minRoundTime,
        params Contender[] contenders) =>
        RunRounds(title, rounds, minRoundTime, contenders).Select(r => (r.Name, r.Median, r.Best)).ToList();

    /// <summary>The median of the per-round ratios <paramref name="a"/> / <paramref name="b"/> (rates of the same rounds).</summary>
    public static double MedianRatio(Result a, Result b) => Median(a.Rates.Zip(b.Rates, (x, y) => x / y).ToList());

    /// <summary>As <see cref="Run"/>, returning every contender's per-round rates too.</summary>
    public static IReadOnlyList<Result> RunRounds(string title, int rounds, TimeSpan minRoundTime, params Contender[] contenders)
    {
        foreach (var c in contenders) { c.Run(); c.Run(); } // warm-up, JIT, allocations
        // Calibrate: repetitions per round so each contender runs at least minRoundTime.
        var reps = new int[contenders.Length];
        for (int i = 0; i < contenders.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            contenders[i].Run();
            reps[i] = Math.Max(1, (int)Math.Ceiling(minRoundTime.TotalSeconds / Math.Max(1e-6, sw.Elapsed.TotalSeconds)));
        }
        var rates = contenders.Select(_ => new List<double>()).ToArray();
        var ratios = contenders.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
        {
            for (int i = 0; i < contenders.Length; i++)
            {
                var sw = Stopwatch.StartNew();
                for (int k = 0; k < reps[i]; k++) contenders[i].Run();
                rates[i].Add(contenders[i].WorkPerRun * reps[i] / sw.Elapsed.TotalSeconds);
            }
            for (int i = 1; i < contenders.Length; i++) ratios[i].Add(rates[i][^1] / rates[0][^1]);
            Console.Error.Write($"\r{title}: round {r + 1}/{rounds}");
        }
        Console.Error.WriteLine();
        var result = new List<Result>();
        Console.WriteLine($"### {title}");
        Console.WriteLine($"| contender | median {contenders[0].WorkUnit} | best {contenders[0].WorkUnit} |");
        Console.WriteLine("|---|---:|---:|");
        for (int i = 0; i < contenders.Length; i++)
        {
            double median = Median(rates[i]), best = rates[i].Max();
            result.Add(new Result(contenders[i].Name, median, best, rates[i]));
            Console.WriteLine($"| {contenders[i].Name} | {Rate(median)} | {Rate(best)} |");
        }
        Console.WriteLine();
        for (int i = 1; i < contenders.Length; i++)
            Console.WriteLine($"median per-round ratio {contenders[i].Name} / {contenders[0].Name}: **{Median(ratios[i]):F2}×** ({rounds} interleaved rounds)  ");
        Console.WriteLine();
        return result;
    }

    /// <summary>A rate with at least three significant digits (1,234 / 12.3 / 1.23).</summary>
    public static string Rate(double value) => value >= 100 ? value.ToString("N0") : value >= 10 ? value.ToString("F1") : value.ToString("F2");

    public static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
