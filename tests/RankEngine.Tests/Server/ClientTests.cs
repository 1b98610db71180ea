using RankEngine.Client;
using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>Every command's happy path through the .NET client, checked against the engine behind the server.</summary>
public sealed class ClientTests : IAsyncLifetime
{
    private ServerHarness _server = null!;
    private RankEngineClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync();
        _server.AddSmallCatalog();
        _client = await _server.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task PingAndInfo()
    {
        Assert.Equal("PONG", await _client.PingAsync());
        await _client.RankAsync(new RankQuery { UserId = "someone", K = 3 });
        var info = await _client.InfoAsync();
        Assert.Equal("5", info["items"]);
        Assert.Equal("4", info["content_dimension"]);
        Assert.Equal("none", info["model"]);
        Assert.Equal("1", info["catalog_shards"]);
        Assert.Equal("5", info["catalog_rows"]); // five items written once each: no dead rows
        Assert.Equal("0", info["catalog_dead_rows"]);
        Assert.Equal("none", info["catalog_quantization"]);
        Assert.Equal("1", info["connected_clients"]);
        Assert.StartsWith("calls=1,", info["cmdstat_rank"]);
        Assert.Equal("impressions=3,clicks=0,ctr=0", info["bucket_default"]);
        Assert.Equal(_server.EndPoint.Port.ToString(), info["tcp_port"]);
        Assert.True(long.Parse(info["uptime_in_seconds"]) >= 0);
        var engineOnly = await _client.InfoAsync("engine");
        Assert.Contains("# Engine", engineOnly.Raw);
        Assert.DoesNotContain("# Clients", engineOnly.Raw);
    }

    [Theory]
    [InlineData(CatalogQuantization.Int8, "int8 (kernel ")]
    [InlineData(CatalogQuantization.Fp16, "fp16")]
    public async Task InfoReportsTheCatalogQuantisation(CatalogQuantization quantization, string expected)
    {
        await using var server = await ServerHarness.StartAsync(quantization: quantization);
        server.AddSmallCatalog();
        await using var client = await server.ConnectAsync();
        Assert.StartsWith(expected, (await client.InfoAsync("engine"))["catalog_quantization"]);
    }

    [Fact]
    public async Task AddItemVectorGetAndDelete()
    {
        await _client.AddItemVectorAsync("new", new float[] { 0, 0, 2, 0 },
            [ItemField.Num("popularity", 7.25), ItemField.Str("genre", "noir"), ItemField.TagList("tags", "x", "y z")],
            text: "a new item", collab: new float[] { 0.5f, -1 });
        Assert.True(_server.Engine.TryGetItem("new", out var stored));
        Assert.Equal(new[] { 0f, 0, 1, 0 }, stored!.Vectors["content"]);
        Assert.Equal(new[] { 0.5f, -1 }, stored.Vectors["collab"]);
        Assert.Equal(FieldValue.Num(7.25), stored.Fields["popularity"]);
        Assert.Equal(FieldValue.String("noir"), stored.Fields["genre"]);
        Assert.Equal(FieldValue.Tags("x", "y z"), stored.Fields["tags"]);

        var item = await _client.GetItemAsync("new", withVectors: true);
        Assert.NotNull(item);
        Assert.Equal("a new item", item!.Text);
        Assert.Equal(7.25, item.Fields.Single(f => f.Name == "popularity").Number);
        Assert.Equal("noir", item.Fields.Single(f => f.Name == "genre").Text);
        Assert.Equal(new[] { "x", "y z" }, item.Fields.Single(f => f.Name == "tags").Tags);
        Assert.Equal(new[] { 0f, 0, 1, 0 }, item.Vectors["content"]);

        Assert.True(await _client.DeleteItemAsync("new"));
        Assert.False(await _client.DeleteItemAsync("new"));
        Assert.Null(await _client.GetItemAsync("new"));
        Assert.False(_server.Engine.TryGetItem("new", out _));
    }

