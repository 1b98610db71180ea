using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using RankEngine.Kernels;
using RankEngine.Model;
using Pooling = RankEngine.Model.Pooling;

namespace RankEngine.Compute.Ilgpu;

/// <summary>
/// The encoder ops and scoring on an ILGPU accelerator (CUDA, OpenCL or the CPU simulator), through the kernels in
/// kernels/RankEngine.Kernels. The core library references the kernels project (which depends only on ILGPU), so
/// this adapter lives here and the dependency graph stays RankEngine → RankEngine.Kernels → ILGPU.
/// <para>Work is queued on the accelerator's default stream; <see cref="Download"/> and the scoring calls are the
/// synchronisation points. MatMul weights stored as fp16 stay fp16 on the device; int8 MatMul weights stay int8 with
/// their row scales (<see cref="IlgpuInt8Weight"/>) and run the int8 Linear: activations quantised per row on the device,
/// int32-exact products (<see cref="Int8Gemm"/>); other int8 tensors are dequantised to fp32 at upload.
/// Not thread-safe: one caller at a time (the encoder serialises its calls).</para>
/// </summary>
internal sealed class IlgpuBackend : IComputeBackend, IScoringBackend
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly KernelSet _kernels;
    // Grow-only staging buffers for per-call small inputs (token ids, sequence starts, queries, results).
    private MemoryBuffer1D<int, Stride1D.Dense>? _ints, _starts, _outIds;
    private MemoryBuffer1D<float, Stride1D.Dense>? _floats, _outScores;
    // Grow-only scratch of the int8 Linear: the quantised activation rows and their scales.
    private MemoryBuffer1D<int, Stride1D.Dense>? _int8Rows;
    private MemoryBuffer1D<float, Stride1D.Dense>? _int8Scales;

    public string Name { get; }
    public string DeviceDescription { get; }
    public IlgpuDeviceKind Kind { get; }

    private IlgpuBackend(IlgpuDeviceKind kind, Context context, Accelerator accelerator)
    {
        Kind = kind;
        _context = context;
        _accelerator = accelerator;
        _stream = accelerator.DefaultStream;
        _kernels = new KernelSet(accelerator);
        Name = kind switch { IlgpuDeviceKind.Cuda => "cuda", IlgpuDeviceKind.OpenCL => "opencl", _ => "ilgpu-cpu" };
        DeviceDescription = IlgpuDevices.Describe(accelerator);
    }

    /// <summary>Opens the first usable device of <paramref name="kind"/>.</summary>
    /// <exception cref="NotSupportedException">No usable device of that kind (the message says why).</exception>
    public static IlgpuBackend Create(IlgpuDeviceKind kind)
    {
        var (context, accelerator) = IlgpuDevices.Open(kind);
        try
        {
            return new IlgpuBackend(kind, context, accelerator);
        }
        catch
        {
            accelerator.Dispose();
            context.Dispose();
            throw;
        }
    }

    /// <summary>The kernels, for tests that drive them directly.</summary>
    internal KernelSet Kernels => _kernels;
    internal Accelerator Accelerator => _accelerator;

    public bool Supports(ComputeOp op, TensorType weightType) => weightType != TensorType.U8;

    public IDeviceWeight UploadWeight(TensorView tensor, WeightRole role)
    {
        if (role == WeightRole.MatMul && tensor.Type == TensorType.F16)
            return new IlgpuHalfWeight(_accelerator, MemoryMarshal.Cast<byte, ILGPU.Half>(tensor.Bytes), tensor.Rows, tensor.Columns);
        if (role == WeightRole.MatMul && tensor.Type == TensorType.I8)
            return IlgpuInt8Weight.FromTensor(_accelerator, tensor);
        var t = new IlgpuTensor(_accelerator, tensor.Rows, tensor.Columns);
        t.View.CopyFromCPU(tensor.ToFloat32());
        return t;
    }

    public IDeviceWeight UploadWeight(ReadOnlySpan<float> values, int rows, int columns, WeightRole role)
    {
        if (values.Length != (long)rows * columns) throw new ArgumentException($"{values.Length} values for a {rows}×{columns} weight");
        var t = new IlgpuTensor(_accelerator, rows, columns);
        t.View.CopyFromCPU(values);
        return t;
    }

    public IDeviceTensor Allocate(int rows, int columns) => new IlgpuTensor(_accelerator, rows, columns);

    public void Upload(ReadOnlySpan<float> source, IDeviceTensor destination)
    {
        var d = IlgpuTensor.Cast(destination, "destination");
        if (source.Length > d.Length) throw new ArgumentException($"{source.Length} values do not fit a {d.Rows}×{d.Columns} tensor");
        d.View.SubView(0, source.Length).CopyFromCPU(_stream, source);
    }

    public void Download(IDeviceTensor source, Span<float> destination)
    {
        var s = IlgpuTensor.Cast(source, "source");
        if (destination.Length > s.Length) throw new ArgumentException($"asked for {destination.Length} values from a {s.Rows}×{s.Columns} tensor");
        _stream.Synchronize(); // waits for every queued kernel that writes this tensor
        s.View.SubView(0, destination.Length).CopyToCPU(_stream, destination);
    }

    public void Embed(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> types,
        IDeviceWeight word, IDeviceWeight? position, IDeviceWeight? type, float scale, IDeviceTensor output)
    {
        var w = IlgpuTensor.Cast(word, "word table");
        var p = position is null ? null : IlgpuTensor.Cast(position, "position table");
        var ty = type is null ? null : IlgpuTensor.Cast(type, "type table");
        var o = IlgpuTensor.Cast(output, "output");
        int n = tokens.Length;
        if (n == 0) return;
        if (n > o.Rows) throw new ArgumentException($"{n} tokens do not fit {o.Rows} output rows");
        if (w.Columns != o.Columns || (p is not null && p.Columns != o.Columns) || (ty is not null && ty.Columns != o.Columns))
            throw new ArgumentException("embedding tables and output differ in width");
        // The kernel trusts its ids: check them here so a bad id is an exception, not an out-of-bounds read.
        var ids = new int[3 * n];
        for (int t = 0; t < n; t++)
        {
            ids[t] = CheckId(tokens[t], w.Rows, "token id", t);
            if (p is not null) ids[n + t] = CheckId(positions[t], p.Rows, "position", t);
            if (ty is not null) ids[2 * n + t] = CheckId(types[t], ty.Rows, "token type", t);
        }
        var device = Stage(ref _ints, ids);
        _kernels.Embedding.Run(_stream, device, n, w.View, p?.View ?? ArrayView<float>.Empty, ty?.View ?? ArrayView<float>.Empty,
            o.View, o.Columns, scale);
    }

    private static int CheckId(int id, int rows, string what, int index) =>
        (uint)id < (uint)rows ? id : throw new ArgumentException($"{what} {id} at position {index} is outside the table's {rows} rows");

    public void Linear(IDeviceTensor x, IDeviceWeight weight, IDeviceWeight? bias, Activation activation,
        IDeviceTensor y, IDeviceTensor? residual, int rows)
    {
        var xs = IlgpuTensor.Cast(x, "x");
        var ys = IlgpuTensor.Cast(y, "y");
        var b = bias is null ? null : IlgpuTensor.Cast(bias, "bias");
        var r = residual is null ? null : IlgpuTensor.Cast(residual, "residual");
        if (ReferenceEquals(xs, ys)) throw new ArgumentException("Linear cannot write its output over its input");
        if (xs.Columns != weight.Columns) throw new ArgumentException($"x has {xs.Columns} columns, weight expects {weight.Columns}");
        if (ys.Columns != weight.Rows) throw new ArgumentException($"y has {ys.Columns} columns, weight produces {weight.Rows}");
        if (rows > xs.Rows || rows > ys.Rows) throw new ArgumentException($"{rows} rows exceed the tensors' capacity");
        if (b is not null && b.Length != weight.Rows) throw new ArgumentException($"bias has {b.Length} values, expected {weight.Rows}");
        if (r is not null && (r.Columns != ys.Columns || r.Rows < rows)) throw new ArgumentException("residual shape differs from the output");
        var bv = b?.View ?? ArrayView<float>.Empty;
        var rv = r is null ? ArrayView<float>.Empty : r.View.SubView(0, (long)rows * ys.Columns);
        var act = (KernelActivation)(int)activation;
        switch (weight)
        {
            case IlgpuTensor w:
                _kernels.Gemm.Run(_stream, xs.View, w.View, bv, rv, ys.View, rows, w.Rows, w.Columns, act);
                break;
            case IlgpuHalfWeight h:
                _kernels.Gemm.Run(_stream, xs.View, h.View, bv, rv, ys.View, rows, h.Rows, h.Columns, act);
                break;
            case IlgpuInt8Weight q:
            {
                var qx = Ensure(ref _int8Rows, (long)rows * q.PackedColumns);
                var sx = Ensure(ref _int8Scales, rows);
                _kernels.Int8Gemm.Run(_stream, xs.View, q.View, q.Scales, bv, rv, ys.View, rows, q.Rows, q.Columns, act, qx, sx);
                break;
            }
            default:
                throw new ArgumentException("weight was not uploaded by an ILGPU backend");
        }
    }

    public void LayerNorm(IDeviceTensor x, IDeviceWeight gamma, IDeviceWeight beta, float eps, IDeviceTensor y, int rows)
    {
        var xs = IlgpuTensor.Cast(x, "x");
        var ys = IlgpuTensor.Cast(y, "y");
        var g = IlgpuTensor.Cast(gamma, "gamma");
        var b = IlgpuTensor.Cast(beta, "beta");
        if (g.Length != xs.Columns || b.Length != xs.Columns || ys.Columns != xs.Columns) throw new ArgumentException("LayerNorm shapes differ");
        if (rows > xs.Rows || rows > ys.Rows) throw new ArgumentException($"{rows} rows exceed the tensors' capacity");
        _kernels.LayerNorm.Run(_stream, xs.View, g.View, b.View, ys.View, rows, xs.Columns, eps);
    }

    public void Attention(IDeviceTensor qkv, SequenceLayout layout, int heads, float scale, IDeviceTensor context)
    {
        var q = IlgpuTensor.Cast(qkv, "qkv");
        var ctx = IlgpuTensor.Cast(context, "context");
        if (q.Columns != 3 * ctx.Columns) throw new ArgumentException($"qkv has {q.Columns} columns, expected 3 × {ctx.Columns}");
        if (heads <= 0 || ctx.Columns % heads != 0) throw new ArgumentException($"{ctx.Columns} columns do not split into {heads} heads");
        if (layout.TotalTokens > q.Rows || layout.TotalTokens > ctx.Rows) throw new ArgumentException("layout exceeds the tensors' rows");
        var starts = layout.Starts.Span;
        var device = Stage(ref _starts, starts);
        _kernels.Attention.Run(_stream, q.View, device, starts, ctx.View, heads, ctx.Columns / heads, scale);
    }

    public void Pool(IDeviceTensor hidden, SequenceLayout layout, Pooling mode, IDeviceTensor pooled)
    {
        var h = IlgpuTensor.Cast(hidden, "hidden");
        var p = IlgpuTensor.Cast(pooled, "pooled");
        if (p.Columns != h.Columns || p.Rows < layout.Count) throw new ArgumentException("pooled tensor shape does not fit the batch");
        if (layout.TotalTokens > h.Rows) throw new ArgumentException("layout exceeds the hidden rows");
        var starts = layout.Starts.Span;
        var device = Stage(ref _starts, starts);
        _kernels.Pooling.Run(_stream, h.View, device, starts, p.View, h.Columns, (KernelPooling)(int)mode);
    }

    public void L2Normalize(IDeviceTensor x, int rows)
    {
        var xs = IlgpuTensor.Cast(x, "x");
        if (rows > xs.Rows) throw new ArgumentException($"{rows} rows exceed the tensor's {xs.Rows}");
        _kernels.L2Normalize.Run(_stream, xs.View, rows, xs.Columns);
    }

    // ---- Scoring -------------------------------------------------------------------------------------------------

    public ICatalogMatrix CreateCatalog(int dimension, int capacity, TensorType storage = TensorType.F32) =>
        new IlgpuCatalog(this, dimension, capacity, storage);

    public void Score(ReadOnlySpan<float> queries, ICatalogMatrix catalog, Span<float> scores)
    {
        var c = Own(catalog);
        int q = ScoringLimits.CheckQueries(queries, c);
        long needed = (long)q * c.Count;
        if (scores.Length < needed) throw new ArgumentException($"scores hold {scores.Length} values; {q} queries × {c.Count} rows = {needed} needed");
        var qv = Stage(ref _floats, queries);
        var sv = Ensure(ref _outScores, needed);
        _kernels.DotScore.Score(_stream, qv, q, c.View, 0, c.Count, sv);
        _stream.Synchronize();
        sv.SubView(0, needed).CopyToCPU(_stream, scores[..checked((int)needed)]);
    }

    public void TopK(ReadOnlySpan<float> queries, ICatalogMatrix catalog, int k, Span<int> ids, Span<float> scores)
    {
        var c = Own(catalog);
        int q = ScoringLimits.CheckQueries(queries, c);
        ScoringLimits.CheckTopK(q, k, ids.Length, scores.Length);
        int n = q * k;
        var qv = Stage(ref _floats, queries);
        var iv = Ensure(ref _outIds, n);
        var sv = Ensure(ref _outScores, n);
        _kernels.TopK.Run(_stream, qv, q, c.View, c.Count, k, iv, sv);
        _stream.Synchronize();
        iv.SubView(0, n).CopyToCPU(_stream, ids[..n]);
        sv.SubView(0, n).CopyToCPU(_stream, scores[..n]);
    }

    private IlgpuCatalog Own(ICatalogMatrix catalog) =>
        catalog is IlgpuCatalog c && ReferenceEquals(c.Owner, this) ? c
            : throw new ArgumentException("the catalog was not created by this backend");

    /// <summary>Copies host values into a grow-only device staging buffer and returns a view of exactly them.</summary>
    internal ArrayView<T> Stage<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, ReadOnlySpan<T> values) where T : unmanaged
    {
        var view = Ensure(ref buffer, values.Length);
        // A synchronous copy: the stream has finished with the previous contents when it returns.
        view.SubView(0, values.Length).CopyFromCPU(_stream, values);
        return view.SubView(0, values.Length);
    }

    internal ArrayView<T> Ensure<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            _stream.Synchronize(); // queued kernels may still read the old buffer
            buffer?.Dispose();
            buffer = _accelerator.Allocate1D<T>(Math.Max(length, 64));
        }
        return buffer.View;
    }

    internal AcceleratorStream Stream => _stream;

    public void Dispose()
    {
        _stream.Synchronize();
        _ints?.Dispose();
        _starts?.Dispose();
        _outIds?.Dispose();
        _floats?.Dispose();
        _outScores?.Dispose();
        _int8Rows?.Dispose();
        _int8Scales?.Dispose();
        _kernels.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }
}
