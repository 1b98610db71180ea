using BenchmarkDotNet.Running;
using RankEngine.Bench.Encoders;
using RankEngine.Bench.Scoring;

namespace RankEngine.Bench;

/// <summary>
/// Benchmarks. Side-by-side comparisons (interleaved rounds, one process; bench/run-all.sh runs them all and writes bench/RESULTS.md):
///   dotnet run -c Release --project bench/RankEngine.Bench -- encoder [rounds]          MiniLM-sized BERT vs ONNX Runtime
///   dotnet run -c Release --project bench/RankEngine.Bench -- use-lite [rounds]         USE-lite vs the JS reference
///   dotnet run -c Release --project bench/RankEngine.Bench -- scoring [rows] [rounds]   score + top-k vs FAISS IndexFlatIP
///   dotnet run -c Release --project bench/RankEngine.Bench -- quant-scan [rows] [rounds] [queries]
///                                                                         fp32 / int8 catalog scans vs FAISS Flat / SQ8, with recall@100
///   dotnet run -c Release --project bench/RankEngine.Bench -- quant-accuracy [max-titles]
///                                                                         USE-lite int8 vs fp32 vectors (cosine), per int8 kernel
///   dotnet run -c Release --project bench/RankEngine.Bench -- server [items] [connections] [depth] [rounds] [seconds]
///                                                                         RESP server vs the embedded API, plus 2× overload
///   dotnet run -c Release --project bench/RankEngine.Bench -- train-scale [items] [events] [max-rank]
///                                                                         model training time and peak memory (synthetic)
///   dotnet run -c Release --project bench/RankEngine.Bench -- event-flood [events] [users] [items] [threads]
///                                                                         disk curve of an event flood (tools/event-flood.sh)
///   dotnet run -c Release --project bench/RankEngine.Bench -- slowloris CLI.dll [connections] [auth|noauth] [seconds]
///                                                                         server RSS with stalled connections (tools/slowloris.sh)
///   dotnet run -c Release --project bench/RankEngine.Bench -- rank-cost [items] [rounds]   RANK time against the cost limit
///   dotnet run -c Release --project bench/RankEngine.Bench -- rank-path [items] [rounds]   RANK (embedded, server) vs the raw scorer
///                                                                         over the same 384 + 64-d matrices (issue #10)
///   dotnet run -c Release --project bench/RankEngine.Bench -- cluster-load|rank-load|rank-dump|rank-compare …
///                                                                         the pieces of tools/cluster-bench.sh (Cluster/ClusterBench.cs)
/// <c>--int8-kernel NAME</c> (auto, avxvnni, avx512bw, avx2, scalar) anywhere forces the int8 kernel of encoder and quant-scan.
/// BenchmarkDotNet suites (per-op detail, allocations):
///   dotnet run -c Release --project bench/RankEngine.Bench -- --filter '*Encoder*'
///   dotnet run -c Release --project bench/RankEngine.Bench -- --filter '*Store*' --job short
///   dotnet run -c Release --project bench/RankEngine.Bench -- --filter '*RankAllocation*' --job short
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        args = Int8Kernels.TakeOption(args);
        int rounds(int fallback) => args.Length > 1 ? int.Parse(args[1]) : fallback;
        switch (args.FirstOrDefault())
        {
            case "encoder":
                EncoderSideBySide.Run(rounds(15));
                return 0;
            case "use-lite":
                UseLiteSideBySide.Run(rounds(5));
                return 0;
            case "server":
                int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i]) : fallback;
                Server.ServerSideBySide.Run(Arg(1, 10_000), Arg(2, 4), Arg(3, 4), Arg(4, 5), args.Length > 5 ? double.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 2);
                return 0;
            case "train-scale":
                Models.TrainScale.Run(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, args.Length > 2 ? long.Parse(args[2]) : 10_000_000,
                    args.Length > 3 ? int.Parse(args[3]) : 128);
                return 0;
            case "event-flood":
                Hardening.HardeningRuns.EventFlood(args.Length > 1 ? long.Parse(args[1]) : 1_000_000, args.Length > 2 ? int.Parse(args[2]) : 50,
                    args.Length > 3 ? int.Parse(args[3]) : 20, args.Length > 4 ? int.Parse(args[4]) : 8);
                return 0;
            case "slowloris":
                Hardening.HardeningRuns.Slowloris(args[1], args.Length > 2 ? int.Parse(args[2]) : 1000, args.Length <= 3 || args[3] != "noauth",
                    args.Length > 4 ? int.Parse(args[4]) : 10);
                return 0;
            case "rank-cost":
                Hardening.RankCostRun.Run(args.Length > 1 ? int.Parse(args[1]) : 20_000, args.Length > 2 ? int.Parse(args[2]) : 5);
                return 0;
            case "rank-path":
                Ranking.RankPathSideBySide.Run(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, args.Length > 2 ? int.Parse(args[2]) : 5);
                return 0;
            case "quant-scan":
                QuantScanSideBySide.Run(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, args.Length > 2 ? int.Parse(args[2]) : 5,
                    args.Length > 3 ? int.Parse(args[3]) : 8);
                return 0;
            case "quant-accuracy":
                QuantAccuracy.Run(args.Length > 1 ? int.Parse(args[1]) : int.MaxValue);
                return 0;
            case "cluster-load":
            case "rank-load":
            case "rank-dump":
            case "rank-compare":
                return Cluster.ClusterBench.Run(args);
            case "scoring":
                ScoringSideBySide.Run(args.Length > 1 ? int.Parse(args[1]) : 1_000_000, args.Length > 2 ? int.Parse(args[2]) : 7);
                return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
