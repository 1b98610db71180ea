using RankEngine.Store;

namespace RankEngine.Encoders;

/// <summary>The record, in a data directory, of which encoder model its item vectors came from.</summary>
internal static class ModelIdentityFile
{
    /// <summary>
    /// Item vectors are only comparable with queries encoded by the same model: the first model used with a data
    /// directory is recorded there, and opening it with another model is refused.
    /// </summary>
    public static void Check(string directory, string? identity)
    {
        string path = Path.Combine(directory, "model-identity.txt");
        if (identity is null) return;
        if (File.Exists(path))
        {
            string recorded = File.ReadAllText(path).Trim();
            if (recorded != identity)
                throw new StoreSchemaMismatchException(
                    $"data directory '{directory}' was built with model {recorded}, but this model is {identity}: its vectors would not be comparable (use the original model or a new data directory)");
            return;
        }
        File.WriteAllText(path, identity + "\n");
    }
}
