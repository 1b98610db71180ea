using RankEngine.Model;

namespace RankEngine.Cli;

/// <summary>Turns expected failures (bad files, bad arguments) into one clear line on stderr and exit code 1.</summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (Expected(e))
        {
            Console.Error.WriteLine($"error: {Clean(e)}");
            return 1;
        }
    }

    /// <summary>
    /// The message as one line: without .NET's " (Parameter 'x')" and "Actual value was …" tails, which say
    /// nothing to someone at a shell.
    /// </summary>
    internal static string Clean(Exception e)
    {
        string message = e.Message;
        int tail = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (tail > 0) message = message[..tail];
        int actual = message.IndexOf("Actual value was", StringComparison.Ordinal);
        if (actual > 0) message = message[..actual];
        return ParseErrors.OneLine(message);
    }

    private static bool Expected(Exception e) =>
        e is InvalidModelException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or RankEngine.Data.DataFormatException;

    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (Expected(e))
        {
            Console.Error.WriteLine($"error: {Clean(e)}");
            return 1;
        }
    }
}
