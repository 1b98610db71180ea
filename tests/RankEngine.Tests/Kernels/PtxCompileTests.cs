using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using RankEngine.Kernels;
using Xunit;

namespace RankEngine.Tests.Kernels;

/// <summary>
/// Compiles every kernel to PTX with ILGPU's PTX backend for Volta (SM_70) and Hopper (SM_90), without a GPU, so a
/// build without CUDA still proves the CUDA path compiles. (ILGPU 1.5.3 writes <c>.target sm_80</c> for architectures
/// above SM_80, SM_90 included; the driver JIT-compiles that PTX for the device.)
/// </summary>
public sealed class PtxCompileTests
{
    public static TheoryData<string> KernelNames
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var (name, _) in KernelEntryPoints.All) data.Add(name);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void CompilesToPtxForSm70AndSm90(string kernel)
    {
        var entry = KernelEntryPoints.All.Single(e => e.Name == kernel).EntryPoint;
        using var context = Context.Create(b => b.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        foreach (var (arch, isa, target) in new[]
        {
            (CudaArchitecture.SM_70, CudaInstructionSet.ISA_70, ".target sm_70"),
            (CudaArchitecture.SM_90, CudaInstructionSet.ISA_78, ".target sm_80"),
        })
        {
            using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, isa, nvvmAPI: null);
            var compiled = Assert.IsType<PTXCompiledKernel>(backend.Compile(entry, default));
            string ptx = compiled.PTXAssembly;
            Assert.Contains(target, ptx);
            Assert.Contains(".entry", ptx);
            Assert.Contains("ret;", ptx);
        }
    }

    [Fact]
    public void Int8KernelsUseDp4aAndExactFloatOps()
    {
        // The int8 GEMM's packed products are dp4a (inline PTX); the row quantisation divides correctly rounded
        // (div.rn, so its scales are the CPU's bit for bit) and rounds half to even with cvt.rni.
        using var context = Context.Create(b => b.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        foreach (var arch in new[] { CudaArchitecture.SM_70, CudaArchitecture.SM_90 })
        {
            using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch,
                arch == CudaArchitecture.SM_70 ? CudaInstructionSet.ISA_70 : CudaInstructionSet.ISA_78, nvvmAPI: null);
            string Ptx(string name) => ((PTXCompiledKernel)backend.Compile(KernelEntryPoints.All.Single(e => e.Name == name).EntryPoint, default)).PTXAssembly;
            Assert.Contains("dp4a.s32.s32", Ptx("gemm-i8"));
            Assert.DoesNotContain("dp4a", Ptx("gemm-i8-portable")); // for CUDA devices before sm_61
            string quantize = Ptx("int8-quantize-rows");
            Assert.Contains("cvt.rni.f32.f32", quantize);
            Assert.Contains("div.rn.f32", quantize);
            Assert.DoesNotContain("div.approx", quantize);
            Assert.DoesNotContain("div.full", quantize);
        }
    }

    [Fact]
    public void EveryKernelIsListed()
    {
        // Every public static void method of the kernels assembly that takes a view or an index and is not a
        // launcher helper must be an entry point in the list, so none escapes the PTX test.
        var listed = KernelEntryPoints.All.Select(e => e.EntryPoint.MethodSource.IsGenericMethod
            ? ((MethodInfo)e.EntryPoint.MethodSource).GetGenericMethodDefinition() : e.EntryPoint.MethodSource).ToHashSet();
        var kernels = typeof(KernelSet).Assembly.GetTypes()
            .Where(t => t.IsAbstract && t.IsSealed && t.IsPublic) // static classes
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType == typeof(void) && m.GetParameters().Any(p =>
                p.ParameterType.IsGenericType && p.ParameterType.GetGenericTypeDefinition() == typeof(ArrayView<>)))
            .ToList();
        Assert.NotEmpty(kernels);
        foreach (var m in kernels) Assert.True(listed.Contains(m), $"kernel {m.DeclaringType!.Name}.{m.Name} is not in KernelEntryPoints.All");
    }
}
