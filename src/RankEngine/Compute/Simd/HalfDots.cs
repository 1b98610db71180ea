using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RankEngine.Compute.Simd;

/// <summary>
/// Dot products of an fp32 query with consecutive fp16 rows, four rows per pass, widening the halves in registers:
/// the first pass of an fp16 catalog scan, which streams half the bytes of fp32. .NET exposes no <c>vcvtph2ps</c>,
/// so the widening is the exact bit trick: the half's sign, exponent and mantissa moved into a float's fields and
/// the result multiplied by 2¹¹² to re-bias the exponent (subnormal halves come out right because the float is a
/// subnormal too). A half with exponent 31 (∞, NaN: values beyond the fp16 range) widens to a finite ±65,536 … 131,008
/// instead: the first pass then sees a very large value, and the exact fp32 re-scoring decides.
/// </summary>
internal static unsafe class HalfDots
{
    private const float Rebias = 5.192296858534828e33f; // 2^112

    /// <summary><c>output[i] = query · rows[i]</c> for n consecutive rows of <paramref name="dim"/> halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotRows(float* query, Half* rows, int dim, int n, float* output)
    {
        int i = 0;
        long ahead = 8L * dim;
        if (Avx512F.IsSupported && dim >= 32)
        {
            for (; i + 4 <= n; i += 4)
            {
                ushort* r0 = (ushort*)rows + (long)i * dim, r1 = r0 + dim, r2 = r1 + dim, r3 = r2 + dim;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                int c = 0;
                for (; c + 32 <= dim; c += 32)
                {
                    var q0 = Vector512.Load(query + c);
                    var q1 = Vector512.Load(query + c + 16);
                    // The widening costs more per byte than fp32's loads: fetch the next four rows ahead, or the stream stalls.
                    Sse.Prefetch0(r0 + ahead + c); Sse.Prefetch0(r1 + ahead + c); Sse.Prefetch0(r2 + ahead + c); Sse.Prefetch0(r3 + ahead + c);
                    a0 = Avx512F.FusedMultiplyAdd(Widen16(r0 + c), q0, a0); a0 = Avx512F.FusedMultiplyAdd(Widen16(r0 + c + 16), q1, a0);
                    a1 = Avx512F.FusedMultiplyAdd(Widen16(r1 + c), q0, a1); a1 = Avx512F.FusedMultiplyAdd(Widen16(r1 + c + 16), q1, a1);
                    a2 = Avx512F.FusedMultiplyAdd(Widen16(r2 + c), q0, a2); a2 = Avx512F.FusedMultiplyAdd(Widen16(r2 + c + 16), q1, a2);
                    a3 = Avx512F.FusedMultiplyAdd(Widen16(r3 + c), q0, a3); a3 = Avx512F.FusedMultiplyAdd(Widen16(r3 + c + 16), q1, a3);
                }
                output[i] = Vector512.Sum(a0) + Tail(query, r0, c, dim);
                output[i + 1] = Vector512.Sum(a1) + Tail(query, r1, c, dim);
                output[i + 2] = Vector512.Sum(a2) + Tail(query, r2, c, dim);
                output[i + 3] = Vector512.Sum(a3) + Tail(query, r3, c, dim);
            }
        }
        else if (Avx2.IsSupported && Fma.IsSupported && dim >= 16)
        {
            for (; i + 4 <= n; i += 4)
            {
                ushort* r0 = (ushort*)rows + (long)i * dim, r1 = r0 + dim, r2 = r1 + dim, r3 = r2 + dim;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                int c = 0;
                for (; c + 16 <= dim; c += 16)
                {
                    var q0 = Vector256.Load(query + c);
                    var q1 = Vector256.Load(query + c + 8);
                    Sse.Prefetch0(r0 + ahead + c); Sse.Prefetch0(r1 + ahead + c); Sse.Prefetch0(r2 + ahead + c); Sse.Prefetch0(r3 + ahead + c);
                    a0 = Fma.MultiplyAdd(Widen8(r0 + c), q0, a0); a0 = Fma.MultiplyAdd(Widen8(r0 + c + 8), q1, a0);
                    a1 = Fma.MultiplyAdd(Widen8(r1 + c), q0, a1); a1 = Fma.MultiplyAdd(Widen8(r1 + c + 8), q1, a1);
                    a2 = Fma.MultiplyAdd(Widen8(r2 + c), q0, a2); a2 = Fma.MultiplyAdd(Widen8(r2 + c + 8), q1, a2);
                    a3 = Fma.MultiplyAdd(Widen8(r3 + c), q0, a3); a3 = Fma.MultiplyAdd(Widen8(r3 + c + 8), q1, a3);
                }
                output[i] = Vector256.Sum(a0) + Tail(query, r0, c, dim);
                output[i + 1] = Vector256.Sum(a1) + Tail(query, r1, c, dim);
                output[i + 2] = Vector256.Sum(a2) + Tail(query, r2, c, dim);
                output[i + 3] = Vector256.Sum(a3) + Tail(query, r3, c, dim);
            }
        }
        for (; i < n; i++) output[i] = Tail(query, (ushort*)rows + (long)i * dim, 0, dim);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(float* query, ushort* row, int c, int dim)
    {
        float s = 0;
        for (; c < dim; c++) s = MathF.FusedMultiplyAdd(Widen(row[c]), query[c], s);
        return s;
    }

    /// <summary>One half's bits as a float, by the same trick as the vector paths.</summary>
    public static float Widen(ushort bits)
    {
        uint v = bits;
        uint f = ((v & 0x7FFFu) << 13) | ((v & 0x8000u) << 16);
        return BitConverter.UInt32BitsToSingle(f) * Rebias;
    }

    // 16 halves → 16 floats: vpmovzxwd, then the field move and the re-biasing multiply (all in registers).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen16(ushort* p)
    {
        var v = Avx512F.ConvertToVector512UInt32(Vector256.Load(p));
        var f = Avx512F.ShiftLeftLogical(Avx512F.And(v, Vector512.Create(0x7FFFu)), 13) | Avx512F.ShiftLeftLogical(Avx512F.And(v, Vector512.Create(0x8000u)), 16);
        return Avx512F.Multiply(f.AsSingle(), Vector512.Create(Rebias));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen8(ushort* p)
    {
        var v = Avx2.ConvertToVector256Int32(Vector128.Load(p)).AsUInt32();
        var f = Avx2.ShiftLeftLogical(Avx2.And(v, Vector256.Create(0x7FFFu)), 13) | Avx2.ShiftLeftLogical(Avx2.And(v, Vector256.Create(0x8000u)), 16);
        return Avx.Multiply(f.AsSingle(), Vector256.Create(Rebias));
    }
}
