using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using RankEngine.Compute.Cpu;
using RankEngine.Model;

namespace RankEngine.Compute.Simd;

/// <summary>
/// The fast CPU backend: packed-panel GEMM with Vector512/Vector256 FMA micro-kernels and fused bias, activation and
/// residual; vectorised LayerNorm, attention and pooling; all cores. fp16 weight matrices stay fp16 in memory and are
/// widened per K block inside the GEMM; int8 weight matrices stay int8 and run on the int8 GEMM (<see cref="Int8Gemm"/>,
/// activations quantised per row, int32 accumulation) with the kernel chosen from what the CPU reports. Other compute is fp32. Scoring and top-k over a catalog live in SimdCpuBackend.Scoring.cs.
/// </summary>
internal sealed unsafe partial class SimdCpuBackend : IComputeBackend
{
    /// <param name="int8Kernel">The int8 GEMM kernel for int8 weight matrices (Auto: the best this CPU has; a forced
    /// kernel the CPU lacks throws <see cref="NotSupportedException"/>).</param>
    public SimdCpuBackend(Int8Kernel int8Kernel = Int8Kernel.Auto)
    {
        Int8Kernel = Int8Dots.Resolve(int8Kernel);
    }

    /// <summary>The kernel int8 weight matrices run on.</summary>
    public Int8Kernel Int8Kernel { get; }

    public string Name => "simd";

    public string DeviceDescription =>
        $"CPU, {Environment.ProcessorCount} threads, {(Avx512F.IsSupported ? "AVX-512" : Fma.IsSupported ? "AVX2+FMA" : "scalar")} GEMM, int8 GEMM {Int8Kernel}";

    public bool Supports(ComputeOp op, TensorType weightType) => weightType != TensorType.U8;

    public IDeviceWeight UploadWeight(TensorView tensor, WeightRole role)
    {
        if (role == WeightRole.MatMul)
        {
            // fp16 matrices stay fp16 (half the bytes streamed per token: what bounds small batches); int8 matrices stay
            // int8 for the integer kernels.
            if (tensor.Type == TensorType.F16)
                return new PackedMatrix(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(tensor.Bytes), tensor.Rows, tensor.Columns);
            if (tensor.Type == TensorType.I8)
                return Int8PackedMatrix.FromTensor(tensor);
            return new PackedMatrix(tensor.ToFloat32(), tensor.Rows, tensor.Columns);
        }
        var t = new HostTensor(tensor.Rows, tensor.Columns);
        tensor.CopyTo(t.Span);
        return t;
    }

    public IDeviceWeight UploadWeight(ReadOnlySpan<float> values, int rows, int columns, WeightRole role)
    {
        if (role == WeightRole.MatMul) return new PackedMatrix(values, rows, columns);
        var t = new HostTensor(rows, columns);
        values.CopyTo(t.Span);
        return t;
    }

    public IDeviceTensor Allocate(int rows, int columns) => new HostTensor(rows, columns);

    public void Upload(ReadOnlySpan<float> source, IDeviceTensor destination)
    {
        var d = HostTensor.Cast(destination, "destination");
        if (source.Length > d.Length) throw new ArgumentException($"{source.Length} values do not fit a {d.Rows}×{d.Columns} tensor");
        source.CopyTo(d.Span);
    }

    public void Download(IDeviceTensor source, Span<float> destination)
    {
        var s = HostTensor.Cast(source, "source");
        if (destination.Length > s.Length) throw new ArgumentException($"asked for {destination.Length} values from a {s.Rows}×{s.Columns} tensor");
        s.Span[..destination.Length].CopyTo(destination);
    }

    public void Embed(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> types,
        IDeviceWeight word, IDeviceWeight? position, IDeviceWeight? type, float scale, IDeviceTensor output)
    {
        var w = HostTensor.Cast(word, "word table");
        var p = position is null ? null : HostTensor.Cast(position, "position table");
        var ty = type is null ? null : HostTensor.Cast(type, "type table");
        var o = HostTensor.Cast(output, "output");
        if (tokens.Length > o.Rows) throw new ArgumentException($"{tokens.Length} tokens do not fit {o.Rows} output rows");
        for (int t = 0; t < tokens.Length; t++)
        {
            var row = o.Row(t);
            TensorPrimitives.Multiply(w.Row(tokens[t]), scale, row);
            if (p is not null) TensorPrimitives.Add(row, p.Row(positions[t]), row);
            if (ty is not null) TensorPrimitives.Add(row, ty.Row(types[t]), row);
        }
    }

