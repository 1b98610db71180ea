using System.CommandLine;

namespace RankEngine.Cli;

/// <summary>
/// Command-line mistakes as one line each on stderr, instead of System.CommandLine's errors followed by the whole
/// help: an unknown option gets the closest real one ("did you mean"), a value outside a fixed set lists the set.
/// </summary>
internal static class ParseErrors
{
    public static int Report(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        string path = CommandPath(parse);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in parse.UnmatchedTokens)
        {
            string line = token.StartsWith('-')
                ? $"error: unknown option '{token}' for '{path}'" + (Closest(token, command) is { } guess ? $": did you mean '{guess}'?" : "")
                : $"error: unexpected argument '{token}' for '{path}'" + (ClosestCommand(token, command) is { } sub ? $": did you mean '{path} {sub}'?" : "");
            Console.Error.WriteLine(line);
            reported.Add(token);
        }
        foreach (var error in parse.Errors)
        {
            string message = OneLine(error.Message);
            // The unmatched-token errors were reported above, with a suggestion.
            if (reported.Any(t => message.Contains($"'{t}'", StringComparison.Ordinal) && message.StartsWith("Unrecognized", StringComparison.Ordinal))) continue;
            if (reported.Count > 0 && message.StartsWith("Required command", StringComparison.Ordinal)) continue;
            Console.Error.WriteLine($"error: {message}");
        }
        Console.Error.WriteLine($"(see '{path} --help')");
        return 1;
    }

    private static string CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Add(r.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>Newlines and tabs of a multi-line message (e.g. a list of allowed values) folded into one line.</summary>
    internal static string OneLine(string message)
    {
        var parts = message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(' ', parts);
    }

    /// <summary>The option name or alias of <paramref name="command"/> nearest to <paramref name="token"/> (edit distance), if near enough.</summary>
    internal static string? Closest(string token, Command command)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var option in command.Options)
        {
            if (option.Hidden) continue;
            foreach (var name in option.Aliases.Prepend(option.Name))
            {
                int d = Distance(token, name);
                if (d < bestDistance) (best, bestDistance) = (option.Name, d);
            }
        }
        return best is not null && bestDistance <= Math.Max(2, token.Length / 3) ? best : null;
    }

    private static string? ClosestCommand(string token, Command command)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var sub in command.Subcommands)
        {
            int d = Distance(token, sub.Name);
            if (d < bestDistance) (best, bestDistance) = (sub.Name, d);
        }
        return best is not null && bestDistance <= Math.Max(2, token.Length / 3) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        Span<int> previous = stackalloc int[b.Length + 1];
        Span<int> current = stackalloc int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            current.CopyTo(previous);
        }
        return previous[b.Length];
    }
}
