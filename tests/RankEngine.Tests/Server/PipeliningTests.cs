using System.Text;
using RankEngine.Client;
using RankEngine.Ranking;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>Many requests in flight on one connection; replies come back in request order and match their request.</summary>
public sealed class PipeliningTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync();
        _server.AddSmallCatalog();
        foreach (var (user, item) in new[] { ("p0", "a"), ("p1", "c"), ("p2", "e") })
            _server.Engine.RecordEvent(user, item, RankEngine.Store.UserEventKind.Like);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task AThousandRawRequestsInOneWrite()
    {
        using var c = await _server.RawAsync();
        var batch = new MemoryStream();
        var expected = new StringBuilder();
        for (int i = 0; i < 1000; i++)
        {
            string message = $"m{i}";
            batch.Write(RawConnection.Command("PING", message));
            expected.Append($"${message.Length}\r\n{message}\r\n");
        }
        await c.SendAsync(batch.ToArray());
        await c.ExpectAsync(expected.ToString());
    }

    [Fact]
    public async Task AThousandClientRequestsInFlightMatchTheirReplies()
    {
        await using var client = await _server.ConnectAsync();
        var tasks = new List<Task<object>>();
        for (int i = 0; i < 1000; i++)
        {
            int n = i;
            if (i % 2 == 0) tasks.Add(Boxed(client.ExecuteAsync("PING", $"n{n}")));
            else tasks.Add(Boxed(client.RankAsync(new RankQuery { UserId = $"p{n % 3}", K = 1 + n % 5 })));
        }
        var replies = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 1000; i++)
        {
            if (i % 2 == 0)
            {
                Assert.Equal($"n{i}", ((RespValue)replies[i]).AsString());
                continue;
            }
            var result = (RankResult)replies[i];
            var expected = _server.Engine.Rank(new RankRequest { UserId = $"p{i % 3}", K = 1 + i % 5 });
            Assert.Equal(expected.Items.Select(x => x.Id), result.Items.Select(x => x.Id));
        }
    }

    private static async Task<object> Boxed<T>(Task<T> task) where T : notnull => await task;

    [Fact]
    public async Task ConcurrentCallersShareOneConnection()
    {
        await using var client = await _server.ConnectAsync();
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                var reply = await client.ExecuteAsync("PING", $"w{w}-{i}");
                Assert.Equal($"w{w}-{i}", reply.AsString());
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ErrorsInThePipelineStayInPlace()
    {
        await using var client = await _server.ConnectAsync();
        var ok1 = client.PingAsync();
        var bad = client.ExecuteAsync("RANK", "u", "K", "0");
        var ok2 = client.ExecuteAsync("PING", "after");
        Assert.Equal("PONG", await ok1);
        Assert.Equal("BADARG", (await Assert.ThrowsAsync<RankEngineServerException>(() => bad)).Code);
        Assert.Equal("after", (await ok2).AsString());
    }
}