    public void Linear(IDeviceTensor x, IDeviceWeight weight, IDeviceWeight? bias, Activation activation,
        IDeviceTensor y, IDeviceTensor? residual, int rows)
    {
        var xs = HostTensor.Cast(x, "x");
        var w = weight is PackedMatrix or Int8PackedMatrix ? weight : throw new ArgumentException("weight was not uploaded with WeightRole.MatMul");
        var b = bias is null ? null : HostTensor.Cast(bias, "bias");
        var ys = HostTensor.Cast(y, "y");
        var r = residual is null ? null : HostTensor.Cast(residual, "residual");
        if (ReferenceEquals(xs, ys)) throw new ArgumentException("Linear cannot write its output over its input");
        if (xs.Columns != w.Columns) throw new ArgumentException($"x has {xs.Columns} columns, weight expects {w.Columns}");
        if (ys.Columns != w.Rows) throw new ArgumentException($"y has {ys.Columns} columns, weight produces {w.Rows}");
        if (rows > xs.Rows || rows > ys.Rows) throw new ArgumentException($"{rows} rows exceed the tensors' capacity");
        if (b is not null && b.Length != w.Rows) throw new ArgumentException($"bias has {b.Length} values, expected {w.Rows}");
        if (r is not null && (r.Columns != ys.Columns || r.Rows < rows)) throw new ArgumentException("residual shape differs from the output");
        var ep = new Epilogue(b is null ? null : b.Pointer, activation, r is null ? null : r.Pointer, r?.Columns ?? 0,
            residualInOutput: r is not null && ReferenceEquals(r, ys));
        if (w is Int8PackedMatrix q) Int8Gemm.Multiply(Int8Kernel, xs.Pointer, xs.Columns, q, ys.Pointer, ys.Columns, rows, ep);
        else Gemm.Multiply(xs.Pointer, xs.Columns, (PackedMatrix)w, ys.Pointer, ys.Columns, rows, ep);
    }

    public void LayerNorm(IDeviceTensor x, IDeviceWeight gamma, IDeviceWeight beta, float eps, IDeviceTensor y, int rows)
    {
        var xs = HostTensor.Cast(x, "x");
        var ys = HostTensor.Cast(y, "y");
        var g = HostTensor.Cast(gamma, "gamma");
        var b = HostTensor.Cast(beta, "beta");
        if (g.Length != xs.Columns || b.Length != xs.Columns || ys.Columns != xs.Columns)
            throw new ArgumentException("LayerNorm shapes differ");
        var job = new LayerNormJob(xs, ys, g, b, eps, rows);
        ParallelRunner.For(job.Chunks, job);
    }

    private readonly struct LayerNormJob : ParallelRunner.IBody
    {
        private const int RowsPerChunk = 64;
        private readonly HostTensor _x, _y, _g, _b;
        private readonly float _eps;
        private readonly int _rows;

        public LayerNormJob(HostTensor x, HostTensor y, HostTensor g, HostTensor b, float eps, int rows)
        {
            _x = x; _y = y; _g = g; _b = b; _eps = eps; _rows = rows;
        }

        public int Chunks => (_rows + RowsPerChunk - 1) / RowsPerChunk;

        public void Run(int chunk)
        {
            int end = Math.Min(_rows, (chunk + 1) * RowsPerChunk);
            var gamma = _g.Span;
            var beta = _b.Span;
            int n = _x.Columns;
            for (int i = chunk * RowsPerChunk; i < end; i++)
            {
                var xr = _x.Row(i);
                var yr = _y.Row(i);
                float mean = TensorPrimitives.Sum(xr) / n;
                TensorPrimitives.Subtract(xr, mean, yr);
                float variance = TensorPrimitives.SumOfSquares(yr) / n;
                TensorPrimitives.Multiply(yr, 1f / MathF.Sqrt(variance + _eps), yr);
                TensorPrimitives.FusedMultiplyAdd(yr, gamma, beta, yr);
            }
        }
    }

    public void Attention(IDeviceTensor qkv, SequenceLayout layout, int heads, float scale, IDeviceTensor context)
    {
        var q = HostTensor.Cast(qkv, "qkv");
        var ctx = HostTensor.Cast(context, "context");
        if (q.Columns != 3 * ctx.Columns) throw new ArgumentException($"qkv has {q.Columns} columns, expected 3 × {ctx.Columns}");
        if (ctx.Columns % heads != 0) throw new ArgumentException($"{ctx.Columns} columns do not split into {heads} heads");
        if (layout.TotalTokens > q.Rows || layout.TotalTokens > ctx.Rows) throw new ArgumentException("layout exceeds the tensors' rows");
        SimdAttention.Run(q.Pointer, q.Columns, ctx.Pointer, ctx.Columns, layout.Starts.Span, heads, ctx.Columns / heads, scale);
    }

    public void Pool(IDeviceTensor hidden, SequenceLayout layout, Pooling mode, IDeviceTensor pooled)
    {
        var h = HostTensor.Cast(hidden, "hidden");
        var p = HostTensor.Cast(pooled, "pooled");
        if (p.Columns != h.Columns || p.Rows < layout.Count) throw new ArgumentException("pooled tensor shape does not fit the batch");
        var starts = layout.Starts.Span;
        for (int s = 0; s < layout.Count; s++)
        {
            int start = starts[s], len = starts[s + 1] - start;
            var dst = p.Row(s);
            h.Row(start).CopyTo(dst);
            if (mode == Pooling.Cls) continue;
            for (int t = 1; t < len; t++) TensorPrimitives.Add(dst, h.Row(start + t), dst);
            TensorPrimitives.Multiply(dst, mode == Pooling.Mean ? 1f / len : 1f / MathF.Sqrt(len), dst);
        }
    }

    public void L2Normalize(IDeviceTensor x, int rows)
    {
        var xs = HostTensor.Cast(x, "x");
        for (int i = 0; i < rows; i++)
        {
            var r = xs.Row(i);
            float norm = TensorPrimitives.Norm(r);
            if (norm > 0) TensorPrimitives.Multiply(r, 1f / norm, r);
        }
    }

    public void Dispose() { }
}
