using System.CommandLine;
using RankEngine.Model;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine model-info FILE</c>: validates a weight file and prints its config and tensors.</summary>
internal static class ModelInfoCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("model") { Description = "Weight file (.rem) to inspect." };
        var command = new Command("model-info", "Validate a weight file (checksums, shapes) and print its config and tensor index.") { file };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            using var model = WeightFile.Open(parse.GetValue(file)!.FullName);
            Console.WriteLine(model.Config.ToJson());
            foreach (var (k, v) in model.Metadata) Console.WriteLine($"# {k}: {v}");
            foreach (var name in model.TensorNames)
            {
                var t = model.Get(name);
                Console.WriteLine($"{name,-45} {WeightFileFormat.ToWire(t.Type),-4} [{string.Join(", ", t.Shape)}]");
            }
            return 0;
        }));
        return command;
    }
}
