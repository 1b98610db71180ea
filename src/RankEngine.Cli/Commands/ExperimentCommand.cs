using System.CommandLine;
using RankEngine.Ranking;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine experiment --set exp.json</c>: the A/B experiment every process serving a store uses.</summary>
internal static class ExperimentCommand
{
    public static Command Create()
    {
        var dataDir = EngineOptions.DataDir();
        var set = new Option<FileInfo?>("--set")
        {
            Description = "Install this experiment (JSON: {\"name\": …, \"buckets\": [{\"name\": …, \"contentWeight\", \"collabWeight\", \"diversity\", \"boosts\": {field: w}}]}).",
        };
        var command = new Command("experiment",
            "Show or set the store's A/B experiment: users are bucketed by hash(user id, experiment name) and each bucket ranks with its own parameters.")
        {
            dataDir, set,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(dataDir)!;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"no store at '{dir}': run 'rankengine ingest' first, or pass --data-dir");
            var experiment = parse.GetValue(set) is { } file
                ? ExperimentConfig.SaveTo(dir, File.ReadAllText(file.FullName))
                : ExperimentConfig.LoadFrom(dir);
            if (experiment is null)
            {
                Console.WriteLine("no experiment: every user gets the default parameters (content 1, collab 1, no diversity, no boosts)");
                return 0;
            }
            Console.WriteLine($"experiment '{experiment.Name}', {experiment.Buckets.Count} bucket(s):");
            foreach (var b in experiment.Buckets)
            {
                var p = b.Parameters;
                string boosts = p.Boosts.Count == 0 ? "none" : string.Join(", ", p.Boosts.Select(kv => $"{kv.Key}×{kv.Value}"));
                Console.WriteLine($"  {b.Name}: content {p.ContentWeight}, collab {p.CollabWeight}, diversity {p.Diversity}, boosts {boosts}");
            }
            return 0;
        }));
        return command;
    }
}
