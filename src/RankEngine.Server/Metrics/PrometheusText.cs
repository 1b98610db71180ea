using System.Globalization;
using System.Text;
using RankEngine.Server.Resp;

namespace RankEngine.Server.Metrics;

/// <summary>Renders the server's metrics in the Prometheus text exposition format (version 0.0.4).</summary>
internal static class PrometheusText
{
    public static string Render(RankServerState state)
    {
        var m = state.Metrics;
        var engine = state.Engine;
        var sb = new StringBuilder(8192);
        var inv = CultureInfo.InvariantCulture;

        Family(sb, "rankengine_requests_total", "counter", "Requests answered, by command (errors included).");
        for (int c = 1; c < CommandTable.Count; c++)
            sb.Append(inv, $"rankengine_requests_total{{command=\"{CommandTable.Name((RespCommand)c)}\"}} {m.Requests((RespCommand)c)}\n");
        sb.Append(inv, $"rankengine_requests_total{{command=\"unknown\"}} {m.Requests(RespCommand.None)}\n");

        Family(sb, "rankengine_errors_total", "counter", "Error replies, by code word.");
        for (int e = 0; e < ErrorCodes.Count; e++)
            sb.Append(inv, $"rankengine_errors_total{{code=\"{ErrorCodes.Word((ErrorCode)e)}\"}} {m.Errors((ErrorCode)e)}\n");

        Family(sb, "rankengine_request_duration_seconds", "histogram", "Time from a parsed request to its reply being written, by command.");
        for (int c = 1; c < CommandTable.Count; c++)
        {
            var command = (RespCommand)c;
            long total = m.Requests(command);
            if (total == 0) continue;
            string name = CommandTable.Name(command);
            long cumulative = 0;
            for (int b = 0; b < ServerMetrics.LatencyBuckets.Length; b++)
            {
                cumulative += m.LatencyBucket(command, b);
                sb.Append(inv, $"rankengine_request_duration_seconds_bucket{{command=\"{name}\",le=\"{ServerMetrics.LatencyBuckets[b].ToString("R", inv)}\"}} {cumulative}\n");
            }
            cumulative += m.LatencyBucket(command, ServerMetrics.LatencyBuckets.Length);
            sb.Append(inv, $"rankengine_request_duration_seconds_bucket{{command=\"{name}\",le=\"+Inf\"}} {cumulative}\n");
            sb.Append(inv, $"rankengine_request_duration_seconds_sum{{command=\"{name}\"}} {m.LatencySeconds(command).ToString("R", inv)}\n");
            sb.Append(inv, $"rankengine_request_duration_seconds_count{{command=\"{name}\"}} {cumulative}\n");
        }

        Gauge(sb, "rankengine_connections", "Open protocol connections.", m.Connections);
        Family(sb, "rankengine_connections_total", "counter", "Protocol connections accepted since start.");
        sb.Append(inv, $"rankengine_connections_total {m.ConnectionsTotal}\n");
        Family(sb, "rankengine_connections_rejected_total", "counter", "Connections refused because the connection limit was reached.");
        sb.Append(inv, $"rankengine_connections_rejected_total {m.ConnectionsRejected}\n");
        Gauge(sb, "rankengine_inflight_requests", "Engine calls running now.", state.Gate.InFlight);
        Gauge(sb, "rankengine_items", "Items in the catalog.", engine.ItemCount);
        Gauge(sb, "rankengine_uptime_seconds", "Seconds since the server started.", (long)(DateTimeOffset.UtcNow - m.StartedAt).TotalSeconds);
        Gauge(sb, "rankengine_ready", "1 when the server accepts requests.", state.IsReady ? 1 : 0);
        Family(sb, "rankengine_connections_timed_out_total", "counter", "Connections closed for the idle timeout or the authentication deadline.");
        sb.Append(inv, $"rankengine_connections_timed_out_total {m.ConnectionsTimedOut}\n");
        Family(sb, "rankengine_auth_failures_total", "counter", "Failed AUTH attempts.");
        sb.Append(inv, $"rankengine_auth_failures_total {m.AuthFailures}\n");
        Gauge(sb, "rankengine_buffered_request_bytes", "Unread request bytes buffered over all connections.", state.Buffers.Held);
        var store = engine.Store;
        Gauge(sb, "rankengine_store_log_bytes", "Bytes of the store's hybrid log (begin to tail).", store.LogBytes);
        Family(sb, "rankengine_store_checkpoints_total", "counter", "Store checkpoints since open.");
        sb.Append(inv, $"rankengine_store_checkpoints_total {store.CheckpointCount}\n");
        Family(sb, "rankengine_store_compactions_total", "counter", "Hybrid-log compactions since open.");
        sb.Append(inv, $"rankengine_store_compactions_total {store.CompactionCount}\n");
        Family(sb, "rankengine_store_background_errors_total", "counter", "Failed background checkpoints or compactions.");
        sb.Append(inv, $"rankengine_store_background_errors_total {store.BackgroundErrorCount}\n");
        Gauge(sb, "rankengine_store_background_failing", "1 while the latest background checkpoint or compaction failed.", store.BackgroundFailing ? 1 : 0);

        var buckets = engine.Experiment.Stats();
        Family(sb, "rankengine_bucket_impressions_total", "counter", "Items shown, by A/B bucket.");
        foreach (var b in buckets) sb.Append(inv, $"rankengine_bucket_impressions_total{{bucket=\"{Escape(b.Bucket)}\"}} {b.Impressions}\n");
        Family(sb, "rankengine_bucket_clicks_total", "counter", "Positive feedback events (click, like, purchase), by A/B bucket.");
        foreach (var b in buckets) sb.Append(inv, $"rankengine_bucket_clicks_total{{bucket=\"{Escape(b.Bucket)}\"}} {b.Clicks}\n");
        Family(sb, "rankengine_bucket_ctr", "gauge", "Clicks / impressions, by A/B bucket.");
        foreach (var b in buckets) sb.Append(inv, $"rankengine_bucket_ctr{{bucket=\"{Escape(b.Bucket)}\"}} {b.Ctr.ToString("R", inv)}\n");
        return sb.ToString();
    }

    private static void Family(StringBuilder sb, string name, string type, string help) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Gauge(StringBuilder sb, string name, string help, long value)
    {
        Family(sb, name, "gauge", help);
        sb.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
