using RankEngine.Compute.Cpu;
using RankEngine.Model;

namespace RankEngine.Compute.Reference;

/// <summary>
/// Ground truth: every op as plain loops accumulating in double. Slow; used by tests to check the fast backends
/// op by op, never in production paths.
/// </summary>
internal sealed class ReferenceBackend : IComputeBackend
{
    public string Name => "reference";
    public string DeviceDescription => "scalar reference loops (double accumulation)";

    public bool Supports(ComputeOp op, TensorType weightType) => weightType != TensorType.U8;

    public IDeviceWeight UploadWeight(TensorView tensor, WeightRole role)
    {
        var t = new HostTensor(tensor.Rows, tensor.Columns);
        tensor.CopyTo(t.Span);
        return t;
    }

    public IDeviceWeight UploadWeight(ReadOnlySpan<float> values, int rows, int columns, WeightRole role)
    {
        var t = new HostTensor(rows, columns);
        values.CopyTo(t.Span);
        return t;
    }

    public IDeviceTensor Allocate(int rows, int columns) => new HostTensor(rows, columns);

    public void Upload(ReadOnlySpan<float> source, IDeviceTensor destination) =>
        source.CopyTo(HostTensor.Cast(destination, "destination").Span);

    public void Download(IDeviceTensor source, Span<float> destination) =>
        HostTensor.Cast(source, "source").Span[..destination.Length].CopyTo(destination);

    public void Embed(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> types,
        IDeviceWeight word, IDeviceWeight? position, IDeviceWeight? type, float scale, IDeviceTensor output)
    {
        var w = HostTensor.Cast(word, "word table");
        var p = position is null ? null : HostTensor.Cast(position, "position table");
        var ty = type is null ? null : HostTensor.Cast(type, "type table");
        var o = HostTensor.Cast(output, "output");
        for (int t = 0; t < tokens.Length; t++)
        {
            var row = o.Row(t);
            var wr = w.Row(tokens[t]);
            for (int c = 0; c < row.Length; c++)
            {
                double v = (double)scale * wr[c];
                if (p is not null) v += p.Row(positions[t])[c];
                if (ty is not null) v += ty.Row(types[t])[c];
                row[c] = (float)v;
            }
        }
    }

    public void Linear(IDeviceTensor x, IDeviceWeight weight, IDeviceWeight? bias, Activation activation,
        IDeviceTensor y, IDeviceTensor? residual, int rows)
    {
        var xs = HostTensor.Cast(x, "x");
        var w = HostTensor.Cast(weight, "weight");
        var b = bias is null ? null : HostTensor.Cast(bias, "bias");
        var ys = HostTensor.Cast(y, "y");
        var r = residual is null ? null : HostTensor.Cast(residual, "residual");
        int n = w.Rows, k = w.Columns;
        for (int i = 0; i < rows; i++)
        {
            var xr = xs.Row(i);
            for (int j = 0; j < n; j++)
            {
                var wr = w.Row(j);
                double acc = b is null ? 0 : b.Span[j];
                for (int c = 0; c < k; c++) acc += (double)xr[c] * wr[c];
                double v = Activate(acc, activation);
                if (r is not null) v += r.Row(i)[j];
                ys.Row(i)[j] = (float)v;
            }
        }
    }

    public void LayerNorm(IDeviceTensor x, IDeviceWeight gamma, IDeviceWeight beta, float eps, IDeviceTensor y, int rows)
    {
        var xs = HostTensor.Cast(x, "x");
        var g = HostTensor.Cast(gamma, "gamma").Span;
        var b = HostTensor.Cast(beta, "beta").Span;
        var ys = HostTensor.Cast(y, "y");
        for (int i = 0; i < rows; i++)
        {
            var xr = xs.Row(i);
            double mean = 0, var = 0;
            foreach (float v in xr) mean += v;
            mean /= xr.Length;
            foreach (float v in xr) var += (v - mean) * (v - mean);
            var /= xr.Length;
            double inv = 1.0 / Math.Sqrt(var + eps);
            var yr = ys.Row(i);
            for (int c = 0; c < xr.Length; c++) yr[c] = (float)((xr[c] - mean) * inv * g[c] + b[c]);
        }
    }

