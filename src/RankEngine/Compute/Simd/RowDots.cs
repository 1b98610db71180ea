using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RankEngine.Compute.Simd;

/// <summary>
/// Dot products of one query with consecutive catalog rows, four rows per pass (Vector512 or Vector256 FMA), the
/// bandwidth-bound loop of every few-query scan. Every row's dot is accumulated exactly as <see cref="RowDot"/>
/// accumulates it, wherever the row falls in a pass, so a score recomputed for one row equals the scanned one bit
/// for bit (the ranking path relies on it: explanations and tie checks recompute single rows).
/// </summary>
internal static unsafe class RowDots
{
    /// <summary><c>output[i · stride] = query · rows[i]</c> for n consecutive rows of <paramref name="dim"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotRows(float* query, float* rows, int dim, int n, float* output, int stride)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && dim >= 16)
        {
            for (; i + 4 <= n; i += 4)
            {
                float* r0 = rows + (long)i * dim, r1 = r0 + dim, r2 = r1 + dim, r3 = r2 + dim;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                int c = 0;
                for (; c + 16 <= dim; c += 16)
                {
                    var qv = Vector512.Load(query + c);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + c), qv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + c), qv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + c), qv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + c), qv, a3);
                }
                Finish(Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3), query, r0, c, dim, output + (long)i * stride, stride);
            }
        }
        else if (Vector256.IsHardwareAccelerated && dim >= 8)
        {
            for (; i + 4 <= n; i += 4)
            {
                float* r0 = rows + (long)i * dim, r1 = r0 + dim, r2 = r1 + dim, r3 = r2 + dim;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                int c = 0;
                for (; c + 8 <= dim; c += 8)
                {
                    var qv = Vector256.Load(query + c);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + c), qv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + c), qv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + c), qv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + c), qv, a3);
                }
                Finish(Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3), query, r0, c, dim, output + (long)i * stride, stride);
            }
        }
        for (; i < n; i++) output[(long)i * stride] = RowDot(query, rows + (long)i * dim, dim);
    }

    /// <summary>The scalar tails of four rows (columns c.. of rows r0, r0+dim, …), then the four results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(float s0, float s1, float s2, float s3, float* query, float* r0, int c, int dim, float* output, int stride)
    {
        float* r1 = r0 + dim, r2 = r1 + dim, r3 = r2 + dim;
        for (; c < dim; c++)
        {
            float qc = query[c];
            s0 = MathF.FusedMultiplyAdd(r0[c], qc, s0);
            s1 = MathF.FusedMultiplyAdd(r1[c], qc, s1);
            s2 = MathF.FusedMultiplyAdd(r2[c], qc, s2);
            s3 = MathF.FusedMultiplyAdd(r3[c], qc, s3);
        }
        output[0] = s0;
        output[stride] = s1;
        output[2L * stride] = s2;
        output[3L * stride] = s3;
    }

    /// <summary>One row's dot product, accumulated as one lane of <see cref="DotRows"/>.</summary>
    public static float RowDot(float* query, float* row, int dim)
    {
        int c = 0;
        float s = 0;
        if (Vector512.IsHardwareAccelerated && dim >= 16)
        {
            Vector512<float> a = default;
            for (; c + 16 <= dim; c += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(row + c), Vector512.Load(query + c), a);
            s = Vector512.Sum(a);
        }
        else if (Vector256.IsHardwareAccelerated && dim >= 8)
        {
            Vector256<float> a = default;
            for (; c + 8 <= dim; c += 8) a = Vector256.FusedMultiplyAdd(Vector256.Load(row + c), Vector256.Load(query + c), a);
            s = Vector256.Sum(a);
        }
        for (; c < dim; c++) s = MathF.FusedMultiplyAdd(row[c], query[c], s);
        return s;
    }
}
