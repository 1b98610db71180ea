using RankEngine.Compute.Ilgpu;
using RankEngine.Compute.Reference;
using RankEngine.Compute.Simd;

namespace RankEngine.Compute;

/// <summary>
/// Chooses a compute backend by name. "auto" picks CUDA when ILGPU sees a CUDA device, else the SIMD CPU backend
/// (OpenCL and the ILGPU CPU simulator are only used when named).
/// </summary>
internal static class BackendFactory
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "auto", "simd", "cuda", "opencl", "ilgpu-cpu", "reference" };

    /// <exception cref="ArgumentException">Unknown backend name.</exception>
    /// <exception cref="NotSupportedException">A named device backend is not available here (the message says why).</exception>
    public static IComputeBackend Create(string name) => name switch
    {
        "auto" => IlgpuDevices.HasCuda() ? IlgpuBackend.Create(IlgpuDeviceKind.Cuda) : new SimdCpuBackend(),
        "simd" => new SimdCpuBackend(),
        "cuda" => IlgpuBackend.Create(IlgpuDeviceKind.Cuda),
        "opencl" => IlgpuBackend.Create(IlgpuDeviceKind.OpenCL),
        "ilgpu-cpu" => IlgpuBackend.Create(IlgpuDeviceKind.Cpu),
        "reference" => new ReferenceBackend(),
        _ => throw new ArgumentException($"unknown backend '{name}' (choose one of: {string.Join(", ", Names)})"),
    };

}