    [Fact]
    public async Task FieldTypingOnTheWire()
    {
        // FIELD types by the value (number if it reads as one), STR forces a string, TAGS splits on '|'.
        var blob = new byte[16];
        BitConverter.TryWriteBytes(blob.AsSpan(0), 1f);
        var args = new[] { "typed", null, "FIELD", "year", "1999", "FIELD", "title", "1984 (film)", "STR", "code", "007", "TAGS", "genres", "Sci-Fi| Drama||" }
            .Select(a => a is null ? (ReadOnlyMemory<byte>)blob : System.Text.Encoding.UTF8.GetBytes(a)).ToArray();
        await _client.ExecuteAsync("ITEM.ADDVEC", args);
        Assert.True(_server.Engine.TryGetItem("typed", out var item));
        Assert.Equal(FieldValue.Num(1999), item!.Fields["year"]);
        Assert.Equal(FieldValue.String("1984 (film)"), item.Fields["title"]);
        Assert.Equal(FieldValue.String("007"), item.Fields["code"]);
        Assert.Equal(FieldValue.Tags("Sci-Fi", "Drama"), item.Fields["genres"]);
    }

    [Fact]
    public async Task RecordEventChangesTheNextRanking()
    {
        var before = await _client.RankAsync(new RankQuery { UserId = "fan", K = 2 });
        Assert.Equal("popularity", before.Strategy);
        await _client.RecordEventAsync("fan", "c", EventKind.Purchase);
        var after = await _client.RankAsync(new RankQuery { UserId = "fan", K = 2, ExcludeSeen = true });
        Assert.Equal("personalized", after.Strategy);
        Assert.Equal("d", after.Items[0].Id); // the item nearest to c in both spaces, c itself excluded
        var user = await _client.GetUserAsync("fan");
        Assert.NotNull(user);
        Assert.True(user!.HasProfile);
        Assert.Equal("default", user.Bucket);
        var e = Assert.Single(user.Events);
        Assert.Equal(("c", EventKind.Purchase, 1f), (e.ItemId, e.Kind, e.Weight));
        Assert.Null(await _client.GetUserAsync("stranger"));
    }

    [Fact]
    public async Task ScoreAndRankCarryParts()
    {
        await _client.RecordEventAsync("s", "a", EventKind.Like, 1, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var scored = await _client.ScoreAsync("s", ["e", "b", "missing"]);
        Assert.Equal(new[] { "b", "e" }, scored.Items.Select(i => i.Id));
        Assert.Equal(new[] { "missing" }, scored.UnknownCandidates);
        foreach (var i in scored.Items) Assert.Equal(i.Score, i.Content + i.Collab + i.Boosts, 5);
        var ranked = await _client.RankAsync(new RankQuery
        {
            UserId = "s", K = 3, Filters = ["genre=drama"], Boosts = new Dictionary<string, float> { ["popularity"] = 0.01f },
        });
        Assert.All(ranked.Items, i => Assert.Contains(i.Id, new[] { "a", "b" }));
        Assert.Equal(0.5f, ranked.Items.Single(i => i.Id == "b").Boosts, 5);
    }

    [Fact]
    public async Task ServerErrorsCarryTheirCode()
    {
        var e = await Assert.ThrowsAsync<RankEngineServerException>(() => _client.RankAsync(new RankQuery { K = 5000 }));
        Assert.Equal("TOOLARGE", e.Code);
        Assert.Equal("K is 5000, the limit is 4096", e.ServerMessage);
        e = await Assert.ThrowsAsync<RankEngineServerException>(() => _client.RecordEventAsync("u", "nope", EventKind.Click));
        Assert.Equal("NOTFOUND", e.Code);
        e = await Assert.ThrowsAsync<RankEngineServerException>(() => _client.EncodeAsync(["text"]));
        Assert.Equal("ERR", e.Code);
        Assert.Equal("PONG", await _client.PingAsync()); // the connection is fine
    }

    [Fact]
    public async Task SaveCheckpoints()
    {
        await _client.SaveAsync();
        Assert.Equal("PONG", await _client.PingAsync());
    }

    [Fact]
    public async Task ConnectionErrorsAreConnectionExceptions()
    {
        var closed = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, FreePort());
        await Assert.ThrowsAsync<RankEngineConnectionException>(() => RankEngineClient.ConnectAsync(closed));

        await using var client = await _server.ConnectAsync();
        Assert.Equal("PONG", await client.PingAsync());
        await _server.Host.StopAsync();
        await Assert.ThrowsAsync<RankEngineConnectionException>(async () =>
        {
            for (int i = 0; i < 50; i++) { await client.PingAsync(); await Task.Delay(20); }
        });
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
