using ILGPU;
using ILGPU.Runtime;

namespace RankEngine.Kernels;

/// <summary>
/// Every op's launcher for one accelerator. Each launcher compiles its kernels on first use and keeps them (load
/// once); launches are queued on the caller's stream. Not thread-safe: one caller at a time.
/// </summary>
public sealed class KernelSet : IDisposable
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummy;
    private readonly MemoryBuffer1D<ulong, Stride1D.Dense> _dummyKeys;
    private readonly Lazy<GemmLauncher> _gemm;
    private readonly Lazy<Int8GemmLauncher> _int8Gemm;
    private readonly Lazy<LayerNormLauncher> _layerNorm;
    private readonly Lazy<AttentionLauncher> _attention;
    private readonly Lazy<PoolingLauncher> _pooling;
    private readonly Lazy<L2NormalizeLauncher> _l2;
    private readonly Lazy<EmbeddingLauncher> _embedding;
    private readonly Lazy<DotScoreLauncher> _dotScore;
    private readonly Lazy<TopKLauncher> _topK;

    public Accelerator Accelerator { get; }

    /// <summary>
    /// True on ILGPU's CPU accelerator: it runs every thread of a group as an OS thread and a barrier costs time in
    /// proportion to the group size, so kernels launch with small groups there (4 × 4 GEMM threads on 16 × 16 tiles, 4-thread
    /// reductions). Results are the same; only the speed of the simulation changes.
    /// </summary>
    public bool SmallGroups { get; }

    /// <summary>
    /// Threads per group of the row-reduction kernels (LayerNorm, L2, attention, top-k): a power of two up to 128.
    /// 128 on GPUs; on the CPU accelerator 4 by default. Tests may change it between launches.
    /// </summary>
    public int ReductionGroupSize
    {
        get => _reductionGroupSize;
        set
        {
            if (value < 1 || value > DeviceMath.MaxGroupSize || (value & (value - 1)) != 0)
                throw new ArgumentOutOfRangeException(nameof(value), $"group size {value} must be a power of two between 1 and {DeviceMath.MaxGroupSize}");
            if (value > Accelerator.MaxNumThreadsPerGroup)
                throw new ArgumentOutOfRangeException(nameof(value), $"group size {value} exceeds the device's {Accelerator.MaxNumThreadsPerGroup}");
            _reductionGroupSize = value;
        }
    }

    private int _reductionGroupSize;

    public KernelSet(Accelerator accelerator)
    {
        Accelerator = accelerator;
        SmallGroups = accelerator.AcceleratorType == AcceleratorType.CPU;
        ReductionGroupSize = SmallGroups ? 4 : DeviceMath.MaxGroupSize;
        _dummy = accelerator.Allocate1D<float>(1);
        _dummyKeys = accelerator.Allocate1D<ulong>(1);
        _gemm = new(() => new GemmLauncher(this));
        _int8Gemm = new(() => new Int8GemmLauncher(this));
        _layerNorm = new(() => new LayerNormLauncher(this));
        _attention = new(() => new AttentionLauncher(this));
        _pooling = new(() => new PoolingLauncher(this));
        _l2 = new(() => new L2NormalizeLauncher(this));
        _embedding = new(() => new EmbeddingLauncher(this));
        _dotScore = new(() => new DotScoreLauncher(this));
        _topK = new(() => new TopKLauncher(this));
    }

    public GemmLauncher Gemm => _gemm.Value;
    public Int8GemmLauncher Int8Gemm => _int8Gemm.Value;
    public LayerNormLauncher LayerNorm => _layerNorm.Value;
    public AttentionLauncher Attention => _attention.Value;
    public PoolingLauncher Pooling => _pooling.Value;
    public L2NormalizeLauncher L2Normalize => _l2.Value;
    public EmbeddingLauncher Embedding => _embedding.Value;
    public DotScoreLauncher DotScore => _dotScore.Value;
    public TopKLauncher TopK => _topK.Value;

    /// <summary>A one-element buffer passed where an optional operand is absent (kernels never read it).</summary>
    internal ArrayView<float> Dummy => _dummy.View;
    internal ArrayView<ulong> DummyKeys => _dummyKeys.View;

    public void Dispose()
    {
        if (_topK.IsValueCreated) _topK.Value.Dispose();
        _dummy.Dispose();
        _dummyKeys.Dispose();
    }
}
