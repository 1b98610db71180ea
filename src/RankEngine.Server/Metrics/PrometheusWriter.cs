using System.Globalization;
using System.Text;

namespace RankEngine.Server.Metrics;

/// <summary>Appends metric families in the Prometheus text format (0.0.4): HELP/TYPE lines, samples, histograms.</summary>
internal sealed class PrometheusWriter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly StringBuilder _sb = new(16384);

    public override string ToString() => _sb.ToString();

    public void Family(string name, string type, string help) =>
        _sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    /// <summary>One sample; <paramref name="labels"/> is the inside of the braces, already escaped (or null).</summary>
    public void Sample(string name, string? labels, double value)
    {
        _sb.Append(name);
        if (labels is not null) _sb.Append('{').Append(labels).Append('}');
        _sb.Append(' ').Append(Number(value)).Append('\n');
    }

    public void Gauge(string name, string help, double value)
    {
        Family(name, "gauge", help);
        Sample(name, null, value);
    }

    public void Counter(string name, string help, double value)
    {
        Family(name, "counter", help);
        Sample(name, null, value);
    }

    /// <summary>
    /// The samples of one histogram series: cumulative buckets, sum and count. <paramref name="count"/> gives the
    /// non-cumulative count of bucket i (i = bounds.Length is +Inf). The family line is the caller's.
    /// </summary>
    public void Histogram(string name, string? labels, double[] bounds, Func<int, long> count, double sum)
    {
        string prefix = labels is null ? "" : labels + ",";
        long cumulative = 0;
        for (int b = 0; b < bounds.Length; b++)
        {
            cumulative += count(b);
            Sample(name + "_bucket", $"{prefix}le=\"{Number(bounds[b])}\"", cumulative);
        }
        cumulative += count(bounds.Length);
        Sample(name + "_bucket", $"{prefix}le=\"+Inf\"", cumulative);
        Sample(name + "_sum", labels, sum);
        Sample(name + "_count", labels, cumulative);
    }

    public static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN" : value.ToString("R", Inv);

    public static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
