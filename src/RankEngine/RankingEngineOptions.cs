using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine;

/// <summary>Options of <see cref="RankingEngine.Open"/>.</summary>
public sealed record RankingEngineOptions
{
    /// <summary>Directory of the item/user store (created if missing; locked while open).</summary>
    public required string DataDirectory { get; init; }
    /// <summary>Weight file used to encode item text and queries; null when every item brings its own vector.</summary>
    public string? ModelPath { get; init; }
    /// <summary>Compute backend for the encoder ("auto", "simd", …).</summary>
    public string Backend { get; init; } = "auto";
    /// <summary>Content vector width when there is no model (with a model, the model's output width).</summary>
    public int ContentDimension { get; init; }
    /// <summary>Width of collaborative vectors; 0 disables them.</summary>
    public int CollabDimension { get; init; } = 32;
    /// <summary>Time for an event's influence on the user vector to halve.</summary>
    public TimeSpan ProfileHalfLife { get; init; } = TimeSpan.FromDays(30);
    /// <summary>How much each event kind weighs in user profiles.</summary>
    public EventWeights EventWeights { get; init; } = EventWeights.Default;
    /// <summary>Events kept per user (the profile is pooled from these).</summary>
    public int MaxUserEvents { get; init; } = 2000;
    /// <summary>A/B experiment name; users are bucketed by hash(user id, name).</summary>
    public string ExperimentName { get; init; } = AbBuckets.DefaultExperiment;
    /// <summary>
    /// Buckets with their ranking parameters. Null: the data directory's experiment.json if present,
    /// else one bucket with default parameters.
    /// </summary>
    public IReadOnlyList<Bucket>? Buckets { get; init; }
    /// <summary>Checkpoint period of the store (null: only on demand and at dispose).</summary>
    public TimeSpan? CheckpointInterval { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// Catalog shards the items are spread over (by a hash of their id): each is searched on its own and the results
    /// merged, so rankings are the same for any count. 1..256; default 1.
    /// </summary>
    public int CatalogShards { get; init; } = 1;

    /// <summary>
    /// How whole-catalog scans read the content vectors: <see cref="CatalogQuantization.None"/> (fp32, exact; the
    /// default), <see cref="CatalogQuantization.Int8"/> (an int8 copy is scanned first, a quarter of the bytes) or
    /// <see cref="CatalogQuantization.Fp16"/> (an fp16 copy is scanned first, half the bytes); with either the best
    /// candidates are re-scored exactly in fp32: returned scores are exact, the candidate set approximate.
    /// </summary>
    public CatalogQuantization Quantization { get; init; } = CatalogQuantization.None;
}

/// <summary>How whole-catalog scans read the content vectors (<see cref="RankingEngineOptions.Quantization"/>).</summary>
public enum CatalogQuantization
{
    /// <summary>fp32 only: every score exact, every candidate considered exactly.</summary>
    None,
    /// <summary>An int8 first pass over a quantised copy, then exact fp32 re-scoring of the best candidates.</summary>
    Int8,
    /// <summary>
    /// An fp16 (IEEE half) first pass over a copy of the content vectors, widened to fp32 block by block, then exact
    /// fp32 re-scoring of the best candidates, as with <see cref="Int8"/>: half the bytes of fp32, closer than int8.
    /// </summary>
    Fp16,
}
