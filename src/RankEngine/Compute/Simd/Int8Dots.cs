using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RankEngine.Compute.Simd;

/// <summary>The instruction sets an int8 dot-product kernel can use, best first.</summary>
internal enum Int8Kernel
{
    /// <summary>Pick the best the CPU reports.</summary>
    Auto,
    /// <summary>VEX <c>vpdpbusd</c> (AVX-VNNI), 32 bytes per instruction.</summary>
    AvxVnni,
    /// <summary>The AVX-512BW widening pair <c>vpmaddubsw</c> + <c>vpmaddwd</c>, 64 bytes per pair.</summary>
    Avx512BW,
    /// <summary>The AVX2 widening pair, 32 bytes per pair.</summary>
    Avx2,
    /// <summary>Plain C#.</summary>
    Scalar,
}

/// <summary>
/// <c>Σ u_i · r_i</c> of an unsigned query (bytes 0..127) with signed int8 rows (−127..127), exactly, in int32: the
/// first pass of a quantised catalog scan. Rows are stored with a stride that is a multiple of 64 bytes, zero padded.
/// The query's bytes stay ≤ 127 so the AVX2/AVX-512BW pair (<c>vpmaddubsw</c> adds two u8·s8 products into a
/// saturating int16) can never saturate: 2 · 127 · 127 = 32,258 &lt; 32,767. Every kernel returns the same integer.
/// </summary>
internal static unsafe class Int8Dots
{
    /// <summary>Row strides are multiples of this many bytes.</summary>
    public const int StrideAlign = 64;

    public static int Stride(int dimension) => (dimension + StrideAlign - 1) / StrideAlign * StrideAlign;

    /// <summary>True when the CPU can run the kernel.</summary>
    public static bool IsSupported(Int8Kernel kernel) => kernel switch
    {
        Int8Kernel.AvxVnni => AvxVnni.IsSupported,
        Int8Kernel.Avx512BW => Avx512BW.IsSupported,
        Int8Kernel.Avx2 => Avx2.IsSupported,
        Int8Kernel.Scalar => true,
        Int8Kernel.Auto => true,
        _ => false,
    };

    /// <summary>The kernel <paramref name="requested"/> resolves to (Auto: AVX-VNNI, else AVX-512BW, else AVX2, else scalar).</summary>
    /// <exception cref="NotSupportedException">A forced kernel the CPU lacks.</exception>
    public static Int8Kernel Resolve(Int8Kernel requested)
    {
        if (requested != Int8Kernel.Auto)
            return IsSupported(requested) ? requested : throw new NotSupportedException($"this CPU has no {requested} instructions");
        if (AvxVnni.IsSupported) return Int8Kernel.AvxVnni;
        if (Avx512BW.IsSupported) return Int8Kernel.Avx512BW;
        if (Avx2.IsSupported) return Int8Kernel.Avx2;
        return Int8Kernel.Scalar;
    }

    /// <summary>The kernel used when none is forced.</summary>
    public static Int8Kernel Default { get; } = Resolve(Int8Kernel.Auto);