    public void Attention(IDeviceTensor qkv, SequenceLayout layout, int heads, float scale, IDeviceTensor context)
    {
        var q = HostTensor.Cast(qkv, "qkv");
        var ctx = HostTensor.Cast(context, "context");
        int hidden = ctx.Columns, headSize = hidden / heads;
        var starts = layout.Starts.Span;
        for (int s = 0; s < layout.Count; s++)
        {
            int start = starts[s], len = starts[s + 1] - start;
            var scores = new double[len];
            for (int h = 0; h < heads; h++)
            {
                for (int i = 0; i < len; i++)
                {
                    var qi = q.Row(start + i).Slice(h * headSize, headSize);
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < len; j++)
                    {
                        var kj = q.Row(start + j).Slice(hidden + h * headSize, headSize);
                        double dot = 0;
                        for (int c = 0; c < headSize; c++) dot += (double)qi[c] * kj[c];
                        scores[j] = dot * scale;
                        max = Math.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < len; j++) { scores[j] = Math.Exp(scores[j] - max); sum += scores[j]; }
                    var outRow = ctx.Row(start + i).Slice(h * headSize, headSize);
                    for (int c = 0; c < headSize; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j < len; j++) acc += scores[j] * q.Row(start + j)[2 * hidden + h * headSize + c];
                        outRow[c] = (float)(acc / sum);
                    }
                }
            }
        }
    }

    public void Pool(IDeviceTensor hidden, SequenceLayout layout, Pooling mode, IDeviceTensor pooled)
    {
        var hs = HostTensor.Cast(hidden, "hidden");
        var ps = HostTensor.Cast(pooled, "pooled");
        var starts = layout.Starts.Span;
        for (int s = 0; s < layout.Count; s++)
        {
            int start = starts[s], len = starts[s + 1] - start;
            var dst = ps.Row(s);
            for (int c = 0; c < dst.Length; c++)
            {
                if (mode == Pooling.Cls) { dst[c] = hs.Row(start)[c]; continue; }
                double sum = 0;
                for (int t = 0; t < len; t++) sum += hs.Row(start + t)[c];
                dst[c] = (float)(mode == Pooling.Mean ? sum / len : sum / Math.Sqrt(len));
            }
        }
    }

    public void L2Normalize(IDeviceTensor x, int rows)
    {
        var xs = HostTensor.Cast(x, "x");
        for (int i = 0; i < rows; i++)
        {
            var r = xs.Row(i);
            double ss = 0;
            foreach (float v in r) ss += (double)v * v;
            if (ss == 0) continue;
            double inv = 1.0 / Math.Sqrt(ss);
            for (int c = 0; c < r.Length; c++) r[c] = (float)(r[c] * inv);
        }
    }

    /// <summary>Activation in double precision.</summary>
    public static double Activate(double x, Activation activation) => activation switch
    {
        Activation.None => x,
        Activation.Relu => Math.Max(0, x),
        Activation.Gelu => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        Activation.Tanh => Math.Tanh(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    /// <summary>
    /// erf in double: Maclaurin series for |x| &lt; 2.5 (terms stay below 30, so rounding stays near 1e-15) and the
    /// continued fraction of erfc beyond (converges quickly there). .NET has no Math.Erf.
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        double ax = Math.Abs(x);
        if (ax >= 2.5) return Math.Sign(x) * (1 - ErfcContinuedFraction(ax));
        double x2 = x * x, term = x, sum = x;
        for (int n = 1; n < 200; n++)
        {
            term *= -x2 / n;
            double add = term / (2 * n + 1);
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
        }
        return sum * 2 / Math.Sqrt(Math.PI);
    }

    // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...))))), evaluated bottom-up.
    private static double ErfcContinuedFraction(double x)
    {
        double f = x;
        for (int n = 80; n >= 1; n--) f = x + n / 2.0 / f;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    public void Dispose() { }
}
