using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>Scalar arguments of <see cref="Embedding"/>.</summary>
public struct EmbeddingArgs
{
    public int Columns;
    public float Scale;
    public int HasPosition;
    public int HasType;
}

/// <summary>
/// <c>out[t] = scale · word[tokens[t]] + position[positions[t]] + type[types[t]]</c>, one thread per (token, column).
/// Ids are checked on the host before upload (the kernel trusts them).
/// </summary>
public static class Embedding
{
    public static void Kernel(Index2D index, ArrayView<int> ids, ArrayView<float> word, ArrayView<float> position,
        ArrayView<float> type, ArrayView<float> output, EmbeddingArgs a)
    {
        int column = index.X, token = index.Y, tokens = (int)(ids.Length / 3);
        float v = a.Scale * word[(long)ids[token] * a.Columns + column];
        if (a.HasPosition != 0) v += position[(long)ids[tokens + token] * a.Columns + column];
        if (a.HasType != 0) v += type[(long)ids[2 * tokens + token] * a.Columns + column];
        output[(long)token * a.Columns + column] = v;
    }
}

/// <summary>Launches <see cref="Embedding.Kernel"/>. <c>ids</c> packs token ids, then positions, then types (3 × tokens ints).</summary>
public sealed class EmbeddingLauncher
{
    private readonly KernelSet _set;
    private readonly Action<AcceleratorStream, Index2D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EmbeddingArgs> _kernel;

    public EmbeddingLauncher(KernelSet set)
    {
        _set = set;
        _kernel = set.Accelerator.LoadAutoGroupedKernel<Index2D, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, EmbeddingArgs>(Embedding.Kernel);
    }

    public void Run(AcceleratorStream stream, ArrayView<int> ids, int tokens, ArrayView<float> word, ArrayView<float> position,
        ArrayView<float> type, ArrayView<float> output, int columns, float scale)
    {
        if (tokens <= 0 || columns <= 0) throw new ArgumentOutOfRangeException(nameof(tokens), $"embedding shape {tokens}×{columns} is invalid");
        if (ids.Length != 3L * tokens) throw new ArgumentException($"ids must hold exactly 3 × {tokens} values (tokens, positions, types)");
        if (output.Length < (long)tokens * columns) throw new ArgumentException($"output is smaller than {tokens}×{columns}");
        var args = new EmbeddingArgs { Columns = columns, Scale = scale, HasPosition = position.Length != 0 ? 1 : 0, HasType = type.Length != 0 ? 1 : 0 };
        _kernel(stream, new Index2D(columns, tokens), ids, word,
            position.Length != 0 ? position : _set.Dummy, type.Length != 0 ? type : _set.Dummy, output, args);
    }
}
