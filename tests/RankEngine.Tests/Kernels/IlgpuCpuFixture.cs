using RankEngine.Compute.Ilgpu;
using Xunit;

namespace RankEngine.Tests.Kernels;

/// <summary>
/// One ILGPU CPU-accelerator backend shared by the kernel tests, so each kernel is compiled once per run.
/// The CPU accelerator simulates GPU groups with threads and barriers (slow), so every test keeps its shapes tiny.
/// </summary>
public sealed class IlgpuCpuFixture : IDisposable
{
    /// <summary>Set to "cuda" (tools/gpu-check.sh) to run every kernel test on the GPU instead of the CPU accelerator.</summary>
    public const string DeviceVariable = "RANKENGINE_TEST_ILGPU_DEVICE";

    /// <summary>The device kind the kernel tests run on: the CPU accelerator unless <see cref="DeviceVariable"/> says cuda.</summary>
    internal static IlgpuDeviceKind Kind =>
        string.Equals(Environment.GetEnvironmentVariable(DeviceVariable), "cuda", StringComparison.OrdinalIgnoreCase) ? IlgpuDeviceKind.Cuda : IlgpuDeviceKind.Cpu;

    internal IlgpuBackend Backend { get; } = IlgpuBackend.Create(Kind);
    public void Dispose() => Backend.Dispose();
}

/// <summary>The ILGPU CPU-accelerator tests run one at a time (they each use every core).</summary>
[CollectionDefinition(Name)]
public sealed class IlgpuCpuCollection : ICollectionFixture<IlgpuCpuFixture>
{
    public const string Name = "ilgpu-cpu";
}
