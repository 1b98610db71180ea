using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace RankEngine.Compute.Simd;

/// <summary>
/// Multi-head self-attention over packed sequences: one work item per (sequence, head). Keys are transposed into a
/// [headSize × paddedLength] scratch and values gathered into [length × paddedHeadSize]; queries go 8 at a time
/// through two register-tiled micro-GEMMs (scores = Q·Kᵀ, output = P·V) with 16 independent accumulators, so the
/// FMAs are throughput- rather than latency-bound (Vector512 where available, Vector256 otherwise). Softmax subtracts
/// the row maximum of the scaled scores and exponentiates and sums in one pass; the 1/Σ is applied to the output.
/// </summary>
internal static unsafe class SimdAttention
{
    [ThreadStatic] private static float[]? t_scratch;

    public static void Run(float* qkv, int qkvStride, float* context, int contextStride, ReadOnlySpan<int> starts,
        int heads, int headSize, float scale)
    {
        int sequences = starts.Length - 1;
        var startsCopy = starts.ToArray();
        var job = new Job(qkv, qkvStride, context, contextStride, startsCopy, heads, headSize, scale);
        ParallelRunner.For(sequences * heads, job);
    }

    private readonly struct Job : ParallelRunner.IBody
    {
        private readonly float* _qkv, _ctx;
        private readonly int _qkvStride, _ctxStride, _heads, _headSize;
        private readonly int[] _starts;
        private readonly float _scale;

        public Job(float* qkv, int qkvStride, float* ctx, int ctxStride, int[] starts, int heads, int headSize, float scale)
        {
            _qkv = qkv; _qkvStride = qkvStride; _ctx = ctx; _ctxStride = ctxStride; _starts = starts;
            _heads = heads; _headSize = headSize; _scale = scale;
        }

        public void Run(int index)
        {
            int seq = index / _heads, head = index % _heads;
            Head(_qkv, _qkvStride, _ctx, _ctxStride, _starts[seq], _starts[seq + 1] - _starts[seq], head, _heads, _headSize, _scale);
        }
    }

    private const int QueryBlock = 8;

