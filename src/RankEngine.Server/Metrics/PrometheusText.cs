using RankEngine.Diagnostics;
using RankEngine.Server.Resp;

namespace RankEngine.Server.Metrics;

/// <summary>
/// Renders the server's metrics in the Prometheus text exposition format (version 0.0.4): requests, latency and
/// admission, connections and bytes, the store, the encoder, build info, and process/.NET runtime metrics.
/// Label values come from fixed sets only (command names, error codes, A/B buckets): unknown verbs share
/// <c>command="unknown"</c>.
/// </summary>
internal static class PrometheusText
{
    public static string Render(RankServerState state)
    {
        var m = state.Metrics;
        var engine = state.Service;
        var w = new PrometheusWriter();

        w.Family("rankengine_build_info", "gauge", "Always 1; the labels say which build, model and backend serve.");
        w.Sample("rankengine_build_info",
            $"version=\"{PrometheusWriter.Escape(RespSession.Version)}\",model=\"{PrometheusWriter.Escape(state.Options.ModelName ?? "none")}\"," +
            $"backend=\"{PrometheusWriter.Escape(engine.Backend?.Name ?? "none")}\",runtime=\"{PrometheusWriter.Escape(Environment.Version.ToString())}\"", 1);

        w.Family("rankengine_requests_total", "counter", "Requests answered, by command (errors included; unknown verbs are command=\"unknown\").");
        for (int c = 1; c < CommandTable.Count; c++)
            w.Sample("rankengine_requests_total", $"command=\"{CommandTable.Name((RespCommand)c)}\"", m.Requests((RespCommand)c));
        w.Sample("rankengine_requests_total", "command=\"unknown\"", m.Requests(RespCommand.None));

        w.Family("rankengine_errors_total", "counter", "Error replies, by code word.");
        for (int e = 0; e < ErrorCodes.Count; e++)
            w.Sample("rankengine_errors_total", $"code=\"{ErrorCodes.Word((ErrorCode)e)}\"", m.Errors((ErrorCode)e));

        w.Family("rankengine_busy_total", "counter", "Requests answered BUSY (no engine slot before their deadline), by command.");
        for (int c = 1; c < CommandTable.Count; c++)
            if (CommandTable.UsesEngine((RespCommand)c) || (RespCommand)c == RespCommand.Exec)
                w.Sample("rankengine_busy_total", $"command=\"{CommandTable.Name((RespCommand)c)}\"", m.BusyReplies((RespCommand)c));

        w.Family("rankengine_request_duration_seconds", "histogram",
            "Time from a request's arrival (its first bytes read from the socket) to its reply being written, by command: queueing and the wait for an engine slot included.");
        for (int c = 0; c < CommandTable.Count; c++)
        {
            var command = (RespCommand)c;
            if (m.Requests(command) == 0) continue;
            w.Histogram("rankengine_request_duration_seconds", $"command=\"{CommandTable.Name(command)}\"", ServerMetrics.LatencyBuckets,
                b => m.LatencyBucket(command, b), m.LatencySeconds(command));
        }
        w.Family("rankengine_slot_wait_seconds", "histogram", "Time engine commands waited for an engine slot (0 when one was free), admitted or answered BUSY.");
        w.Histogram("rankengine_slot_wait_seconds", null, ServerMetrics.LatencyBuckets, m.SlotWaitBucket, m.SlotWaitSeconds);
        w.Gauge("rankengine_queue_depth", "Requests waiting for an engine slot now.", state.Gate.Waiting);
        w.Gauge("rankengine_inflight_requests", "Engine calls running now.", state.Gate.InFlight);
        w.Gauge("rankengine_max_inflight", "Engine slots (MaxInFlight).", state.Gate.Capacity);

        w.Gauge("rankengine_connections", "Open protocol connections.", m.Connections);
        w.Counter("rankengine_connections_total", "Protocol connections accepted since start.", m.ConnectionsTotal);
        w.Counter("rankengine_connections_rejected_total", "Connections refused because a connection limit (total or per address) was reached.", m.ConnectionsRejected);
        w.Counter("rankengine_connections_timed_out_total", "Connections closed for the idle timeout or the authentication deadline.", m.ConnectionsTimedOut);
        w.Counter("rankengine_auth_failures_total", "Failed AUTH attempts.", m.AuthFailures);
        w.Gauge("rankengine_buffered_request_bytes", "Unread request bytes buffered over all connections.", state.Buffers.Held);
        w.Counter("rankengine_received_bytes_total", "Protocol bytes read from clients.", m.BytesReceived);
        w.Counter("rankengine_sent_bytes_total", "Protocol bytes written to clients.", m.BytesSent);

        w.Gauge("rankengine_items", "Items in the catalog.", engine.ItemCount);
        if (engine.LocalStore is { } local) StoreSeries(w, local);

        w.Gauge("rankengine_model_refit_failing", "1 while the latest background model refit failed (the previous model keeps serving; INFO engine last_refit_error says why).",
            state.LastRefitError is null ? 0 : 1);


        w.Counter("rankengine_encoder_calls_total", "Encoder calls (one per batch of texts) in this process.", EncoderMetrics.Calls);
        w.Counter("rankengine_encoder_texts_total", "Texts encoded.", EncoderMetrics.Texts);
        w.Counter("rankengine_encoder_tokens_total", "Tokens encoded (after truncation to the model's length).", EncoderMetrics.Tokens);
        w.Gauge("rankengine_encoder_tokens_per_second", "Tokens per second of encoder time since start (tokens_total / duration sum; rate() of tokens_total gives wall-clock throughput).",
            EncoderMetrics.Seconds > 0 ? EncoderMetrics.Tokens / EncoderMetrics.Seconds : 0);
        w.Family("rankengine_encoder_duration_seconds", "histogram", "Time of one encoder call (tokenising and the forward pass).");
        w.Histogram("rankengine_encoder_duration_seconds", null, EncoderMetrics.LatencyBuckets, EncoderMetrics.LatencyBucket, EncoderMetrics.Seconds);
        w.Family("rankengine_encoder_batch_size", "histogram", "Texts per encoder call.");
        w.Histogram("rankengine_encoder_batch_size", null, EncoderMetrics.BatchBuckets, EncoderMetrics.BatchBucket, EncoderMetrics.Texts);

        w.Gauge("rankengine_uptime_seconds", "Seconds since the server started.", (long)(DateTimeOffset.UtcNow - m.StartedAt).TotalSeconds);
        w.Gauge("rankengine_ready", "1 when the server accepts requests.", state.IsReady ? 1 : 0);

        var buckets = engine.Experiment.Stats();
        w.Family("rankengine_bucket_impressions_total", "counter", "Items shown, by A/B bucket.");
        foreach (var b in buckets) w.Sample("rankengine_bucket_impressions_total", $"bucket=\"{PrometheusWriter.Escape(b.Bucket)}\"", b.Impressions);
        w.Family("rankengine_bucket_clicks_total", "counter", "Positive feedback events (click, like, purchase), by A/B bucket.");
        foreach (var b in buckets) w.Sample("rankengine_bucket_clicks_total", $"bucket=\"{PrometheusWriter.Escape(b.Bucket)}\"", b.Clicks);
        w.Family("rankengine_bucket_ctr", "gauge", "Clicks / impressions, by A/B bucket.");
        foreach (var b in buckets) w.Sample("rankengine_bucket_ctr", $"bucket=\"{PrometheusWriter.Escape(b.Bucket)}\"", b.Ctr);

        RuntimeMetrics.Write(w);
        return w.ToString();
    }

