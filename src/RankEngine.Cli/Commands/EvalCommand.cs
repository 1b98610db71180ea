using System.CommandLine;
using System.Diagnostics;
using RankEngine.Data;
using RankEngine.Evaluation;

namespace RankEngine.Cli.Commands;

/// <summary>
/// <c>rankengine eval --data ml-latest-small.zip</c>: evaluates exactly what RANK serves (<see cref="ServedEvaluator"/>):
/// the training part of a temporal split is ingested into a fresh store, trained as <c>ingest</c> does, and every
/// test user is ranked with the engine's defaults; <c>--quantization</c> picks the stores' catalog option (none, as
/// shipped, int8 or fp16). The Markdown table goes to stdout, progress to stderr.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "MovieLens .zip or directory (e.g. data/ml-latest-small.zip), or an items file (.csv/.jsonl) with --events.",
            Required = true,
        };
        var events = new Option<string?>("--events") { Description = "Events file (.csv/.jsonl: user, item, kind and/or rating, timestamp) for an items file." };
        var model = CommonOptions.Model();
        var backend = CommonOptions.Backend();
        var k = new Option<int>("-k", "--k") { Description = "List length of every metric (1..4096).", DefaultValueFactory = _ => 10 };
        var cold = new Option<double>("--cold-fraction") { Description = "Share of items made cold for the item-cold-start variant (0 skips it).", DefaultValueFactory = _ => 0.1 };
        var tags = new Option<string>("--tags-field") { Description = "Tag field for the genre diversity metric.", DefaultValueFactory = _ => "genres" };
        var lambdas = new Option<string>("--ease-lambdas") { Description = "Comma-separated λ values of the EASE baseline.", DefaultValueFactory = _ => "100,200,400" };
        var seed = new Option<int>("--seed") { Description = "Seed of the cold-item sample.", DefaultValueFactory = _ => 42 };
        var quantization = new Option<string>("--quantization")
        {
            Description = "Catalog scans of the served stores: none (fp32, the shipped default), int8 or fp16 (a quantised first pass re-scored exactly in fp32).",
            DefaultValueFactory = _ => "none",
        };
        quantization.AcceptOnlyFromAmong("none", "int8", "fp16");
        var command = new Command("eval",
            "Evaluate the served ranking on a temporal split (each user's last 20% of positives held out): ingest the training part into a fresh store, " +
            "train as 'ingest' does, RANK every test user with the shipped defaults (and with the recommended diversity); popularity, item-kNN and exact EASE " +
            "as baselines; an item-cold-start variant. Prints a Markdown table.")
        {
            data, events, model, backend, k, cold, tags, lambdas, seed, quantization,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            int kk = parse.GetValue(k);
            if (kk is < 1 or > 4096) throw new ArgumentException($"-k must be between 1 and 4096, got {kk}");
            double fraction = parse.GetValue(cold);
            if (!(fraction >= 0 && fraction < 1)) throw new ArgumentException($"--cold-fraction must be in [0, 1), got {fraction}");
            var sw = Stopwatch.StartNew();
            var input = InteractionData.Load(parse.GetValue(data)!, parse.GetValue(events));
            Console.Error.WriteLine($"read {input.Items.Count:N0} items and {input.Events.Count:N0} events from {input.Source}");
            var report = ServedEvaluator.Run(input, new ServedEvaluationOptions
            {
                K = kk,
                EaseLambdas = ParseLambdas(parse.GetValue(lambdas)!),
                ColdItemFraction = fraction,
                TagsField = parse.GetValue(tags)!,
                Seed = parse.GetValue(seed),
                ModelPath = CommonOptions.ResolveModel(parse.GetValue(model)),
                Backend = parse.GetValue(backend)!,
                Quantization = Enum.Parse<CatalogQuantization>(parse.GetValue(quantization)!, ignoreCase: true),
            }, line => Console.Error.WriteLine($"[{sw.Elapsed.TotalSeconds,6:F0}s] {line}"));
            Console.Error.WriteLine(TrainCommand.Describe(report.Model));
            Console.Error.WriteLine($"catalog quantization: {parse.GetValue(quantization)}");
            Console.Error.WriteLine($"{report.TestUsers} test users, {report.HeldOut:N0} held-out items, {report.TrainEvents:N0} training events, {report.ColdItems:N0} cold items; {sw.Elapsed.TotalSeconds:F0} s");
            Console.Write(report.ToMarkdown());
            return 0;
        }));
        return command;
    }

    private static double[] ParseLambdas(string text)
    {
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) || !(v > 0) || !double.IsFinite(v))
                throw new ArgumentException($"--ease-lambdas: '{part}' is not a positive number");
            values.Add(v);
        }
        return values.ToArray();
    }
}
