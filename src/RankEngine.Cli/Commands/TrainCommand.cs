using System.CommandLine;
using System.Diagnostics;
using RankEngine.Models;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine train --data-dir STORE</c>: fit the ranking model from the store's events (also run at the end of ingest).</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var dataDir = EngineOptions.DataDir();
        var model = CommonOptions.Model();
        var backend = CommonOptions.Backend();
        var maxRank = new Option<int>("--max-rank") { Description = "Largest factor rank validation may choose (128, 256 or this).", DefaultValueFactory = _ => 512 };
        var command = new Command("train",
            "Fit the ranking model from the store's events: a validation split is carved from them, the model and the served weights are tuned on it, the model is refitted on every event and swapped in as the store's default.")
        {
            dataDir, model, backend, maxRank,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            int rank = parse.GetValue(maxRank);
            if (rank is < 1 or > 2048) throw new ArgumentException($"--max-rank must be between 1 and 2048, got {rank}");
            using var engine = EngineOptions.Open(parse.GetValue(dataDir)!, parse.GetValue(model), parse.GetValue(backend)!, mustExist: true);
            Run(engine, new TrainOptions { MaxRank = rank });
            return 0;
        }));
        return command;
    }

    /// <summary>Trains with progress lines on stderr and prints what was chosen.</summary>
    public static ModelDescription Run(RankingEngine engine, TrainOptions options)
    {
        var sw = Stopwatch.StartNew();
        var d = engine.Train(options, line => Console.Error.WriteLine($"  [{sw.Elapsed.TotalSeconds,6:F1}s] {line}"));
        Console.Error.WriteLine(Describe(d));
        return d;
    }

    public static string Describe(ModelDescription d) =>
        $"model v{d.Version}: {d.Kind}, rank {d.Rank}, λ {d.Lambda}, half-life {d.InputWeights.HalfLifeDays} d, view {d.InputWeights.View}, negative {d.InputWeights.Negative}; " +
        $"defaults: content {d.Defaults.ContentWeight}, collab {d.Defaults.CollabWeight}, popularity {d.Defaults.PopularityBoost}, recommended diversity {d.Defaults.RecommendedDiversity}; " +
        $"validation NDCG@10 {d.ValidationNdcg:F4}; {d.Users:N0} users, {d.Items:N0} items with factors, {d.Events:N0} positives; {d.TrainSeconds:F1} s";
}
