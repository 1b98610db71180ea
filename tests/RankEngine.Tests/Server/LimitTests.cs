using System.Text;
using RankEngine.Server;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// Limits are checked on the header that declares a size, before the bytes are buffered: an over-limit request is
/// answered TOOLARGE, its remaining bytes are skipped as they arrive, and the connection stays usable.
/// </summary>
public sealed class LimitTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(configure: o => o with
        {
            Limits = new ServerLimits
            {
                MaxFrameBytes = 8192, MaxArgumentBytes = 2048, MaxArguments = 64, MaxInlineBytes = 256, MaxTextBytes = 100,
                MaxCandidates = 10, MaxEncodeBatch = 3, MaxClauses = 2,
            },
        });
        _server.AddSmallCatalog();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static async Task PingWorks(RawConnection c)
    {
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
    }

    [Fact]
    public async Task OversizedArgumentIsSkippedEvenWhenItArrivesInPieces()
    {
        using var c = await _server.RawAsync();
        var payload = new string('x', 100_000);
        var frame = Encoding.ASCII.GetBytes($"*3\r\n$4\r\nPING\r\n${payload.Length}\r\n{payload}\r\n$3\r\nabc\r\n");
        for (int i = 0; i < frame.Length; i += 7919)
            await c.SendAsync(frame[i..Math.Min(frame.Length, i + 7919)]);
        Assert.Equal("-TOOLARGE argument 1 is 100000 bytes, the limit is 2048", await c.ReadLineAsync());
        await PingWorks(c);
    }

    [Fact]
    public async Task FrameLargerThanTheLimitIsSkipped()
    {
        using var c = await _server.RawAsync();
        var arg = new string('y', 2000);
        await c.SendCommandAsync("PING", arg, arg, arg, arg, arg);
        Assert.Equal("-TOOLARGE request is larger than 8192 bytes", await c.ReadLineAsync());
        await PingWorks(c);
    }

    [Fact]
    public async Task TooManyArgumentsIsSkipped()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync(Enumerable.Range(0, 100).Select(i => (object)$"a{i}").Prepend("SCORE").ToArray());
        Assert.Equal("-TOOLARGE request has 101 arguments, the limit is 64", await c.ReadLineAsync());
        await PingWorks(c);
    }

    [Fact]
    public async Task InlineLimits()
    {
        using var c = await _server.RawAsync();
        await c.SendAsync("PING " + new string('z', 300) + "\r\n"); // over the limit, but its end is known
        Assert.Equal("-TOOLARGE inline request is 305 bytes, the limit is 256", await c.ReadLineAsync());
        await PingWorks(c);
        await c.SendAsync(new string('z', 400)); // no newline within the limit: the request cannot be delimited
        Assert.StartsWith("-ERR Protocol error: inline request longer than 256 bytes", await c.ReadLineAsync());
        Assert.True(await c.IsClosedAsync());
    }

    public static TheoryData<object[], string> Cases() => new()
    {
        { ["RANK", "u", "K", "4097"], "-TOOLARGE K is 4097, the limit is 4096" },
        { ["RANK", "u", "CANDIDATES", "11", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"], "-TOOLARGE CANDIDATES has 11 ids, the limit is 10" },
        { ["SCORE", "u", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"], "-TOOLARGE SCORE has 11 ids, the limit is 10" },
        { ["RANK", "u", "QUERY", new string('q', 101)], "-TOOLARGE QUERY text is 101 bytes, the limit is 100" },
        { ["ITEM.ADD", "t", new string('t', 101)], "-TOOLARGE item text is 101 bytes, the limit is 100" },
        { ["ENCODE", "a", "b", "c", "d"], "-TOOLARGE ENCODE got 4 texts, the limit is 3" },
        { ["RANK", "u", "FILTER", "genre=drama", "FILTER", "genre=comedy", "FILTER", "popularity>=1"], "-TOOLARGE more than 2 FILTER clauses" },
        { ["ITEM.GET", new string('i', 257)], "-TOOLARGE item id is 257 bytes, the limit is 256" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task RequestLimits(object[] command, string expected)
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync(command);
        Assert.Equal(expected, await c.ReadLineAsync());
        await PingWorks(c);
    }

    [Fact]
    public async Task KAtTheLimitIsServed()
    {
        await using var client = await _server.ConnectAsync();
        var result = await client.RankAsync(new RankEngine.Client.RankQuery { UserId = "u", K = 4096 });
        Assert.Equal(5, result.Items.Count); // the whole (small) catalog
    }

    [Fact]
    public async Task AClientThatDoesNotReadIsThrottledNotBuffered()
    {
        // 150 MB of PINGs whose replies are never read: once the reply path is full the server stops reading, so the
        // kernel's buffers fill and sends stall long before everything is accepted.
        using var c = await _server.RawAsync();
        var one = RawConnection.Command("PING", new string('p', 1000));
        var chunk = new byte[one.Length * 1000];
        for (int i = 0; i < 1000; i++) one.CopyTo(chunk, i * one.Length);
        long sent = 0;
        using var stall = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            while (sent < 150_000_000)
            {
                var send = c.SendAsync(chunk);
                await send.WaitAsync(stall.Token);
                sent += chunk.Length;
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.True(sent < 100_000_000, $"the server accepted {sent:N0} bytes from a client that never reads");
    }
}