    /// <summary><c>output[i] = Σ_j query[j] · rows[i·stride + j]</c> for n rows (stride bytes apart).</summary>
    public static void DotRows(Int8Kernel kernel, byte* query, sbyte* rows, int stride, int n, int* output)
    {
        switch (kernel)
        {
            case Int8Kernel.AvxVnni:
            {
                // Four rows per pass: each query chunk is loaded once for four rows, and four chains run side by side.
                int i = 0;
                for (; i + 4 <= n; i += 4) DotVnni4(query, rows + (long)i * stride, stride, output + i);
                for (; i < n; i++) output[i] = DotVnni(query, rows + (long)i * stride, stride);
                break;
            }
            case Int8Kernel.Avx512BW:
            {
                int i = 0;
                for (; i + 4 <= n; i += 4) Dot512x4(query, rows + (long)i * stride, stride, output + i);
                for (; i < n; i++) output[i] = Dot512(query, rows + (long)i * stride, stride);
                break;
            }
            case Int8Kernel.Avx2:
                for (int i = 0; i < n; i++) output[i] = Dot256(query, rows + (long)i * stride, stride);
                break;
            default:
                for (int i = 0; i < n; i++) output[i] = DotScalar(query, rows + (long)i * stride, stride);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DotVnni(byte* q, sbyte* r, int stride)
    {
        Vector256<int> a0 = default, a1 = default;
        for (int c = 0; c < stride; c += 64)
        {
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, Vector256.Load(q + c), Vector256.Load(r + c));
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, Vector256.Load(q + c + 32), Vector256.Load(r + c + 32));
        }
        return Vector256.Sum(a0 + a1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotVnni4(byte* q, sbyte* r, int stride, int* output)
    {
        sbyte* r1 = r + stride, r2 = r1 + stride, r3 = r2 + stride;
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < stride; c += 32)
        {
            var qv = Vector256.Load(q + c);
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, qv, Vector256.Load(r + c));
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, qv, Vector256.Load(r1 + c));
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, qv, Vector256.Load(r2 + c));
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, qv, Vector256.Load(r3 + c));
        }
        output[0] = Vector256.Sum(a0);
        output[1] = Vector256.Sum(a1);
        output[2] = Vector256.Sum(a2);
        output[3] = Vector256.Sum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot512x4(byte* q, sbyte* r, int stride, int* output)
    {
        var ones = Vector512.Create((short)1);
        sbyte* r1 = r + stride, r2 = r1 + stride, r3 = r2 + stride;
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < stride; c += 64)
        {
            var qv = Vector512.Load(q + c);
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qv, Vector512.Load(r + c)), ones);
            a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qv, Vector512.Load(r1 + c)), ones);
            a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qv, Vector512.Load(r2 + c)), ones);
            a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(qv, Vector512.Load(r3 + c)), ones);
        }
        output[0] = Vector512.Sum(a0);
        output[1] = Vector512.Sum(a1);
        output[2] = Vector512.Sum(a2);
        output[3] = Vector512.Sum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot512(byte* q, sbyte* r, int stride)
    {
        var ones = Vector512.Create((short)1);
        Vector512<int> a = default;
        for (int c = 0; c < stride; c += 64)
            a += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Load(q + c), Vector512.Load(r + c)), ones);
        return Vector512.Sum(a);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot256(byte* q, sbyte* r, int stride)
    {
        var ones = Vector256.Create((short)1);
        Vector256<int> a = default;
        for (int c = 0; c < stride; c += 32)
            a += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Load(q + c), Vector256.Load(r + c)), ones);
        return Vector256.Sum(a);
    }

    private static int DotScalar(byte* q, sbyte* r, int stride)
    {
        int s = 0;
        for (int c = 0; c < stride; c++) s += q[c] * r[c];
        return s;
    }

    /// <summary>
    /// Quantises a row to int8 with one scale (<c>max|x| / 127</c>): <c>x_j ≈ scale · q_j</c>. Writes the padded row and
    /// returns (scale, Σ q_j); an all-zero row has scale 0.
    /// </summary>
    public static (float Scale, int Sum) QuantizeRow(ReadOnlySpan<float> row, Span<sbyte> destination)
    {
        float max = 0;
        foreach (float x in row) max = Math.Max(max, Math.Abs(x));
        destination.Clear();
        if (max == 0 || !float.IsFinite(max)) return (0f, 0);
        float inverse = 127f / max;
        int sum = 0;
        for (int j = 0; j < row.Length; j++)
        {
            int v = Math.Clamp((int)MathF.Round(row[j] * inverse), -127, 127);
            destination[j] = (sbyte)v;
            sum += v;
        }
        return (max / 127f, sum);
    }

    /// <summary>The query offset: query bytes are <c>q_j + 64</c> with q_j in −63..63, so they stay ≤ 127.</summary>
    public const int QueryOffset = 64;

    /// <summary>
    /// Quantises a query to 7 bits plus the offset (<c>x_j ≈ scale · (u_j − 64)</c>), padded with the offset's zero
    /// (a byte 0 where the row is padded does not count). Returns the scale (0 for an all-zero query).
    /// </summary>
    public static float QuantizeQuery(ReadOnlySpan<float> query, Span<byte> destination)
    {
        float max = 0;
        foreach (float x in query) max = Math.Max(max, Math.Abs(x));
        destination.Clear();
        if (max == 0 || !float.IsFinite(max)) return 0f;
        float inverse = 63f / max;
        for (int j = 0; j < query.Length; j++)
            destination[j] = (byte)(Math.Clamp((int)MathF.Round(query[j] * inverse), -63, 63) + QueryOffset);
        return max / 63f;
    }
}
