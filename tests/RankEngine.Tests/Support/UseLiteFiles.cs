using System.Text.Json;

namespace RankEngine.Tests.Support;

/// <summary>
/// Locates the USE-lite model files (models/use-lite, written by tools/fetch-use-lite.sh, which tools/setup-deps.sh
/// runs) and the reference fixtures. A missing model file fails the test with the command that fixes it: these tests
/// never skip.
/// </summary>
internal static class UseLiteFiles
{
    /// <summary>Environment variable that overrides the model directory.</summary>
    public const string DirectoryVariable = "RANKENGINE_USE_LITE_DIR";

    public static string ModelDirectory
    {
        get
        {
            string? overridden = Environment.GetEnvironmentVariable(DirectoryVariable);
            string directory = !string.IsNullOrEmpty(overridden) ? overridden : Path.Combine(RepositoryRoot, "models", "use-lite");
            return directory;
        }
    }

    public static string VocabularyPath => Require(Path.Combine(ModelDirectory, "vocab.json"));

    public static string ModelJsonPath => Require(Path.Combine(ModelDirectory, "model.json"));

    public static string FixturePath(string name) =>
        Require(Path.Combine(AppContext.BaseDirectory, "Fixtures", "UseLite", name));

    public static JsonDocument ReadFixture(string name) => JsonDocument.Parse(File.ReadAllBytes(FixturePath(name)));

    /// <summary>Text of a fixture entry: "utf16" code units when present (unpaired surrogates), else "text".</summary>
    public static string TextOf(JsonElement entry)
    {
        if (entry.TryGetProperty("utf16", out var units))
        {
            var chars = new char[units.GetArrayLength()];
            int i = 0;
            foreach (var u in units.EnumerateArray()) chars[i++] = (char)u.GetInt32();
            return new string(chars);
        }
        return entry.GetProperty("text").GetString()!;
    }

    public static int[] IntArray(JsonElement array)
    {
        var result = new int[array.GetArrayLength()];
        int i = 0;
        foreach (var v in array.EnumerateArray()) result[i++] = v.GetInt32();
        return result;
    }

    private static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "RankEngine.sln"))) return dir.FullName;
            throw new InvalidOperationException($"RankEngine.sln not found above {AppContext.BaseDirectory}; set {DirectoryVariable}.");
        }
    }

    private static string Require(string path) => File.Exists(path)
        ? path
        : throw new FileNotFoundException(
            $"{path} is missing. Run tools/setup-deps.sh (or tools/fetch-use-lite.sh) to fetch the USE-lite model files, or set {DirectoryVariable}.", path);
}
