using System.CommandLine;
using System.Diagnostics;
using RankEngine.Data;
using Spectre.Console;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine ingest --data ml-latest-small.zip --data-dir STORE</c>.</summary>
internal static class IngestCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "A MovieLens .zip or directory (movies, ratings, tags), or an items file (.csv/.jsonl: id, text or title, fields).",
            Required = true,
        };
        var events = new Option<string?>("--events") { Description = "Events file (.csv/.jsonl: user, item, kind or rating, weight, timestamp) for an items file." };
        var dataDir = EngineOptions.DataDir();
        var model = CommonOptions.Model();
        var backend = CommonOptions.Backend();
        var noTrain = new Option<bool>("--no-train") { Description = "Skip training the ranking model at the end (run 'rankengine train' later)." };
        var force = new Option<bool>("--force") { Description = "Rewrite items and users already in the store (default: skip them, so an interrupted ingest resumes)." };
        var command = new Command("ingest",
            "Load items (text encoded with the model) and events into the store: item vectors, popularity, collaborative vectors (implicit ALS), user profiles; then train the ranking model (as 'rankengine train'). Resumable.")
        {
            data, events, dataDir, model, backend, force, noTrain,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var sw = Stopwatch.StartNew();
            var input = InteractionData.Load(parse.GetValue(data)!, parse.GetValue(events));
            Console.Error.WriteLine($"read {input.Items.Count:N0} items and {input.Events.Count:N0} events from {input.Source}");
            using var engine = EngineOptions.Open(parse.GetValue(dataDir)!, parse.GetValue(model), parse.GetValue(backend)!, mustExist: false);
            IngestSummary summary = null!;
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) })
                .Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>
                    {
                        ["items"] = ctx.AddTask("encode and store items"),
                        ["collab"] = ctx.AddTask("collaborative vectors (ALS)"),
                        ["users"] = ctx.AddTask("user profiles"),
                    };
                    summary = Ingestion.Run(engine, input, force: parse.GetValue(force), progress: p =>
                    {
                        var task = tasks[p.Step];
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Total == 0 ? 1 : p.Done;
                    });
                    foreach (var t in tasks.Values) t.Value = t.MaxValue;
                });
            Console.Error.WriteLine($"items: {summary.ItemsAdded:N0} added, {summary.ItemsSkipped:N0} already present; " +
                $"collab vectors: {summary.CollabVectors:N0}; users: {summary.UsersAdded:N0} added, {summary.UsersSkipped:N0} already present; " +
                $"{engine.ItemCount:N0} items in {Path.GetFullPath(parse.GetValue(dataDir)!)} ({sw.Elapsed.TotalSeconds:F0} s)");
            bool changed = summary.ItemsAdded > 0 || summary.UsersAdded > 0;
            if (!parse.GetValue(noTrain) && input.Events.Count > 0 && (changed || engine.Model is null))
            {
                Console.Error.WriteLine("training the ranking model");
                TrainCommand.Run(engine, new Models.TrainOptions());
            }
            return 0;
        }));
        return command;
    }
}
