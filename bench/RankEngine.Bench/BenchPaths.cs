namespace RankEngine.Bench;

internal static class BenchPaths
{
    /// <summary>The repository root (holding RankEngine.sln), found from the working directory or the assembly.</summary>
    public static string RepoRoot
    {
        get
        {
            foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            {
                var dir = new DirectoryInfo(start);
                while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "RankEngine.sln"))) dir = dir.Parent;
                if (dir is not null) return dir.FullName;
            }
            throw new DirectoryNotFoundException("run the benchmarks from inside the repository (RankEngine.sln not found)");
        }
    }
}
