using System.CommandLine;
using RankEngine.Compute;

namespace RankEngine.Cli;

/// <summary>Options shared by several commands.</summary>
internal static class CommonOptions
{
    /// <summary>Where the README's setup puts the default model.</summary>
    public const string DefaultModelPath = "models/default.rem";

    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = $"Weight file (.rem). Default: $RANKENGINE_MODEL, else {DefaultModelPath} (made by tools/setup.sh).",
    };

    public static Option<string> Backend()
    {
        var option = new Option<string>("--backend")
        {
            Description = "Compute backend: auto (CUDA if a CUDA device exists, else simd), simd (CPU), cuda, opencl (devices with " +
                "generic address space only), ilgpu-cpu (ILGPU CPU simulator, slow), reference (slow scalar ground truth).",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong(BackendFactory.Names.ToArray());
        return option;
    }

    /// <summary>The model path from the option, the environment, or the default; a clear error if it does not exist.</summary>
    public static string ResolveModel(string? option)
    {
        string path = option ?? Environment.GetEnvironmentVariable("RANKENGINE_MODEL") ?? DefaultModelPath;
        if (!File.Exists(path))
            throw new FileNotFoundException(option is null
                ? $"no model at '{path}': run tools/setup.sh once, or pass --model FILE"
                : $"model file '{path}' does not exist");
        return path;
    }
}

/// <summary>Opening the engine from command-line options.</summary>
internal static class EngineOptions
{
    public const string DefaultDataDirectory = ".data/store";

    public static Option<string> DataDir() => new("--data-dir", "-d")
    {
        Description = $"Store directory (created by 'ingest'). Default: {DefaultDataDirectory}.",
        DefaultValueFactory = _ => DefaultDataDirectory,
    };

    public static RankingEngine Open(string dataDir, string? model, string backend, bool mustExist)
    {
        if (mustExist && !Directory.Exists(dataDir))
            throw new DirectoryNotFoundException($"no store at '{dataDir}': run 'rankengine ingest' first, or pass --data-dir");
        return RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = dataDir,
            ModelPath = CommonOptions.ResolveModel(model),
            Backend = backend,
        });
    }
}
