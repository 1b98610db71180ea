using RankEngine.Compute.Ilgpu;
using Xunit;

namespace RankEngine.Tests.Kernels;

/// <summary>
/// One ILGPU CPU-accelerator backend shared by the kernel tests, so each kernel is compiled once per run.
/// The CPU accelerator simulates GPU groups with threads and barriers (slow), so every test keeps its shapes tiny.
/// </summary>
public sealed class IlgpuCpuFixture : IDisposable
{
    public IlgpuBackend Backend { get; } = IlgpuBackend.Create(IlgpuDeviceKind.Cpu);
    public void Dispose() => Backend.Dispose();
}

/// <summary>The ILGPU CPU-accelerator tests run one at a time (they each use every core).</summary>
[CollectionDefinition(Name)]
public sealed class IlgpuCpuCollection : ICollectionFixture<IlgpuCpuFixture>
{
    public const string Name = "ilgpu-cpu";
}
