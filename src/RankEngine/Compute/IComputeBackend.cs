using RankEngine.Model;

namespace RankEngine.Compute;

/// <summary>Operations a backend offers; <see cref="IComputeBackend.Supports"/> answers per op and storage type.</summary>
internal enum ComputeOp
{
    Embed,
    Linear,
    LayerNorm,
    Attention,
    Pool,
    L2Normalize,
}

/// <summary>How a weight is used, so a backend can lay it out for that use (e.g. pack GEMM panels).</summary>
internal enum WeightRole
{
    /// <summary>A [out, in] matrix multiplied as <c>x · Wᵀ</c>.</summary>
    MatMul,
    /// <summary>A vector (bias, LayerNorm gain or shift).</summary>
    Vector,
    /// <summary>A [rows, width] table gathered by row (embeddings).</summary>
    Table,
}

/// <summary>A weight resident on a backend. Owned by the encoder that created it.</summary>
internal interface IDeviceWeight : IDisposable
{
    int Rows { get; }
    int Columns { get; }
    TensorType StorageType { get; }
}

/// <summary>A row-major float32 activation matrix resident on a backend.</summary>
internal interface IDeviceTensor : IDisposable
{
    /// <summary>Rows in use.</summary>
    int Rows { get; }
    int Columns { get; }
}

/// <summary>
/// Packed sequences: sequence <c>s</c> occupies rows <c>Starts[s] .. Starts[s+1]-1</c> of an activation matrix.
/// There is no padding; attention and pooling never look across sequence boundaries.
/// </summary>
internal readonly struct SequenceLayout
{
    /// <summary>N+1 row offsets, first 0, last = total tokens, non-decreasing; each sequence non-empty.</summary>
    public ReadOnlyMemory<int> Starts { get; }

    public SequenceLayout(ReadOnlyMemory<int> starts)
    {
        var s = starts.Span;
        if (s.Length < 2) throw new ArgumentException("a sequence layout needs at least one sequence");
        if (s[0] != 0) throw new ArgumentException("sequence starts must begin at 0");
        for (int i = 1; i < s.Length; i++)
            if (s[i] <= s[i - 1]) throw new ArgumentException($"sequence {i - 1} is empty or the starts are not increasing");
        Starts = starts;
    }

    public int Count => Starts.Length - 1;
    public int TotalTokens => Starts.Span[^1];
    public int Length(int sequence) => Starts.Span[sequence + 1] - Starts.Span[sequence];
}

/// <summary>
/// The ops a Transformer encoder needs, implemented once per device (SIMD CPU, ILGPU). The encoder drives them
/// in order; a backend may queue work asynchronously and only <see cref="Download"/> waits for it.
/// All activations are float32 row-major; weights may be stored as fp32, fp16 or int8 where <see cref="Supports"/> says so.
/// </summary>
internal interface IComputeBackend : IDisposable
{
    /// <summary>Short name ("simd", "cuda", "opencl", "ilgpu-cpu").</summary>
    string Name { get; }
    /// <summary>Human-readable device description (model, cores, memory).</summary>
    string DeviceDescription { get; }

    /// <summary>Whether <paramref name="op"/> runs with weights stored as <paramref name="weightType"/>.</summary>
    bool Supports(ComputeOp op, TensorType weightType);

    /// <summary>Copies a weight to the device, laid out for <paramref name="role"/>.</summary>
    IDeviceWeight UploadWeight(TensorView tensor, WeightRole role);

    /// <summary>Copies a float weight (e.g. computed at load) to the device.</summary>
    IDeviceWeight UploadWeight(ReadOnlySpan<float> values, int rows, int columns, WeightRole role);

    /// <summary>Allocates an activation matrix with room for <paramref name="rows"/> × <paramref name="columns"/>.</summary>
    IDeviceTensor Allocate(int rows, int columns);

    /// <summary>Copies host data into the first <c>source.Length / Columns</c> rows.</summary>
    void Upload(ReadOnlySpan<float> source, IDeviceTensor destination);

    /// <summary>Waits for queued work and copies the first <c>destination.Length</c> values back.</summary>
    void Download(IDeviceTensor source, Span<float> destination);

    /// <summary>
    /// <c>out[t] = scale · word[tokens[t]] + position[positions[t]] + type[types[t]]</c>; position and type tables are optional.
    /// </summary>
    void Embed(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> types,
        IDeviceWeight word, IDeviceWeight? position, IDeviceWeight? type, float scale, IDeviceTensor output);

    /// <summary>
    /// <c>y = act(x · Wᵀ + bias) + residual</c> over the first <paramref name="rows"/> rows. <paramref name="residual"/>
    /// may be the same tensor as <paramref name="y"/>; <paramref name="x"/> must not alias <paramref name="y"/>.
    /// </summary>
    void Linear(IDeviceTensor x, IDeviceWeight weight, IDeviceWeight? bias, Activation activation,
        IDeviceTensor y, IDeviceTensor? residual, int rows);

    /// <summary>Row-wise LayerNorm of the first <paramref name="rows"/> rows; <paramref name="y"/> may alias <paramref name="x"/>.</summary>
    void LayerNorm(IDeviceTensor x, IDeviceWeight gamma, IDeviceWeight beta, float eps, IDeviceTensor y, int rows);

    /// <summary>
    /// Multi-head self-attention within each sequence. <paramref name="qkv"/> rows are [q | k | v], each
    /// <c>heads × headSize</c> wide; <paramref name="context"/> receives softmax(q·kᵀ·scale)·v per head, heads concatenated.
    /// </summary>
    void Attention(IDeviceTensor qkv, SequenceLayout layout, int heads, float scale, IDeviceTensor context);

    /// <summary>One row per sequence into <paramref name="pooled"/>.</summary>
    void Pool(IDeviceTensor hidden, SequenceLayout layout, Pooling mode, IDeviceTensor pooled);

    /// <summary>Scales each of the first <paramref name="rows"/> rows to unit L2 norm (zero rows stay zero).</summary>
    void L2Normalize(IDeviceTensor x, int rows);
}