    /// <summary>The local store's series (a cluster front end has none: its shards' stores live in the grains).</summary>
    private static void StoreSeries(PrometheusWriter w, RankEngine.Store.RankStore local)
    {
        var store = local.GetStats();
        w.Gauge("rankengine_users", "Users in the store.", store.Users);
        w.Gauge("rankengine_store_hybrid_log_bytes", "Bytes of the FASTER hybrid log between its begin and tail (memory and disk).", store.HybridLogBytes);
        w.Gauge("rankengine_store_log_bytes", "Bytes of the store's hybrid log (begin to tail); the same value as rankengine_store_hybrid_log_bytes, kept for existing dashboards.", local.LogBytes);
        w.Gauge("rankengine_store_hybrid_log_memory_bytes", "Bytes of the hybrid log held in memory.", store.HybridLogMemoryBytes);
        w.Gauge("rankengine_store_wal_bytes", "Bytes of the write-ahead log not yet truncated by a checkpoint.", store.WalBytes);
        w.Gauge("rankengine_store_disk_bytes", "Bytes of all files in the data directory.", store.DiskBytes);
        w.Counter("rankengine_store_checkpoints_total", "Store checkpoints since the store was opened.", store.Checkpoints);
        w.Gauge("rankengine_store_checkpoint_age_seconds", "Seconds since the last checkpoint finished (since the store was opened, before the first).",
            (DateTimeOffset.UtcNow - (store.LastCheckpointAt ?? store.OpenedAt)).TotalSeconds);
        w.Gauge("rankengine_store_last_checkpoint_duration_seconds", "How long the last checkpoint took (0 before the first).", store.LastCheckpointDuration.TotalSeconds);
        w.Counter("rankengine_store_compactions_total", "Hybrid-log compactions since the store was opened.", local.CompactionCount);
        w.Counter("rankengine_store_background_errors_total", "Failed background checkpoints or compactions.", local.BackgroundErrorCount);
        w.Gauge("rankengine_store_background_failing", "1 while the latest background checkpoint or compaction failed.", local.BackgroundFailing ? 1 : 0);
    }
}
