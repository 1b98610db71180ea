using System.CommandLine;
using RankEngine.Cli.Commands;

namespace RankEngine.Cli;

/// <summary>Entry point of the <c>rankengine</c> command.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var parse = BuildRoot().Parse(args);
        return parse.Errors.Count > 0 ? ParseErrors.Report(parse) : parse.Invoke();
    }

    /// <summary>The command tree.</summary>
    internal static Command BuildRoot()
    {
        // A plain command named like the launcher (./rankengine), so help and errors say "rankengine", not the dll name.
        var root = new Command("rankengine",
            "RankEngine: a ranking engine with a hand-written Transformer encoder.\n" +
            "Encode text with converted pretrained weights, store items and users, rank with dot products.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
        };
        root.Subcommands.Add(ConvertCommand.Create());
        root.Subcommands.Add(ModelInfoCommand.Create());
        root.Subcommands.Add(EncodeCommand.Create());
        root.Subcommands.Add(IngestCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(RankCommand.Create());
        root.Subcommands.Add(EventCommand.Create());
        root.Subcommands.Add(ExperimentCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        return root;
    }
}
