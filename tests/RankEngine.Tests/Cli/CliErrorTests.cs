using System.CommandLine;
using System.Diagnostics;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Cli;

/// <summary>
/// The CLI as a person meets it (the real <c>rankengine</c> in a child process): mistakes get one clear line, not
/// the whole help or a .NET exception; a filter on a field no item has is warned about; flags mean the same
/// everywhere.
/// </summary>
public sealed class CliErrorTests : IClassFixture<CliErrorTests.Store>
{
    /// <summary>A two-item store ingested through the CLI from JSONL with a nested fields object.</summary>
    public sealed class Store : IDisposable
    {
        private readonly TinyBertFixture _model = new();
        private readonly TempDir _dir = new();
        public string ModelPath => _model.ModelPath;
        public string DataDir => _dir.File("store");

        public Store()
        {
            File.WriteAllText(_dir.File("items.jsonl"),
                "{\"id\": \"a\", \"text\": \"a heist film\", \"fields\": {\"year\": 2000, \"genres\": [\"Crime\"]}}\n" +
                "{\"id\": \"b\", \"text\": \"a family drama\", \"year\": 1990}\n");
            var r = Run("ingest", "--data", _dir.File("items.jsonl"), "--model", ModelPath, "--backend", "simd", "-d", DataDir);
            Assert.True(r.Exit == 0, r.Stderr);
        }

        public void Dispose()
        {
            _dir.Dispose();
            _model.Dispose();
        }
    }

    private readonly Store _store;

    public CliErrorTests(Store store) => _store = store;

    internal static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RankEngine.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }

    private string[] Rank(params string[] args) => ["rank", "-d", _store.DataDir, "--model", _store.ModelPath, "--backend", "simd", .. args];

    [Fact]
    public void MistypedOptionGetsDidYouMeanNotTheHelp()
    {
        var r = Run("rank", "--exclude-sen");
        Assert.Equal(1, r.Exit);
        Assert.Equal("", r.Stdout);
        Assert.Equal("error: unknown option '--exclude-sen' for 'rankengine rank': did you mean '--exclude-seen'?\n(see 'rankengine rank --help')\n", r.Stderr);

        r = Run("rnak", "-k", "3");
        Assert.Equal(1, r.Exit);
        Assert.StartsWith("error: unexpected argument 'rnak' for 'rankengine': did you mean 'rankengine rank'?\n", r.Stderr);
    }

    [Fact]
    public void BadEnumValueIsOneLineListingTheChoices()
    {
        var r = Run("rank", "--backend", "gpu");
        Assert.Equal(1, r.Exit);
        Assert.Equal("", r.Stdout);
        var lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal("error: Argument 'gpu' not recognized. Must be one of: 'auto' 'simd' 'cuda' 'opencl' 'ilgpu-cpu' 'reference'", lines[0]);
        Assert.DoesNotContain("Description:", r.Stderr);
    }

    [Fact]
    public void OutOfRangeValuesAreOneLine()
    {
        var r = Run(Rank("-k", "0"));
        Assert.Equal(1, r.Exit);
        Assert.Equal("error: k must be between 1 and 4096\n", r.Stderr);
        r = Run("eval", "--data", "unused.csv", "-k", "5000");
        Assert.Equal(1, r.Exit);
        Assert.Equal("error: -k must be between 1 and 4096, got 5000\n", r.Stderr);
    }

    [Fact]
    public void FilterOnAFieldNoItemHasIsWarned()
    {
        var r = Run(Rank("--filter", "colour=red"));
        Assert.Equal(0, r.Exit);
        Assert.Equal("warning: no item has a field 'colour', so --filter on it matches nothing\n", r.Stderr);
        // The nested "fields" object of the JSONL file became real fields: the filter matches item a.
        r = Run(Rank("--filter", "genres=Crime"));
        Assert.Equal(0, r.Exit);
        Assert.Equal("", r.Stderr);
        Assert.Matches(@"(?m)^\s+1\s.*\sa$", r.Stdout);
        Assert.DoesNotMatch(@"(?m)\sb$", r.Stdout);
    }

    [Fact]
    public void ShortFlagsMeanTheSameInEveryCommand()
    {
        var root = RankEngine.Cli.Program.BuildRoot();
        var meaning = new Dictionary<string, string>();
        foreach (var command in root.Subcommands)
            foreach (var option in command.Options)
                foreach (var alias in option.Aliases.Where(a => a.Length == 2 && a[0] == '-'))
                {
                    if (meaning.TryGetValue(alias, out var name)) Assert.True(name == option.Name, $"{alias} is {name} in one command and {option.Name} in '{command.Name}'");
                    else meaning[alias] = option.Name;
                }
        Assert.Equal("--data-dir", meaning["-d"]);
        Assert.Equal("-k", root.Subcommands.Single(c => c.Name == "eval").Options.Single(o => o.Aliases.Contains("--k") || o.Name == "-k").Name);
        Assert.Equal("-k", root.Subcommands.Single(c => c.Name == "rank").Options.Single(o => o.Aliases.Contains("--k") || o.Name == "-k").Name);
    }
}
