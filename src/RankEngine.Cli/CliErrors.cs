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
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static bool Expected(Exception e) =>
        e is InvalidModelException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or RankEngine.Data.DataFormatException;

    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is InvalidModelException or ArgumentException or IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or RankEngine.Data.DataFormatException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
