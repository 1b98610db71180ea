using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace RankEngine.Compute.Ilgpu;

/// <summary>Which ILGPU accelerator a backend runs on.</summary>
internal enum IlgpuDeviceKind
{
    /// <summary>An NVIDIA GPU through ILGPU's PTX backend.</summary>
    Cuda,
    /// <summary>An OpenCL 2.0+ device with generic address space support.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator: a multi-threaded simulator of the GPU model (slow; for tests and debugging).</summary>
    Cpu,
}

/// <summary>Finds ILGPU devices and opens accelerators, turning "not here" into clear messages.</summary>
internal static class IlgpuDevices
{
    /// <summary>
    /// The CPU accelerator's shape: 16 threads per group (the kernels' small-group configuration, see
    /// RankEngine.Kernels.KernelSet.SmallGroups) and one simulated multiprocessor per core. Every simulated thread is
    /// an OS thread, so small groups keep barriers cheap.
    /// </summary>
    private static CPUDevice SimulatedCpu => new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 4,
        numMultiprocessors: Math.Max(1, Environment.ProcessorCount));

    /// <summary>True when ILGPU sees at least one CUDA device (false when there is no driver).</summary>
    public static bool HasCuda()
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count > 0;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Opens an accelerator of <paramref name="kind"/>; the caller owns both results.</summary>
    /// <exception cref="NotSupportedException">No such device, or the device cannot run ILGPU kernels (the message says why).</exception>
    public static (Context Context, Accelerator Accelerator) Open(IlgpuDeviceKind kind)
    {
        Context? context = null;
        try
        {
            switch (kind)
            {
                case IlgpuDeviceKind.Cuda:
                {
                    context = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
                    var devices = context.GetCudaDevices();
                    if (devices.Count == 0)
                        throw new NotSupportedException("no CUDA device found (no NVIDIA GPU, or its driver is not installed); use --backend simd");
                    return (context, devices[0].CreateAccelerator(context));
                }
                case IlgpuDeviceKind.OpenCL:
                {
                    context = Context.Create(b => b.OpenCL(_ => true).EnableAlgorithms().Optimize(OptimizationLevel.O2));
                    var devices = context.GetCLDevices();
                    if (devices.Count == 0)
                        throw new NotSupportedException(
                            "ILGPU found no OpenCL device: none is installed, or the installed drivers expose none that ILGPU " +
                            "lists (Debian's PoCL CPU driver is one: ILGPU's OpenCL backend targets OpenCL C 2.0 devices with " +
                            "generic address space support); use --backend simd (CPU) or cuda");
                    var reasons = new List<string>();
                    foreach (var device in devices)
                    {
                        string? why = OpenClProblem(device);
                        if (why is null) return (context, device.CreateAccelerator(context));
                        reasons.Add($"'{device.Name}' ({device.PlatformName}): {why}");
                    }
                    throw new NotSupportedException(
                        "no OpenCL device can run ILGPU kernels: " + string.Join("; ", reasons) +
                        ". ILGPU's OpenCL backend needs OpenCL C 2.0 with generic address space support, which Debian's PoCL " +
                        "CPU driver does not offer; use --backend simd (CPU) or cuda");
                }
                case IlgpuDeviceKind.Cpu:
                {
                    context = Context.Create(b => b.CPU(SimulatedCpu).EnableAlgorithms().Optimize(OptimizationLevel.O1));
                    return (context, context.GetPreferredDevice(preferCPU: true).CreateAccelerator(context));
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind));
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            context?.Dispose();
            throw new NotSupportedException($"the {kind} runtime library could not be loaded ({e.Message}); use --backend simd", e);
        }
        catch
        {
            context?.Dispose();
            throw;
        }
    }

    /// <summary>Why ILGPU cannot use this OpenCL device, or null when it can.</summary>
    public static string? OpenClProblem(CLDevice device)
    {
        if (device.CVersion < CLCVersion.CL20) return $"OpenCL C {device.CVersion} is below the 2.0 that ILGPU needs";
        if (!device.Capabilities.GenericAddressSpace) return "no generic address space support";
        return null;
    }

    /// <summary>"NVIDIA H100 80GB HBM3, 79.1 GiB, Cuda" style description.</summary>
    public static string Describe(Accelerator accelerator)
    {
        string memory = accelerator.MemorySize is > 0 and < long.MaxValue
            ? $"{accelerator.MemorySize / (1024.0 * 1024 * 1024):F1} GiB"
            : "host memory";
        return $"{accelerator.Name}, {memory}, {accelerator.AcceleratorType} accelerator (ILGPU)";
    }
}
