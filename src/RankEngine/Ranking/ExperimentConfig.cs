using System.Text.Json;
using System.Text.Json.Serialization;

namespace RankEngine.Ranking;

/// <summary>
/// An A/B experiment as JSON, kept in the data directory (<see cref="FileName"/>) so every process serving that store
/// (CLI commands, the server) buckets users the same way and gives each bucket the same parameters:
/// <code>
/// { "name": "mmr-test", "buckets": [
///     { "name": "control", "contentWeight": 1, "collabWeight": 1 },
///     { "name": "diverse", "diversity": 0.4, "boosts": { "popularity": 0.01 } } ] }
/// </code>
/// Omitted weights take <see cref="RankingParameters"/>' defaults.
/// </summary>
internal sealed class ExperimentConfig
{
    public const string FileName = "experiment.json";

    public string Name { get; set; } = "";
    public List<BucketConfig> Buckets { get; set; } = new();

    public sealed class BucketConfig
    {
        public string Name { get; set; } = "";
        public float ContentWeight { get; set; } = 1f;
        public float CollabWeight { get; set; } = 1f;
        public float Diversity { get; set; }
        public Dictionary<string, float> Boosts { get; set; } = new();
    }

    /// <summary>The experiment and its buckets; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public Experiment ToExperiment()
    {
        if (string.IsNullOrWhiteSpace(Name)) throw new ArgumentException("experiment: 'name' is missing");
        if (Buckets is null || Buckets.Count == 0) throw new ArgumentException($"experiment '{Name}': give at least one bucket");
        var names = new HashSet<string>(StringComparer.Ordinal);
        var buckets = new List<Bucket>(Buckets.Count);
        foreach (var b in Buckets)
        {
            if (string.IsNullOrWhiteSpace(b.Name)) throw new ArgumentException($"experiment '{Name}': a bucket has no name");
            if (!names.Add(b.Name)) throw new ArgumentException($"experiment '{Name}': bucket '{b.Name}' appears twice");
            var p = new RankingParameters { ContentWeight = b.ContentWeight, CollabWeight = b.CollabWeight, Diversity = b.Diversity, Boosts = b.Boosts ?? new() };
            try { p.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"experiment '{Name}', bucket '{b.Name}': {e.Message}", e); }
            buckets.Add(new Bucket(b.Name, p));
        }
        return new Experiment(Name, buckets);
    }

    public static ExperimentConfig Parse(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ExperimentJsonContext.Default.ExperimentConfig)
                ?? throw new ArgumentException($"{source}: empty experiment");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: malformed experiment JSON: {e.Message}", e);
        }
    }

    /// <summary>The experiment stored in a data directory, or null when there is none.</summary>
    public static Experiment? LoadFrom(string dataDirectory)
    {
        string path = Path.Combine(dataDirectory, FileName);
        return File.Exists(path) ? Parse(File.ReadAllText(path), path).ToExperiment() : null;
    }

    /// <summary>Validates <paramref name="json"/> and stores it in the data directory (atomically).</summary>
    public static Experiment SaveTo(string dataDirectory, string json)
    {
        var experiment = Parse(json, "experiment").ToExperiment();
        string path = Path.Combine(dataDirectory, FileName);
        File.WriteAllText(path + ".tmp", json);
        File.Move(path + ".tmp", path, overwrite: true);
        return experiment;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ExperimentConfig))]
internal sealed partial class ExperimentJsonContext : JsonSerializerContext
{
}
