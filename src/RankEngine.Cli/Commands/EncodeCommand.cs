using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RankEngine.Compute;
using RankEngine.Encoders;

namespace RankEngine.Cli.Commands;

/// <summary><c>rankengine encode --model FILE "text" …</c>: one JSON line per text with its vector.</summary>
internal static class EncodeCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var backend = CommonOptions.Backend();
        var texts = new Argument<string[]>("text")
        {
            Description = "Texts to encode. With none (or '-'), texts are read from standard input, one per line.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("encode", "Encode texts into vectors; prints one JSON object per line: text, tokens, truncated, vector.")
        {
            model, backend, texts,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var inputs = parse.GetValue(texts) ?? Array.Empty<string>();
            if (inputs.Length == 0 || (inputs.Length == 1 && inputs[0] == "-"))
                inputs = ReadLines(Console.In);
            if (inputs.Length == 0) throw new ArgumentException("no texts given (pass them as arguments or on standard input)");
            using var be = BackendFactory.Create(parse.GetValue(backend)!);
            using var encoder = TextEncoder.Open(CommonOptions.ResolveModel(parse.GetValue(model)), be);
            Console.Error.WriteLine($"model: {encoder.Config.Architecture}, {encoder.Dimension}-d; backend: {be.Name} ({be.DeviceDescription})");
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false };
            const int chunk = 256;
            for (int start = 0; start < inputs.Length; start += chunk)
            {
                var slice = inputs.AsSpan(start, Math.Min(chunk, inputs.Length - start)).ToArray();
                var result = encoder.Encode(slice);
                for (int i = 0; i < slice.Length; i++)
                {
                    if (result.IsTruncated(i))
                        Console.Error.WriteLine($"warning: text {start + i + 1} has {result.OriginalTokenCounts[i]} tokens; truncated to the model's {encoder.MaxLength}");
                    WriteJson(stdout, slice[i], result, i);
                }
            }
            stdout.Flush();
            return 0;
        }));
        return command;
    }

    private static string[] ReadLines(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines.ToArray();
    }

    private static void WriteJson(TextWriter output, string text, TextEmbeddings result, int index)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("text", text);
            json.WriteNumber("tokens", result.TokenCounts[index]);
            json.WriteBoolean("truncated", result.IsTruncated(index));
            json.WriteStartArray("vector");
            foreach (float v in result.Vector(index)) json.WriteNumberValue(v);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }
}
