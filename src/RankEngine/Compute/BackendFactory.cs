using RankEngine.Compute.Reference;
using RankEngine.Compute.Simd;

namespace RankEngine.Compute;

/// <summary>Chooses a compute backend by name ("auto" picks the fastest available).</summary>
public static class BackendFactory
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "auto", "simd", "reference" };

    /// <exception cref="ArgumentException">Unknown backend name.</exception>
    public static IComputeBackend Create(string name) => name switch
    {
        "auto" or "simd" => new SimdCpuBackend(),
        "reference" => new ReferenceBackend(),
        _ => throw new ArgumentException($"unknown backend '{name}' (choose one of: {string.Join(", ", Names)})"),
    };
}
