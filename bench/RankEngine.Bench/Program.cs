using BenchmarkDotNet.Running;

namespace RankEngine.Bench;

/// <summary>Runs any suite in this assembly: <c>dotnet run -c Release -- --filter *Store* --job short</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
