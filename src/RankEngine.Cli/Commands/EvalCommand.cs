using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RankEngine.Compute;
using RankEngine.Data;
using RankEngine.Encoders;
using RankEngine.Evaluation;
using Spectre.Console;

namespace RankEngine.Cli.Commands;

/// <summary>
/// <c>rankengine eval --data data/ml-latest-small.zip [--model FILE] [-k 10] [--diversity λ]</c>: the offline
/// evaluation of <see cref="OfflineEvaluator"/>; the Markdown table goes to stdout, progress and choices to stderr.
/// </summary>
internal static class EvalCommand
{
    /// <summary>Everything the command needs, parsed.</summary>
    internal sealed record Arguments
    {
        public required string Data { get; init; }
        public string? Events { get; init; }
        public string? Model { get; init; }
        public string Backend { get; init; } = "auto";
        public int K { get; init; } = 10;
        public float? Diversity { get; init; }
        public string? CacheDirectory { get; init; } = DefaultCacheDirectory;
        public int Threads { get; init; }
        public int Seed { get; init; } = 42;
    }

    public const string DefaultCacheDirectory = "models/cache";

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
        var diversity = new Option<float?>("--diversity")
        {
            Description = "MMR λ in [0, 1] for hybrid+MMR. Default: chosen on the validation split (most diverse within 5% NDCG).",
        };
        var cache = new Option<string>("--cache-dir")
        {
            Description = "Where encoded item vectors are cached (keyed by model file and item texts).",
            DefaultValueFactory = _ => DefaultCacheDirectory,
        };
        var noCache = new Option<bool>("--no-cache") { Description = "Always encode items; read and write no cache." };
        var threads = new Option<int>("--threads") { Description = "Worker threads (0 = all processors).", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the ALS initialisation.", DefaultValueFactory = _ => 42 };

        var command = new Command("eval",
            "Offline evaluation on a temporal split: popularity, item-kNN, content, collab, hybrid and hybrid+MMR; " +
            "HR, NDCG, recall, intra-list diversity and coverage at k. Prints a Markdown table.")
        {
            data, events, model, backend, k, diversity, cache, noCache, threads, seed,
        };
        command.SetAction(parse => CliErrors.Run(() => Execute(new Arguments
        {
            Data = parse.GetValue(data)!,
            Events = parse.GetValue(events),
            Model = parse.GetValue(model),
            Backend = parse.GetValue(backend)!,
            K = parse.GetValue(k),
            Diversity = parse.GetValue(diversity),
            CacheDirectory = parse.GetValue(noCache) ? null : parse.GetValue(cache),
            Threads = parse.GetValue(threads),
            Seed = parse.GetValue(seed),
        }, Console.Out, Console.Error)));
        return command;
    }

    internal static int Execute(Arguments args, TextWriter stdout, TextWriter stderr)
    {
        if (args.K <= 0 || args.K > 4096) throw new ArgumentException($"-k must be between 1 and 4096, got {args.K}");
        if (args.Diversity is float l && !(l >= 0 && l <= 1)) throw new ArgumentException($"--diversity must be in [0, 1], got {l}");
        if (args.Threads < 0) throw new ArgumentException("--threads cannot be negative");
        string modelPath = CommonOptions.ResolveModel(args.Model);
        var total = Stopwatch.StartNew();

        var data = InteractionData.Load(args.Data, args.Events);
        stderr.WriteLine($"data: {data.Source}: {data.Items.Count:N0} items, {data.Events.Count:N0} events");
        if (data.Events.Count == 0) throw new ArgumentException($"'{args.Data}' has no events to evaluate on (give --events)");

        using var backend = BackendFactory.Create(args.Backend);
        using var encoder = TextEncoder.Open(modelPath, backend);
        stderr.WriteLine($"model: {modelPath} ({encoder.Config.Architecture}, {encoder.Dimension}-d); backend: {backend.Name}");

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) });
        var options = new EvaluationOptions
        {
            K = args.K,
            Diversity = args.Diversity,
            Threads = args.Threads,
            Als = new EvaluationOptions().Als with { Seed = args.Seed },
        };
        float[] vectors = Array.Empty<float>();
        bool cached = false;
        TimeSpan encodeTime = default;
        EvaluationReport? report = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var sw = Stopwatch.StartNew();
                var texts = new string[data.Items.Count];
                for (int i = 0; i < texts.Length; i++) texts[i] = data.Items[i].Text;
                var encoding = ctx.AddTask("encoding items", maxValue: texts.Length);
                vectors = ItemVectorCache.EncodeAll(encoder, modelPath, texts, args.CacheDirectory, out cached,
                    (done, _) => encoding.Value = done);
                encoding.Value = texts.Length;
                encodeTime = sw.Elapsed;
                report = OfflineEvaluator.Run(data, vectors, encoder.Dimension, options, new SpectreProgress(ctx));
            });
        var r = report!;
        stderr.WriteLine($"item vectors: {(cached ? "from cache" : "encoded")} in {encodeTime.TotalSeconds:F1} s");
        stderr.WriteLine($"split: {r.Users:N0} users, {r.TestUsers:N0} evaluated ({r.HeldOutItems:N0} held-out positives), " +
                         $"{r.TrainEvents:N0} training events; validation: {r.ValidationUsers:N0} users");
        foreach (var t in r.Tuning)
            stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  validation {t.What,-10} {t.Setting,-20} NDCG@{r.K} {t.Ndcg:F4}  ILD@{r.K} {t.IntraListDiversity:F4}"));
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ALS: d {r.Als.Factors}, {r.Als.Iterations} iterations, λ {r.Als.Regularization:0.###}, α {r.Als.Alpha:0.###}, seed {r.Als.Seed}"));
        string how = r.DiversityTuned
            ? string.Create(CultureInfo.InvariantCulture, $"most diverse within {options.MaxNdcgCost:P0} of the hybrid's validation NDCG")
            : "given";
        stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"chosen on validation: hybrid content weight {r.ContentWeight:0.###} (collab weight 1), popularity boost {r.PopularityBoost:0.###}; MMR λ {r.Diversity:0.##} ({how})"));
        stderr.WriteLine($"total {total.Elapsed.TotalSeconds:F1} s");
        stdout.Write(r.ToMarkdown());
        stdout.Flush();
        return 0;
    }

    /// <summary>Draws the library's progress steps as Spectre.Console tasks (steps may advance from several threads).</summary>
    private sealed class SpectreProgress : IProgressReporter
    {
        private readonly ProgressContext _ctx;
        public SpectreProgress(ProgressContext ctx) => _ctx = ctx;

        public IProgressStep Begin(string description, long total) => new Step(_ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total)));

        private sealed class Step : IProgressStep
        {
            private readonly ProgressTask _task;
            private readonly Lock _gate = new();
            public Step(ProgressTask task) => _task = task;

            public void Advance(long amount = 1)
            {
                lock (_gate) _task.Increment(amount);
            }

            public void Dispose()
            {
                lock (_gate)
                {
                    _task.Value = _task.MaxValue;
                    _task.StopTask();
                }
            }
        }
    }
}
