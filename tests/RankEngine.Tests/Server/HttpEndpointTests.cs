using System.Net;
using RankEngine.Client;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>/healthz, /readyz and /metrics over real HTTP (HttpClient), with counts checked against the requests made.</summary>
public sealed class HttpEndpointTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync();
        _server.AddSmallCatalog();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    private Uri Url(string path) => new($"http://{_server.HttpEndPoint}{path}");

    [Fact]
    public async Task HealthAndReadiness()
    {
        var health = await _http.GetAsync(Url("/healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(Url("/readyz?verbose=1"))).StatusCode);
        _server.State.SetReady(false);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _http.GetAsync(Url("/readyz"))).StatusCode);
        _server.State.SetReady(true);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(Url("/nope"))).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _http.PostAsync(Url("/metrics"), new StringContent("x"))).StatusCode);
    }

    [Fact]
    public async Task MetricsCountRequestsErrorsLatencyConnectionsAndBuckets()
    {
        await using var client = await _server.ConnectAsync();
        for (int i = 0; i < 3; i++) await client.RankAsync(new RankQuery { UserId = "m", K = 2 });
        await client.RecordEventAsync("m", "a", EventKind.Click);
        await Assert.ThrowsAsync<RankEngineServerException>(() => client.RankAsync(new RankQuery { K = 0 }));
        await Assert.ThrowsAsync<RankEngineServerException>(() => client.ExecuteAsync("NOPE"));

        var response = await _http.GetAsync(Url("/metrics"));
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');
        void Has(string line) => Assert.Contains(line, lines);
        Has("rankengine_requests_total{command=\"rank\"} 4");
        Has("rankengine_requests_total{command=\"user.event\"} 1");
        Has("rankengine_requests_total{command=\"unknown\"} 1");
        Has("rankengine_errors_total{code=\"BADARG\"} 1");
        Has("rankengine_errors_total{code=\"ERR\"} 1");
        Has("rankengine_errors_total{code=\"BUSY\"} 0");
        Has("# TYPE rankengine_request_duration_seconds histogram");
        Has("rankengine_request_duration_seconds_bucket{command=\"rank\",le=\"+Inf\"} 4");
        Has("rankengine_request_duration_seconds_count{command=\"rank\"} 4");
        Has("rankengine_connections 1");
        Has("rankengine_items 5");
        Has("rankengine_ready 1");
        Has("rankengine_bucket_impressions_total{bucket=\"default\"} 6");
        Has("rankengine_bucket_clicks_total{bucket=\"default\"} 1");
        Has("rankengine_bucket_ctr{bucket=\"default\"} 0.16666666666666666");
        // Histogram buckets are cumulative and end at the count.
        var rankBuckets = lines.Where(l => l.StartsWith("rankengine_request_duration_seconds_bucket{command=\"rank\"", StringComparison.Ordinal))
            .Select(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..])).ToArray();
        Assert.Equal(16, rankBuckets.Length);
        for (int i = 1; i < rankBuckets.Length; i++) Assert.True(rankBuckets[i] >= rankBuckets[i - 1]);
        // Every sample line is "name{labels} value" or "name value".
        foreach (var line in lines.Where(l => l.Length > 0 && !l.StartsWith('#')))
            Assert.Matches(@"^[a-z_]+(\{[^}]*\})? [-+0-9.eE]+|[+-]Inf|NaN$", line);
    }
}
