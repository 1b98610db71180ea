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
    private readonly Lazy<LayerNormLauncher> _layerNorm;
    private readonly Lazy<AttentionLauncher> _attention;
    private readonly Lazy<PoolingLauncher> _pooling;
    private readonly Lazy<L2NormalizeLauncher> _l2;
    private readonly Lazy<EmbeddingLauncher> _embedding;
    private readonly Lazy<DotScoreLauncher> _dotScore;
    private readonly Lazy<TopKLauncher> _topK;

    public Accelerator Accelerator { get; }

    public KernelSet(Accelerator accelerator)
    {
        Accelerator = accelerator;
        _dummy = accelerator.Allocate1D<float>(1);
        _dummyKeys = accelerator.Allocate1D<ulong>(1);
        _gemm = new(() => new GemmLauncher(this));
        _layerNorm = new(() => new LayerNormLauncher(this));
        _attention = new(() => new AttentionLauncher(this));
        _pooling = new(() => new PoolingLauncher(this));
        _l2 = new(() => new L2NormalizeLauncher(this));
        _embedding = new(() => new EmbeddingLauncher(this));
        _dotScore = new(() => new DotScoreLauncher(this));
        _topK = new(() => new TopKLauncher(this));
    }

    public GemmLauncher Gemm => _gemm.Value;
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
