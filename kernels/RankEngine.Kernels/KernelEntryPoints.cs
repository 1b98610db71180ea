using System.Reflection;
using ILGPU.Backends.EntryPoints;
using Half = ILGPU.Half;

namespace RankEngine.Kernels;

/// <summary>
/// Every kernel of this assembly as an ILGPU entry point (generic kernels with each storage type they are launched
/// with), so tools and tests can compile all of them ahead of time, e.g. to PTX without a GPU.
/// </summary>
public static class KernelEntryPoints
{
    public static IReadOnlyList<(string Name, EntryPointDescription EntryPoint)> All { get; } = Build();

    private static List<(string, EntryPointDescription)> Build()
    {
        var list = new List<(string, EntryPointDescription)>();
        void Grouped(string name, MethodInfo method) => list.Add((name, EntryPointDescription.FromExplicitlyGroupedKernel(method)));
        void Auto(string name, MethodInfo method) => list.Add((name, EntryPointDescription.FromImplicitlyGroupedKernel(method)));

        var gemm = typeof(Gemm).GetMethod(nameof(Gemm.Kernel))!;
        Grouped("gemm-f32", gemm.MakeGenericMethod(typeof(float), typeof(F32), typeof(GpuGemmShape)));
        Grouped("gemm-f16", gemm.MakeGenericMethod(typeof(Half), typeof(F16), typeof(GpuGemmShape)));
        var gemm8 = typeof(Int8Gemm).GetMethod(nameof(Int8Gemm.Kernel))!;
        Grouped("gemm-i8", gemm8.MakeGenericMethod(typeof(GpuGemmShape), typeof(Dp4aDot)));
        Grouped("gemm-i8-portable", gemm8.MakeGenericMethod(typeof(GpuGemmShape), typeof(PortableDot)));
        Grouped("int8-quantize-rows", typeof(Int8Gemm).GetMethod(nameof(Int8Gemm.QuantizeRows))!);
        Grouped("layernorm", typeof(LayerNorm).GetMethod(nameof(LayerNorm.Kernel))!);
        Grouped("l2-normalize", typeof(L2Normalize).GetMethod(nameof(L2Normalize.Kernel))!);
        Grouped("attention", typeof(Attention).GetMethod(nameof(Attention.Kernel))!);
        Auto("pooling", typeof(Pooling).GetMethod(nameof(Pooling.Kernel))!);
        Auto("embedding", typeof(Embedding).GetMethod(nameof(Embedding.Kernel))!);
        var scatter = typeof(DotScore).GetMethod(nameof(DotScore.ScatterKernel))!;
        Auto("catalog-scatter-f32", scatter.MakeGenericMethod(typeof(float)));
        Auto("catalog-scatter-f16", scatter.MakeGenericMethod(typeof(Half)));
        Grouped("topk-select-shared", typeof(TopK).GetMethod(nameof(TopK.SelectShared))!);
        Grouped("topk-select-global", typeof(TopK).GetMethod(nameof(TopK.SelectGlobal))!);
        Grouped("topk-merge-shared", typeof(TopK).GetMethod(nameof(TopK.MergeShared))!);
        Grouped("topk-merge-global", typeof(TopK).GetMethod(nameof(TopK.MergeGlobal))!);
        return list;
    }
}
