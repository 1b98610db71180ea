using RankEngine.Compute;
using RankEngine.Compute.Ilgpu;
using RankEngine.Compute.Simd;
using Xunit;

namespace RankEngine.Tests.Compute;

/// <summary>Backend choice by name: every name resolves or fails with a clear reason, never a crash.</summary>
public sealed class BackendFactoryTests
{
    [Fact]
    public void AutoPicksCudaWhenPresentElseSimd()
    {
        using var backend = BackendFactory.Create("auto");
        Assert.Equal(IlgpuDevices.HasCuda() ? "cuda" : "simd", backend.Name);
        Assert.False(string.IsNullOrWhiteSpace(backend.DeviceDescription));
    }

    [Theory]
    [InlineData("cuda", "CUDA")]
    [InlineData("opencl", "OpenCL")]
    public void DeviceBackendsOpenOrExplainWhyNot(string name, string word)
    {
        try
        {
            using var backend = BackendFactory.Create(name);
            Assert.Equal(name, backend.Name);
            Assert.Contains("ILGPU", backend.DeviceDescription);
        }
        catch (NotSupportedException e)
        {
            Assert.Contains(word, e.Message);
            Assert.Contains("--backend simd", e.Message); // says what to do instead
        }
    }

    [Fact]
    public void IlgpuCpuAndSimdAlwaysOpen()
    {
        using var cpu = BackendFactory.Create("ilgpu-cpu");
        Assert.Equal("ilgpu-cpu", cpu.Name);
        Assert.Contains("CPU", cpu.DeviceDescription);
        Assert.IsAssignableFrom<IScoringBackend>(cpu);
        using var simd = BackendFactory.Create("simd");
        Assert.IsType<SimdCpuBackend>(simd);
        Assert.IsAssignableFrom<IScoringBackend>(simd);
    }

    [Fact]
    public void UnknownNameListsTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => BackendFactory.Create("tpu"));
        Assert.Contains("ilgpu-cpu", e.Message);
    }
}
