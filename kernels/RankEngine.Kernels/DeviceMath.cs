using ILGPU;
using Half = ILGPU.Half;

namespace RankEngine.Kernels;

/// <summary>Element-wise activation codes understood by the kernels (same order as RankEngine.Model.Activation).</summary>
public enum KernelActivation
{
    None = 0,
    Gelu = 1,
    Relu = 2,
    Tanh = 3,
}

/// <summary>How a kernel reads one stored element as float32: the struct-generic way to share one kernel body
/// between fp32 and fp16 storage (see ILGPU's Samples/GenericKernel).</summary>
public interface IElement<T> where T : unmanaged
{
    float ToFloat(T value);
}

/// <summary>float32 storage.</summary>
public readonly struct F32 : IElement<float>
{
    public float ToFloat(float value) => value;
}

/// <summary>IEEE binary16 storage (<see cref="ILGPU.Half"/>), computed in float32.</summary>
public readonly struct F16 : IElement<Half>
{
    public float ToFloat(Half value) => (float)value;
}

/// <summary>
/// Math used inside kernels. Written out explicitly rather than calling MathF.Tanh and friends because ILGPU's PTX
/// backend lowers those to <c>tanh.approx</c> (about 1e-3 relative error), which would break parity with the CPU
/// backends; exp and sqrt lower to accurate-enough instructions.
/// </summary>
internal static class DeviceMath
{
    // erf(x) ≈ x·P(x²)/Q(x²) on [-4, 4], clamped outside (the same rational approximation as the SIMD backend).
    private const float A1 = -2.72614225801306e-10f, A3 = 2.77068142495902e-08f, A5 = -2.10102402082508e-06f,
        A7 = -5.69250639462346e-05f, A9 = -7.34990630326855e-04f, A11 = -2.95459980854025e-03f, A13 = -1.60960333262415e-02f;
    private const float B0 = -1.45660718464996e-05f, B2 = -2.13374055278905e-04f, B4 = -1.68282697438203e-03f,
        B6 = -7.37332916720468e-03f, B8 = -1.42647390514189e-02f;
    private const float InvSqrt2 = 0.70710678118654752f;

    public static float Erf(float x)
    {
        x = x < -4f ? -4f : x > 4f ? 4f : x;
        float x2 = x * x;
        float p = x2 * A1 + A3;
        p = x2 * p + A5;
        p = x2 * p + A7;
        p = x2 * p + A9;
        p = x2 * p + A11;
        p = x2 * p + A13;
        p *= x;
        float q = x2 * B0 + B2;
        q = x2 * q + B4;
        q = x2 * q + B6;
        q = x2 * q + B8;
        return p / q;
    }

    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    /// <summary>tanh from exp: <c>sign(x)·(1 − e)/(1 + e)</c> with <c>e = exp(−2|x|)</c> (no overflow, no cancellation for large |x|).
    /// For |x| &lt; 0.004 the odd series x − x³/3 avoids the relative error of 1 − e near zero.</summary>
    public static float Tanh(float x)
    {
        float ax = x < 0 ? -x : x;
        if (ax < 0.004f) return x - x * x * x * (1f / 3f);
        float e = MathF.Exp(-2f * ax);
        float t = (1f - e) / (1f + e);
        return x < 0 ? -t : t;
    }

    public static float Activate(float v, int activation) => activation switch
    {
        (int)KernelActivation.Gelu => Gelu(v),
        (int)KernelActivation.Relu => v > 0f ? v : 0f,
        (int)KernelActivation.Tanh => Tanh(v),
        _ => v,
    };

    /// <summary>Largest group the reduction kernels are launched with (their shared scratch holds this many floats).</summary>
    public const int MaxGroupSize = 128;

    /// <summary>Sum of one value per thread over the group (1-D, size a power of two ≤ <see cref="MaxGroupSize"/>).
    /// Every thread of the group must call it; all get the total.</summary>
    public static float GroupSum(ArrayView<float> scratch, float value, int thread)
    {
        int groupSize = Group.DimX;
        scratch[thread] = value;
        Group.Barrier();
        for (int s = groupSize >> 1; s > 0; s >>= 1)
        {
            if (thread < s) scratch[thread] += scratch[thread + s];
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier(); // nobody may overwrite scratch[0] before everyone has read it
        return total;
    }

    /// <summary>Maximum of one value per thread over the group; same contract as <see cref="GroupSum"/>.</summary>
    public static float GroupMax(ArrayView<float> scratch, float value, int thread)
    {
        int groupSize = Group.DimX;
        scratch[thread] = value;
        Group.Barrier();
        for (int s = groupSize >> 1; s > 0; s >>= 1)
        {
            if (thread < s)
            {
                float other = scratch[thread + s];
                if (other > scratch[thread]) scratch[thread] = other;
            }
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }
}
