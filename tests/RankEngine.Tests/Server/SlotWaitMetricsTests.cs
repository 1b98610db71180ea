using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// Under contention the request-duration histogram counts from the request's arrival, so it includes the wait for an
/// engine slot, and the slot wait is reported on its own; BUSY replies are counted per command.
/// </summary>
public sealed class SlotWaitMetricsTests
{
    private static double Sample(string text, string series)
    {
        var m = Regex.Match(text, "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no sample {series}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task RequestDurationIncludesTheSlotWait()
    {
        await using var server = await ServerHarness.StartAsync(configure: o => o with { Limits = o.Limits with { MaxInFlight = 1, RequestTimeout = TimeSpan.FromSeconds(30) } });
        server.AddSmallCatalog();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var gate = server.State.Gate;
        Assert.True(gate.TryEnter()); // the only slot: held by "another request"
        using var c = await server.RawAsync();
        await c.SendCommandAsync("ITEM.GET", "a");
        var until = DateTime.UtcNow.AddSeconds(10);
        while (gate.Waiting == 0 && DateTime.UtcNow < until) await Task.Delay(5);
        Assert.Equal(1, gate.Waiting);
        string during = await http.GetStringAsync($"http://{server.HttpEndPoint}/metrics");
        Assert.Equal(1, Sample(during, "rankengine_queue_depth"));
        await Task.Delay(400); // the request now has waited at least this long for the slot
        gate.Exit();
        Assert.StartsWith("*", await c.ReadLineAsync());

        string text = await http.GetStringAsync($"http://{server.HttpEndPoint}/metrics");
        double wait = Sample(text, "rankengine_slot_wait_seconds_sum");
        double duration = Sample(text, "rankengine_request_duration_seconds_sum{command=\"item.get\"}");
        Assert.True(wait >= 0.4, $"slot wait {wait}");
        Assert.True(duration >= wait, $"duration {duration} < slot wait {wait}");
        Assert.Equal(0, Sample(text, "rankengine_request_duration_seconds_bucket{command=\"item.get\",le=\"0.25\"}"));
        Assert.Equal(1, Sample(text, "rankengine_request_duration_seconds_count{command=\"item.get\"}"));
        Assert.Equal(0, Sample(text, "rankengine_queue_depth"));
    }

    [Fact]
    public async Task BusyRepliesAreCountedPerCommand()
    {
        await using var server = await ServerHarness.StartAsync(configure: o => o with { Limits = o.Limits with { MaxInFlight = 1, RequestTimeout = TimeSpan.FromMilliseconds(100) } });
        server.AddSmallCatalog();
        var gate = server.State.Gate;
        Assert.True(gate.TryEnter());
        try
        {
            using var c = await server.RawAsync();
            await c.SendCommandAsync("RANK", "u", "K", "2");
            await c.ExpectErrorAsync("BUSY");
            await c.SendCommandAsync("ITEM.GET", "a");
            await c.ExpectErrorAsync("BUSY");
            await c.SendAsync("PING\r\n"); // never waits for a slot
            await c.ExpectAsync("+PONG\r\n");
            // An EXEC of engine commands waits for one slot; refused, it ends the transaction like any EXEC reply.
            await c.SendCommandAsync("MULTI");
            await c.ExpectAsync("+OK\r\n");
            await c.SendCommandAsync("ITEM.GET", "a");
            await c.ExpectAsync("+QUEUED\r\n");
            await c.SendCommandAsync("EXEC");
            await c.ExpectErrorAsync("BUSY");
            await c.SendAsync("PING\r\n");
            await c.ExpectAsync("+PONG\r\n");
        }
        finally
        {
            gate.Exit();
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text = await http.GetStringAsync($"http://{server.HttpEndPoint}/metrics");
        Assert.Equal(1, Sample(text, "rankengine_busy_total{command=\"rank\"}"));
        Assert.Equal(1, Sample(text, "rankengine_busy_total{command=\"item.get\"}"));
        Assert.Equal(0, Sample(text, "rankengine_busy_total{command=\"score\"}"));
        Assert.Equal(1, Sample(text, "rankengine_busy_total{command=\"exec\"}"));
        Assert.Equal(3, Sample(text, "rankengine_errors_total{code=\"BUSY\"}"));
        Assert.True(Sample(text, "rankengine_received_bytes_total") > 0);
        Assert.True(Sample(text, "rankengine_sent_bytes_total") > 0);
    }
}
