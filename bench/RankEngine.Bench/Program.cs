using BenchmarkDotNet.Running;
using RankEngine.Bench.Encoders;
using RankEngine.Bench.Scoring;

namespace RankEngine.Bench;

/// <summary>
/// Benchmarks. Side-by-side comparisons (interleaved rounds, one process; the figures for bench/RESULTS.md):
///   dotnet run -c Release --project bench/RankEngine.Bench -- encoder [rounds]
///   dotnet run -c Release --project bench/RankEngine.Bench -- scoring [rows] [rounds]   (vs FAISS IndexFlatIP)
/// BenchmarkDotNet suites (per-op detail, allocations):
///   dotnet run -c Release --project bench/RankEngine.Bench -- --filter '*Encoder*'
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "encoder")
        {
            EncoderSideBySide.Run(args.Length > 1 ? int.Parse(args[1]) : 15);
            return 0;
        }
        if (args.Length > 0 && args[0] == "scoring")
        {
            ScoringSideBySide.Run(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, args.Length > 2 ? int.Parse(args[2]) : 7);
            return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
