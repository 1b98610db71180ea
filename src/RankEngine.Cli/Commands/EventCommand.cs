using System.CommandLine;
using RankEngine.Ranking;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine event --user U --item I --kind like</c>: records feedback (the next ranking reflects it).</summary>
internal static class EventCommand
{
    public static Command Create()
    {
        var dataDir = EngineOptions.DataDir();
        var model = CommonOptions.Model();
        var user = new Option<string>("--user", "-u") { Description = "The user.", Required = true };
        var item = new Option<string>("--item", "-i") { Description = "The item.", Required = true };
        var kind = new Option<string>("--kind") { Description = "view, click, like, dislike, purchase or skip.", Required = true };
        kind.AcceptOnlyFromAmong("view", "click", "like", "dislike", "purchase", "skip");
        var weight = new Option<float>("--weight") { Description = "Multiplier on the kind's weight (≥ 0).", DefaultValueFactory = _ => 1f };
        var command = new Command("event", "Record a user feedback event; the user's profile is updated at once and durably.")
        {
            dataDir, model, user, item, kind, weight,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            EventWeights.TryParseKind(parse.GetValue(kind), out var k);
            using var engine = EngineOptions.Open(parse.GetValue(dataDir)!, parse.GetValue(model), "auto", mustExist: true);
            engine.RecordEvent(parse.GetValue(user)!, parse.GetValue(item)!, k, parse.GetValue(weight));
            Console.Error.WriteLine($"recorded: {parse.GetValue(user)} {parse.GetValue(kind)} {parse.GetValue(item)}");
            return 0;
        }));
        return command;
    }
}
