using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RankEngine.Compute.Simd;

namespace RankEngine.Bench;

/// <summary>The machine lines every side-by-side suite prints first (CPU model and SIMD flags from /proc/cpuinfo, .NET).</summary>
internal static class BenchMachine
{
    /// <summary>The model name and the avx*/fma flags of the first CPU in /proc/cpuinfo ("?" and "" elsewhere).</summary>
    public static (string Model, string Flags) Cpu()
    {
        string model = "?", flags = "";
        if (File.Exists("/proc/cpuinfo"))
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (model == "?" && line.StartsWith("model name", StringComparison.Ordinal)) model = line[(line.IndexOf(':') + 1)..].Trim();
                if (flags.Length == 0 && line.StartsWith("flags", StringComparison.Ordinal))
                    flags = string.Join(' ', line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                        .Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f == "fma"));
            }
        return (model, flags);
    }

    public static void Print()
    {
        var (model, flags) = Cpu();
        Console.WriteLine($"cpu: {model}; {Environment.ProcessorCount} cores; {RuntimeInformation.OSDescription}; .NET {Environment.Version}  ");
        Console.WriteLine($"cpu flags: {flags}  ");
        Console.WriteLine($".NET: Vector512.IsHardwareAccelerated {Vector512.IsHardwareAccelerated}, Avx512BW {Avx512BW.IsSupported}, AvxVnni {AvxVnni.IsSupported}; " +
            $"int8 kernels supported: {string.Join(", ", Int8Kernels.Supported)}; default {Int8Dots.Default}  ");
        Console.WriteLine();
    }
}

/// <summary>The int8 kernels, and the one the command line forces (<c>--int8-kernel NAME</c>; Auto: the best the CPU has).</summary>
internal static class Int8Kernels
{
    public static Int8Kernel Forced { get; set; } = Int8Kernel.Auto;

    /// <summary>Every concrete kernel this CPU runs, best first as <see cref="Int8Kernel"/> lists them.</summary>
    public static IReadOnlyList<Int8Kernel> Supported =>
        Enum.GetValues<Int8Kernel>().Where(k => k != Int8Kernel.Auto && Int8Dots.IsSupported(k)).ToArray();

    /// <summary>Removes <c>--int8-kernel NAME</c> from the arguments and remembers it.</summary>
    public static string[] TakeOption(string[] args)
    {
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--int8-kernel" && i + 1 < args.Length)
            {
                Forced = Enum.Parse<Int8Kernel>(args[++i], ignoreCase: true);
                if (!Int8Dots.IsSupported(Forced)) throw new NotSupportedException($"int8 kernel {Forced} is not supported on this CPU");
            }
            else rest.Add(args[i]);
        }
        return rest.ToArray();
    }
}
