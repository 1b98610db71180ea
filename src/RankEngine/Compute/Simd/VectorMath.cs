using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>Vectorised element-wise functions used in GEMM epilogues.</summary>
internal static class VectorMath
{
    // erf(x) ≈ x·P(x²)/Q(x²) on [-4, 4], clamped outside: the rational approximation used by Eigen and XLA
    // for float32; absolute error about 1e-7 over the whole range, so GELU stays within float rounding.
    private const float A1 = -2.72614225801306e-10f, A3 = 2.77068142495902e-08f, A5 = -2.10102402082508e-06f,
        A7 = -5.69250639462346e-05f, A9 = -7.34990630326855e-04f, A11 = -2.95459980854025e-03f, A13 = -1.60960333262415e-02f;
    private const float B0 = -1.45660718464996e-05f, B2 = -2.13374055278905e-04f, B4 = -1.68282697438203e-03f,
        B6 = -7.37332916720468e-03f, B8 = -1.42647390514189e-02f;
    private const float InvSqrt2 = 0.70710678118654752f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erf(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-4f)), Vector512.Create(4f));
        var x2 = x * x;
        var p = Vector512.FusedMultiplyAdd(x2, Vector512.Create(A1), Vector512.Create(A3));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A5));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A7));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A9));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A11));
        p = Vector512.FusedMultiplyAdd(x2, p, Vector512.Create(A13));
        p *= x;
        var q = Vector512.FusedMultiplyAdd(x2, Vector512.Create(B0), Vector512.Create(B2));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(B4));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(B6));
        q = Vector512.FusedMultiplyAdd(x2, q, Vector512.Create(B8));
        return p / q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-4f)), Vector256.Create(4f));
        var x2 = x * x;
        var p = Vector256.FusedMultiplyAdd(x2, Vector256.Create(A1), Vector256.Create(A3));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A5));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A7));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A9));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A11));
        p = Vector256.FusedMultiplyAdd(x2, p, Vector256.Create(A13));
        p *= x;
        var q = Vector256.FusedMultiplyAdd(x2, Vector256.Create(B0), Vector256.Create(B2));
        q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B4));
        q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B6));
        q = Vector256.FusedMultiplyAdd(x2, q, Vector256.Create(B8));
        return p / q;
    }

    /// <summary>Scalar twin of the vector erf (same polynomial), for tails.</summary>
    public static float Erf(float x)
    {
        x = Math.Clamp(x, -4f, 4f);
        float x2 = x * x;
        float p = MathF.FusedMultiplyAdd(x2, A1, A3);
        p = MathF.FusedMultiplyAdd(x2, p, A5);
        p = MathF.FusedMultiplyAdd(x2, p, A7);
        p = MathF.FusedMultiplyAdd(x2, p, A9);
        p = MathF.FusedMultiplyAdd(x2, p, A11);
        p = MathF.FusedMultiplyAdd(x2, p, A13);
        p *= x;
        float q = MathF.FusedMultiplyAdd(x2, B0, B2);
        q = MathF.FusedMultiplyAdd(x2, q, B4);
        q = MathF.FusedMultiplyAdd(x2, q, B6);
        q = MathF.FusedMultiplyAdd(x2, q, B8);
        return p / q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Gelu(Vector512<float> x) =>
        Vector512.Create(0.5f) * x * (Vector512<float>.One + Erf(x * Vector512.Create(InvSqrt2)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Gelu(Vector256<float> x) =>
        Vector256.Create(0.5f) * x * (Vector256<float>.One + Erf(x * Vector256.Create(InvSqrt2)));

    public static float Gelu(float x) => 0.5f * x * (1f + Erf(x * InvSqrt2));

    // exp(x) = 2^n · e^r with n = round(x·log2 e), r = x − n·ln 2 (ln 2 split in two for accuracy) and e^r by the
    // Cephes expf polynomial on |r| ≤ ln2/2: relative error ≈ 1e-7; inputs below −87.3 clamp to the smallest normal
    // float (absolute error < 1.2e-38, nothing next to the softmax maximum's weight of 1).
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f, E3 = 4.1665795894e-2f,
        E4 = 1.6666665459e-1f, E5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Max(Vector512.Min(x, Vector512.Create(88.3762626647949f)), Vector512.Create(-87.3365447504019f));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(E0), r, Vector512.Create(E1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(E5));
        var y = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return y * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Max(Vector256.Min(x, Vector256.Create(88.3762626647949f)), Vector256.Create(-87.3365447504019f));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(E0), r, Vector256.Create(E1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(E5));
        var y = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        var scale = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return y * scale;
    }

    /// <summary>row[i] = exp(row[i] − shift) for i &lt; length; returns Σ row[i]. One pass (softmax numerator and denominator).</summary>
    public static unsafe float ExpShiftedInPlace(float* row, int length, float shift)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(shift);
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= length; i += 16)
            {
                var e = Exp(Vector512.Load(row + i) - s);
                Vector512.Store(e, row + i);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        else
        {
            var s = Vector256.Create(shift);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= length; i += 8)
            {
                var e = Exp(Vector256.Load(row + i) - s);
                Vector256.Store(e, row + i);
                acc += e;
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < length; i++)
        {
            row[i] = MathF.Exp(row[i] - shift);
            sum += row[i];
        }
        return sum;
    }

    /// <summary>Applies an activation in place.</summary>
    public static unsafe void Apply(Activation activation, Span<float> values)
    {
        switch (activation)
        {
            case Activation.None:
                return;
            case Activation.Relu:
                TensorPrimitives.Max(values, 0f, values);
                return;
            case Activation.Tanh:
                TensorPrimitives.Tanh(values, values);
                return;
            case Activation.Gelu:
                fixed (float* p = values)
                {
                    int i = 0;
                    if (Vector512.IsHardwareAccelerated)
                        for (; i + 16 <= values.Length; i += 16) Vector512.Store(Gelu(Vector512.Load(p + i)), p + i);
                    for (; i + 8 <= values.Length; i += 8) Vector256.Store(Gelu(Vector256.Load(p + i)), p + i);
                    for (; i < values.Length; i++) p[i] = Gelu(p[i]);
                }
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation));
        }
    }
}
