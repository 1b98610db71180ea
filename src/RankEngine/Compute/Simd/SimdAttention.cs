using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace RankEngine.Compute.Simd;

/// <summary>
/// Multi-head self-attention over packed sequences: one work item per (sequence, head). Keys are transposed into a
/// [headSize × paddedLength] scratch so each query's scores are vector FMAs along the keys; values are gathered into
/// a dense [length × headSize] block. Softmax subtracts the row maximum of the scaled scores before exponentiating.
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

    private static void Head(float* qkv, int qkvStride, float* ctx, int ctxStride, int start, int len, int head, int heads,
        int d, float scale)
    {
        int hidden = heads * d;
        int lp = (len + 7) & ~7; // keys padded to whole Vector256s
        int need = d * lp + len * d + lp + d;
        var scratch = t_scratch;
        if (scratch is null || scratch.Length < need) t_scratch = scratch = new float[Math.Max(need, 4096)];
        fixed (float* s = scratch)
        {
            float* kt = s, v = s + d * lp, scores = v + len * d, acc = scores + lp;
            new Span<float>(kt, d * lp).Clear();
            for (int j = 0; j < len; j++)
            {
                float* row = qkv + (long)(start + j) * qkvStride;
                float* k = row + hidden + head * d;
                for (int c = 0; c < d; c++) kt[c * lp + j] = k[c];
                new ReadOnlySpan<float>(row + 2 * hidden + head * d, d).CopyTo(new Span<float>(v + j * d, d));
            }
            var scoreSpan = new Span<float>(scores, len);
            for (int i = 0; i < len; i++)
            {
                float* q = qkv + (long)(start + i) * qkvStride + head * d;
                // scores[j] = q · k_j for all keys, 8 keys per vector.
                for (int j = 0; j < lp; j += 8)
                {
                    var sum = Vector256<float>.Zero;
                    for (int c = 0; c < d; c++)
                        sum = Vector256.FusedMultiplyAdd(Vector256.Create(q[c]), Vector256.Load(kt + c * lp + j), sum);
                    Vector256.Store(sum, scores + j);
                }
                TensorPrimitives.Multiply(scoreSpan, scale, scoreSpan);
                TensorPrimitives.Subtract(scoreSpan, TensorPrimitives.Max(scoreSpan), scoreSpan);
                TensorPrimitives.Exp(scoreSpan, scoreSpan);
                float inv = 1f / TensorPrimitives.Sum(scoreSpan);
                float* o = ctx + (long)(start + i) * ctxStride + head * d;
                WeightedSum(scores, v, len, d, acc);
                for (int c = 0; c < d; c++) o[c] = acc[c] * inv;
            }
        }
    }

    /// <summary>acc[0..d) = Σ_j p[j] · v[j, 0..d).</summary>
    private static void WeightedSum(float* p, float* v, int len, int d, float* acc)
    {
        int c = 0;
        for (; c + 16 <= d; c += 16)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            for (int j = 0; j < len; j++)
            {
                var w = Vector256.Create(p[j]);
                a0 = Vector256.FusedMultiplyAdd(w, Vector256.Load(v + j * d + c), a0);
                a1 = Vector256.FusedMultiplyAdd(w, Vector256.Load(v + j * d + c + 8), a1);
            }
            Vector256.Store(a0, acc + c);
            Vector256.Store(a1, acc + c + 8);
        }
        for (; c + 8 <= d; c += 8)
        {
            var a0 = Vector256<float>.Zero;
            for (int j = 0; j < len; j++)
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p[j]), Vector256.Load(v + j * d + c), a0);
            Vector256.Store(a0, acc + c);
        }
        for (; c < d; c++)
        {
            float a = 0;
            for (int j = 0; j < len; j++) a = MathF.FusedMultiplyAdd(p[j], v[j * d + c], a);
            acc[c] = a;
        }
    }
}
