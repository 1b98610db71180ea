using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>Scalar arguments of <see cref="Attention"/>.</summary>
public struct AttentionArgs
{
    public int Sequences;
    public int Heads;
    public int HeadSize;
    /// <summary>heads × headSize; qkv rows are 3 × Hidden wide.</summary>
    public int Hidden;
    public float Scale;
}

/// <summary>
/// Masked softmax attention over packed sequences (no padding): one group per (token, head). The group finds the
/// token's sequence by binary search over the row starts, scores the query against that sequence's keys only (the
/// mask is the sequence boundary), keeps the scores in dynamic shared memory (one float per key), normalises with a
/// group max and sum, then each thread produces head dimensions of <c>Σ p_j · v_j</c>. Groups are 1-D, a power of
/// two up to 128 threads (64 on GPUs).
/// </summary>
public static class Attention
{
    public static void Kernel(ArrayView<float> qkv, ArrayView<int> starts, ArrayView<float> context, AttentionArgs a)
    {
        var scores = SharedMemory.GetDynamic<float>();
        var scratch = SharedMemory.Allocate<float>(DeviceMath.MaxGroupSize);
        int token = Grid.IdxX, head = Grid.IdxY, t = Group.IdxX, groupSize = Group.DimX;

        int lo = 0, hi = a.Sequences - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (starts[mid] <= token) lo = mid;
            else hi = mid - 1;
        }
        int start = starts[lo], length = starts[lo + 1] - start;
        int stride = 3 * a.Hidden, headOffset = head * a.HeadSize;
        long q = (long)token * stride + headOffset;

        float localMax = float.NegativeInfinity;
        for (int j = t; j < length; j += groupSize)
        {
            long k = (long)(start + j) * stride + a.Hidden + headOffset;
            float dot = 0;
            for (int c = 0; c < a.HeadSize; c++) dot += qkv[q + c] * qkv[k + c];
            dot *= a.Scale;
            scores[j] = dot;
            if (dot > localMax) localMax = dot;
        }
        float max = DeviceMath.GroupMax(scratch, localMax, t);
        float localSum = 0;
        for (int j = t; j < length; j += groupSize)
        {
            float e = MathF.Exp(scores[j] - max);
            scores[j] = e;
            localSum += e;
        }
        // GroupSum's barriers also publish every thread's scores[] writes before they are read below.
        float inv = 1f / DeviceMath.GroupSum(scratch, localSum, t);
        long v = (long)start * stride + 2 * a.Hidden + headOffset;
        for (int c = t; c < a.HeadSize; c += groupSize)
        {
            float acc = 0;
            for (int j = 0; j < length; j++) acc += scores[j] * qkv[v + (long)j * stride + c];
            context[(long)token * a.Hidden + headOffset + c] = acc * inv;
        }
    }
}

/// <summary>Launches <see cref="Attention.Kernel"/>; checks the layout and sizes the dynamic shared memory to the longest sequence.</summary>
public sealed class AttentionLauncher
{
    private readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, AttentionArgs> _kernel;
    private readonly long _maxSharedBytes;
    private readonly KernelSet _set;

    public AttentionLauncher(KernelSet set)
    {
        _kernel = set.Accelerator.LoadKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, AttentionArgs>(Attention.Kernel);
        _maxSharedBytes = set.Accelerator.MaxSharedMemoryPerGroup;
        _set = set;
    }

    /// <param name="starts">Device copy of the N+1 sequence starts.</param>
    /// <param name="hostStarts">The same starts on the host (validated here; the kernel trusts them).</param>
    public void Run(AcceleratorStream stream, ArrayView<float> qkv, ArrayView<int> starts, ReadOnlySpan<int> hostStarts,
        ArrayView<float> context, int heads, int headSize, float scale)
    {
        int sequences = hostStarts.Length - 1;
        if (sequences < 1) throw new ArgumentException("attention needs at least one sequence");
        if (heads <= 0 || headSize <= 0) throw new ArgumentOutOfRangeException(nameof(heads), $"{heads} heads of size {headSize} is invalid");
        if (starts.Length < hostStarts.Length) throw new ArgumentException("the device starts hold fewer entries than the layout");
        int maxLength = 0;
        for (int s = 0; s < sequences; s++)
        {
            int len = hostStarts[s + 1] - hostStarts[s];
            if (len <= 0) throw new ArgumentException($"sequence {s} is empty");
            maxLength = Math.Max(maxLength, len);
        }
        int tokens = hostStarts[sequences], hidden = heads * headSize;
        if (hostStarts[0] != 0) throw new ArgumentException("sequence starts must begin at 0");
        if (qkv.Length < (long)tokens * 3 * hidden) throw new ArgumentException($"qkv is smaller than {tokens}×{3 * hidden}");
        if (context.Length < (long)tokens * hidden) throw new ArgumentException($"context is smaller than {tokens}×{hidden}");
        long shared = (long)maxLength * sizeof(float) + DeviceMath.MaxGroupSize * sizeof(float);
        if (shared > _maxSharedBytes)
            throw new NotSupportedException($"a sequence of {maxLength} tokens needs {shared} bytes of shared memory; the device offers {_maxSharedBytes}");
        var config = new KernelConfig(new Index2D(tokens, heads), new Index2D(Math.Min(64, _set.ReductionGroupSize), 1),
            SharedMemoryConfig.RequestDynamic<float>(maxLength));
        _kernel(stream, config, qkv, starts, context,
            new AttentionArgs { Sequences = sequences, Heads = heads, HeadSize = headSize, Hidden = hidden, Scale = scale });
    }
}
