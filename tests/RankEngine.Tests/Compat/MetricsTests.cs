using System.Text.RegularExpressions;
using StackExchange.Redis;
using Xunit;

namespace RankEngine.Tests.Compat;

/// <summary>
/// /metrics of a real <c>rankengine serve</c>: Prometheus's own <c>promtool check metrics</c> accepts it, and every
/// family an operator needs is there.
/// </summary>
[Collection(ServeProcessCollection.Name)]
public sealed class MetricsTests(ServeProcess server)
{
    public static readonly string[] Families =
    [
        "rankengine_build_info", "rankengine_requests_total", "rankengine_errors_total", "rankengine_busy_total",
        "rankengine_request_duration_seconds", "rankengine_slot_wait_seconds", "rankengine_queue_depth", "rankengine_inflight_requests",
        "rankengine_connections", "rankengine_received_bytes_total", "rankengine_sent_bytes_total", "rankengine_items", "rankengine_users",
        "rankengine_store_hybrid_log_bytes", "rankengine_store_wal_bytes", "rankengine_store_disk_bytes", "rankengine_store_checkpoints_total",
        "rankengine_store_checkpoint_age_seconds", "rankengine_store_last_checkpoint_duration_seconds",
        "rankengine_encoder_duration_seconds", "rankengine_encoder_tokens_total", "rankengine_encoder_tokens_per_second", "rankengine_encoder_batch_size",
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds",
        "dotnet_gc_collections_total", "dotnet_gc_heap_size_bytes", "dotnet_gc_pause_seconds_total", "dotnet_threadpool_threads", "dotnet_threadpool_queue_length",
    ];

    [Fact]
    public async Task PromtoolAcceptsMetricsAndEveryFamilyIsThere()
    {
        await using (var mux = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},password={ServeProcess.Token},allowAdmin=true"))
        {
            var db = mux.GetDatabase();
            await db.ExecuteAsync("ITEM.ADD", "metrics-a", "a film about metrics");
            await db.ExecuteAsync("USER.EVENT", "metrics-u", "metrics-a", "view");
            await db.ExecuteAsync("RANK", "metrics-u", "K", "3");
            await db.ExecuteAsync("SAVE");
            await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("ARBITRARY-VERB-1"));
            await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("ARBITRARY-VERB-2"));
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync($"http://127.0.0.1:{server.HttpPort}/metrics");

        var check = await ExternalTool.RunAsync("promtool", ["check", "metrics"], stdin: text, timeoutSeconds: 30);
        Assert.True(check.ExitCode == 0, check.Both);
        Assert.Equal("", check.Stdout + check.Stderr); // no lint warnings either

        var families = Regex.Matches(text, @"^# TYPE (\S+) ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToHashSet();
        foreach (var family in Families) Assert.Contains(family, families);
        Assert.Matches(@"rankengine_build_info\{version=""[^""]+"",model=""tiny\.rem"",backend=""simd"",runtime=""[^""]+""\} 1", text);
        Assert.Matches(@"rankengine_store_checkpoints_total [1-9]", text);
        Assert.Matches(@"rankengine_users [1-9]", text);
        Assert.Matches(@"rankengine_encoder_tokens_total [1-9]", text);
        // Unknown verbs share one label value; they never become label values of their own.
        Assert.DoesNotContain("arbitrary", text, StringComparison.OrdinalIgnoreCase);
        Assert.Matches(@"rankengine_requests_total\{command=""unknown""\} [2-9]", text);
    }
}