    private static void Head(float* qkv, int qkvStride, float* ctx, int ctxStride, int start, int len, int head, int heads,
        int d, float scale)
    {
        int hidden = heads * d;
        int lp = (len + 31) & ~31; // keys padded to whole 32-float blocks (two Vector512 / four Vector256)
        int dp = (d + 15) & ~15;   // value rows padded to 16-float blocks
        int need = d * lp + len * dp + QueryBlock * lp + QueryBlock * dp + 16;
        var scratch = t_scratch;
        if (scratch is null || scratch.Length < need) t_scratch = scratch = new float[Math.Max(need, 4096)];
        fixed (float* s = scratch)
        {
            float* kt = s, v = kt + d * lp, scores = v + len * dp, outBlock = scores + QueryBlock * lp;
            new Span<float>(kt, d * lp + len * dp).Clear();
            for (int j = 0; j < len; j++)
            {
                float* row = qkv + (long)(start + j) * qkvStride;
                float* k = row + hidden + head * d;
                for (int c = 0; c < d; c++) kt[c * lp + j] = k[c];
                new ReadOnlySpan<float>(row + 2 * hidden + head * d, d).CopyTo(new Span<float>(v + j * dp, d));
            }
            var q = stackalloc float*[QueryBlock];
            var inv = stackalloc float[QueryBlock];
            bool wide = Vector512.IsHardwareAccelerated;
            for (int i0 = 0; i0 < len; i0 += QueryBlock)
            {
                int rows = Math.Min(QueryBlock, len - i0);
                // Rows past the end repeat the last query (valid memory); their results are dropped.
                for (int r = 0; r < QueryBlock; r++)
                    q[r] = qkv + (long)(start + i0 + Math.Min(r, rows - 1)) * qkvStride + head * d;
                if (wide) Scores512(q, kt, lp, d, scale, scores);
                else Scores256(q, kt, lp, d, scale, scores);
                for (int r = 0; r < rows; r++)
                {
                    // Softmax without the division: exp(s − max) in place, 1/Σ applied to the output row instead.
                    float* row = scores + r * lp;
                    float max = TensorPrimitives.Max(new ReadOnlySpan<float>(row, len));
                    inv[r] = 1f / VectorMath.ExpShiftedInPlace(row, len, max);
                    new Span<float>(row + len, lp - len).Clear(); // padded keys weigh nothing
                }
                for (int c = 0; c < dp; c += 16)
                {
                    if (wide) WeightedSum512(scores, lp, v + c, dp, len, outBlock + c, dp);
                    else WeightedSum256(scores, lp, v + c, dp, len, outBlock + c, dp);
                }
                for (int r = 0; r < rows; r++)
                {
                    float* o = ctx + (long)(start + i0 + r) * ctxStride + head * d;
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(outBlock + r * dp, d), inv[r], new Span<float>(o, d));
                }
            }
        }
    }

    /// <summary>scores[r, j] = scale · q_r · k_j for 8 queries and all (padded) keys: an 8 × 32 register tile per key block.</summary>
    private static void Scores512(float** q, float* kt, int lp, int d, float scale, float* scores)
    {
        var sc = Vector512.Create(scale);
        for (int j = 0; j < lp; j += 32)
        {
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
            float* k = kt + j;
            for (int c = 0; c < d; c++, k += lp)
            {
                var k0 = Vector512.Load(k);
                var k1 = Vector512.Load(k + 16);
                var x = Vector512.Create(q[0][c]); a0 = Vector512.FusedMultiplyAdd(x, k0, a0); b0 = Vector512.FusedMultiplyAdd(x, k1, b0);
                x = Vector512.Create(q[1][c]); a1 = Vector512.FusedMultiplyAdd(x, k0, a1); b1 = Vector512.FusedMultiplyAdd(x, k1, b1);
                x = Vector512.Create(q[2][c]); a2 = Vector512.FusedMultiplyAdd(x, k0, a2); b2 = Vector512.FusedMultiplyAdd(x, k1, b2);
                x = Vector512.Create(q[3][c]); a3 = Vector512.FusedMultiplyAdd(x, k0, a3); b3 = Vector512.FusedMultiplyAdd(x, k1, b3);
                x = Vector512.Create(q[4][c]); a4 = Vector512.FusedMultiplyAdd(x, k0, a4); b4 = Vector512.FusedMultiplyAdd(x, k1, b4);
                x = Vector512.Create(q[5][c]); a5 = Vector512.FusedMultiplyAdd(x, k0, a5); b5 = Vector512.FusedMultiplyAdd(x, k1, b5);
                x = Vector512.Create(q[6][c]); a6 = Vector512.FusedMultiplyAdd(x, k0, a6); b6 = Vector512.FusedMultiplyAdd(x, k1, b6);
                x = Vector512.Create(q[7][c]); a7 = Vector512.FusedMultiplyAdd(x, k0, a7); b7 = Vector512.FusedMultiplyAdd(x, k1, b7);
            }
            float* o = scores + j;
            Vector512.Store(a0 * sc, o); Vector512.Store(b0 * sc, o + 16); o += lp;
            Vector512.Store(a1 * sc, o); Vector512.Store(b1 * sc, o + 16); o += lp;
            Vector512.Store(a2 * sc, o); Vector512.Store(b2 * sc, o + 16); o += lp;
            Vector512.Store(a3 * sc, o); Vector512.Store(b3 * sc, o + 16); o += lp;
            Vector512.Store(a4 * sc, o); Vector512.Store(b4 * sc, o + 16); o += lp;
            Vector512.Store(a5 * sc, o); Vector512.Store(b5 * sc, o + 16); o += lp;
            Vector512.Store(a6 * sc, o); Vector512.Store(b6 * sc, o + 16); o += lp;
            Vector512.Store(a7 * sc, o); Vector512.Store(b7 * sc, o + 16);
        }
    }

    /// <summary>Vector256 twin of <see cref="Scores512"/> (8 × 16 tiles) for machines without AVX-512.</summary>
    private static void Scores256(float** q, float* kt, int lp, int d, float scale, float* scores)
    {
        var sc = Vector256.Create(scale);
        for (int j = 0; j < lp; j += 16)
        {
            Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            Vector256<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
            float* k = kt + j;
            for (int c = 0; c < d; c++, k += lp)
            {
                var k0 = Vector256.Load(k);
                var k1 = Vector256.Load(k + 8);
                var x = Vector256.Create(q[0][c]); a0 = Vector256.FusedMultiplyAdd(x, k0, a0); b0 = Vector256.FusedMultiplyAdd(x, k1, b0);
                x = Vector256.Create(q[1][c]); a1 = Vector256.FusedMultiplyAdd(x, k0, a1); b1 = Vector256.FusedMultiplyAdd(x, k1, b1);
                x = Vector256.Create(q[2][c]); a2 = Vector256.FusedMultiplyAdd(x, k0, a2); b2 = Vector256.FusedMultiplyAdd(x, k1, b2);
                x = Vector256.Create(q[3][c]); a3 = Vector256.FusedMultiplyAdd(x, k0, a3); b3 = Vector256.FusedMultiplyAdd(x, k1, b3);
                x = Vector256.Create(q[4][c]); a4 = Vector256.FusedMultiplyAdd(x, k0, a4); b4 = Vector256.FusedMultiplyAdd(x, k1, b4);
                x = Vector256.Create(q[5][c]); a5 = Vector256.FusedMultiplyAdd(x, k0, a5); b5 = Vector256.FusedMultiplyAdd(x, k1, b5);
                x = Vector256.Create(q[6][c]); a6 = Vector256.FusedMultiplyAdd(x, k0, a6); b6 = Vector256.FusedMultiplyAdd(x, k1, b6);
                x = Vector256.Create(q[7][c]); a7 = Vector256.FusedMultiplyAdd(x, k0, a7); b7 = Vector256.FusedMultiplyAdd(x, k1, b7);
            }
            float* o = scores + j;
            Vector256.Store(a0 * sc, o); Vector256.Store(b0 * sc, o + 8); o += lp;
            Vector256.Store(a1 * sc, o); Vector256.Store(b1 * sc, o + 8); o += lp;
            Vector256.Store(a2 * sc, o); Vector256.Store(b2 * sc, o + 8); o += lp;
            Vector256.Store(a3 * sc, o); Vector256.Store(b3 * sc, o + 8); o += lp;
            Vector256.Store(a4 * sc, o); Vector256.Store(b4 * sc, o + 8); o += lp;
            Vector256.Store(a5 * sc, o); Vector256.Store(b5 * sc, o + 8); o += lp;
            Vector256.Store(a6 * sc, o); Vector256.Store(b6 * sc, o + 8); o += lp;
            Vector256.Store(a7 * sc, o); Vector256.Store(b7 * sc, o + 8);
        }
    }

    /// <summary>out[r, 0..16) = Σ_j p[r, j] · v[j, 0..16) for 8 query rows: 8 Vector512 accumulators, two key streams.</summary>
    private static void WeightedSum512(float* p, int lp, float* v, int dp, int len, float* output, int outStride)
    {
        // Two interleaved key halves (even/odd j) double the independent accumulators: 16 FMA chains.
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
        int j = 0;
        for (; j + 1 < len; j += 2, v += 2 * dp)
        {
            var v0 = Vector512.Load(v);
            var v1 = Vector512.Load(v + dp);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p[j]), v0, a0); b0 = Vector512.FusedMultiplyAdd(Vector512.Create(p[j + 1]), v1, b0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p[lp + j]), v0, a1); b1 = Vector512.FusedMultiplyAdd(Vector512.Create(p[lp + j + 1]), v1, b1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(p[2 * lp + j]), v0, a2); b2 = Vector512.FusedMultiplyAdd(Vector512.Create(p[2 * lp + j + 1]), v1, b2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(p[3 * lp + j]), v0, a3); b3 = Vector512.FusedMultiplyAdd(Vector512.Create(p[3 * lp + j + 1]), v1, b3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Create(p[4 * lp + j]), v0, a4); b4 = Vector512.FusedMultiplyAdd(Vector512.Create(p[4 * lp + j + 1]), v1, b4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Create(p[5 * lp + j]), v0, a5); b5 = Vector512.FusedMultiplyAdd(Vector512.Create(p[5 * lp + j + 1]), v1, b5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Create(p[6 * lp + j]), v0, a6); b6 = Vector512.FusedMultiplyAdd(Vector512.Create(p[6 * lp + j + 1]), v1, b6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Create(p[7 * lp + j]), v0, a7); b7 = Vector512.FusedMultiplyAdd(Vector512.Create(p[7 * lp + j + 1]), v1, b7);
        }
        if (j < len)
        {
            var v0 = Vector512.Load(v);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p[j]), v0, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p[lp + j]), v0, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(p[2 * lp + j]), v0, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(p[3 * lp + j]), v0, a3);
            a4 = Vector512.FusedMultiplyAdd(Vector512.Create(p[4 * lp + j]), v0, a4);
            a5 = Vector512.FusedMultiplyAdd(Vector512.Create(p[5 * lp + j]), v0, a5);
            a6 = Vector512.FusedMultiplyAdd(Vector512.Create(p[6 * lp + j]), v0, a6);
            a7 = Vector512.FusedMultiplyAdd(Vector512.Create(p[7 * lp + j]), v0, a7);
        }
        float* o = output;
        Vector512.Store(a0 + b0, o); o += outStride;
        Vector512.Store(a1 + b1, o); o += outStride;
        Vector512.Store(a2 + b2, o); o += outStride;
        Vector512.Store(a3 + b3, o); o += outStride;
        Vector512.Store(a4 + b4, o); o += outStride;
        Vector512.Store(a5 + b5, o); o += outStride;
        Vector512.Store(a6 + b6, o); o += outStride;
        Vector512.Store(a7 + b7, o);
    }

    /// <summary>Vector256 twin of <see cref="WeightedSum512"/> (8 × 16: two Vector256 per row).</summary>
    private static void WeightedSum256(float* p, int lp, float* v, int dp, int len, float* output, int outStride)
    {
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        Vector256<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
        for (int j = 0; j < len; j++, v += dp)
        {
            var v0 = Vector256.Load(v);
            var v1 = Vector256.Load(v + 8);
            var x = Vector256.Create(p[j]); a0 = Vector256.FusedMultiplyAdd(x, v0, a0); b0 = Vector256.FusedMultiplyAdd(x, v1, b0);
            x = Vector256.Create(p[lp + j]); a1 = Vector256.FusedMultiplyAdd(x, v0, a1); b1 = Vector256.FusedMultiplyAdd(x, v1, b1);
            x = Vector256.Create(p[2 * lp + j]); a2 = Vector256.FusedMultiplyAdd(x, v0, a2); b2 = Vector256.FusedMultiplyAdd(x, v1, b2);
            x = Vector256.Create(p[3 * lp + j]); a3 = Vector256.FusedMultiplyAdd(x, v0, a3); b3 = Vector256.FusedMultiplyAdd(x, v1, b3);
            x = Vector256.Create(p[4 * lp + j]); a4 = Vector256.FusedMultiplyAdd(x, v0, a4); b4 = Vector256.FusedMultiplyAdd(x, v1, b4);
            x = Vector256.Create(p[5 * lp + j]); a5 = Vector256.FusedMultiplyAdd(x, v0, a5); b5 = Vector256.FusedMultiplyAdd(x, v1, b5);
            x = Vector256.Create(p[6 * lp + j]); a6 = Vector256.FusedMultiplyAdd(x, v0, a6); b6 = Vector256.FusedMultiplyAdd(x, v1, b6);
            x = Vector256.Create(p[7 * lp + j]); a7 = Vector256.FusedMultiplyAdd(x, v0, a7); b7 = Vector256.FusedMultiplyAdd(x, v1, b7);
        }
        float* o = output;
        Vector256.Store(a0, o); Vector256.Store(b0, o + 8); o += outStride;
        Vector256.Store(a1, o); Vector256.Store(b1, o + 8); o += outStride;
        Vector256.Store(a2, o); Vector256.Store(b2, o + 8); o += outStride;
        Vector256.Store(a3, o); Vector256.Store(b3, o + 8); o += outStride;
        Vector256.Store(a4, o); Vector256.Store(b4, o + 8); o += outStride;
        Vector256.Store(a5, o); Vector256.Store(b5, o + 8); o += outStride;
        Vector256.Store(a6, o); Vector256.Store(b6, o + 8); o += outStride;
        Vector256.Store(a7, o); Vector256.Store(b7, o + 8);
    }
}
