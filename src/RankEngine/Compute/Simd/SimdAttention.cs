using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace RankEngine.Compute.Simd;

/// <summary>
/// Multi-head self-attention over packed sequences: one work item per (sequence, head). Keys are transposed into a
/// [headSize × paddedLength] scratch and values gathered into [length × paddedHeadSize]; queries go 8 at a time
/// through two register-tiled micro-GEMMs (scores = Q·Kᵀ, output = P·V) with 16 independent accumulators, so the
/// FMAs are throughput- rather than latency-bound. Softmax subtracts the row maximum of the scaled scores.
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
        int lp = (len + 15) & ~15; // keys padded to whole 16-float blocks
        int dp = (d + 15) & ~15;   // value rows padded likewise
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
            for (int i0 = 0; i0 < len; i0 += QueryBlock)
            {
                int rows = Math.Min(QueryBlock, len - i0);
                // Rows past the end repeat the last query (valid memory); their results are dropped.
                for (int r = 0; r < QueryBlock; r++)
                    q[r] = qkv + (long)(start + i0 + Math.Min(r, rows - 1)) * qkvStride + head * d;
                Scores(q, kt, lp, d, scores);
                for (int r = 0; r < rows; r++)
                {
                    var row = new Span<float>(scores + r * lp, len);
                    TensorPrimitives.Multiply(row, scale, row);
                    TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
                    TensorPrimitives.Exp(row, row);
                    TensorPrimitives.Multiply(row, 1f / TensorPrimitives.Sum(row), row);
                    // Padded keys must weigh nothing in the weighted sum.
                    new Span<float>(scores + r * lp + len, lp - len).Clear();
                }
                for (int c = 0; c < dp; c += 16) WeightedSum(scores, lp, v + c, dp, len, outBlock + c, dp);
                for (int r = 0; r < rows; r++)
                    new ReadOnlySpan<float>(outBlock + r * dp, d).CopyTo(new Span<float>(ctx + (long)(start + i0 + r) * ctxStride + head * d, d));
            }
        }
    }

    /// <summary>scores[r, j] = q_r · k_j for 8 queries and all (padded) keys: an 8 × 16 register tile per key block.</summary>
    private static void Scores(float** q, float* kt, int lp, int d, float* scores)
    {
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
            Vector256.Store(a0, o); Vector256.Store(b0, o + 8); o += lp;
            Vector256.Store(a1, o); Vector256.Store(b1, o + 8); o += lp;
            Vector256.Store(a2, o); Vector256.Store(b2, o + 8); o += lp;
            Vector256.Store(a3, o); Vector256.Store(b3, o + 8); o += lp;
            Vector256.Store(a4, o); Vector256.Store(b4, o + 8); o += lp;
            Vector256.Store(a5, o); Vector256.Store(b5, o + 8); o += lp;
            Vector256.Store(a6, o); Vector256.Store(b6, o + 8); o += lp;
            Vector256.Store(a7, o); Vector256.Store(b7, o + 8);
        }
    }

    /// <summary>out[r, 0..16) = Σ_j p[r, j] · v[j, 0..16) for 8 query rows: an 8 × 16 register tile.</summary>
    private static void WeightedSum(float* p, int lp, float* v, int dp, int len, float* output, int outStride)
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
