using System.Runtime.InteropServices;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// Exact bytes on the wire (Garnet style): each expected reply is written out by hand from the protocol document,
/// so a change in framing, key order or number formatting fails here.
/// </summary>
public sealed class RespWireTests : SmallCatalogServerTest
{

    [Fact]
    public async Task PingInlineAndArrayForms()
    {
        using var c = await _server.RawAsync();
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
        await c.SendAsync("*1\r\n$4\r\nping\r\n");
        await c.ExpectAsync("+PONG\r\n");
        await c.SendCommandAsync("PING", "hello");
        await c.ExpectAsync("$5\r\nhello\r\n");
        await c.SendAsync("ping \"a b\\x41\"\n"); // inline with quotes and a hex escape, LF only
        await c.ExpectAsync("$4\r\na bA\r\n");
        await c.SendAsync("*0\r\n\r\nPING\r\n"); // an empty array and an empty line are ignored
        await c.ExpectAsync("+PONG\r\n");
    }

    [Fact]
    public async Task UnknownCommandAndWrongArityAreErrsAndTheConnectionGoesOn()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("FLUSHALL");
        await c.ExpectAsync("-ERR unknown command 'FLUSHALL'\r\n");
        await c.SendCommandAsync("ITEM.GET");
        await c.ExpectAsync("-ERR wrong number of arguments for 'item.get' command\r\n");
        await c.SendCommandAsync("PING", "a", "b");
        await c.ExpectAsync("-ERR wrong number of arguments for 'ping' command\r\n");
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
    }

    [Fact]
    public async Task ItemAddGetDelete()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("ITEM.ADDVEC", "x", Blob(0, 3, 0, 4), "FIELD", "popularity", "2.5", "STR", "year", "1999", "TAGS", "genre", "a|b");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("ITEM.GET", "x");
        await c.ExpectAsync("*6\r\n$2\r\nid\r\n$1\r\nx\r\n$4\r\ntext\r\n$-1\r\n$6\r\nfields\r\n*6\r\n" +
            "$5\r\ngenre\r\n*2\r\n$4\r\ntags\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n" +
            "$10\r\npopularity\r\n*2\r\n$3\r\nnum\r\n$3\r\n2.5\r\n" +
            "$4\r\nyear\r\n*2\r\n$3\r\nstr\r\n$4\r\n1999\r\n");
        // WITHVECTORS: the content vector comes back normalised: (0, 3, 0, 4) / 5.
        await c.SendCommandAsync("ITEM.GET", "x", "withvectors");
        var head = "*8\r\n$2\r\nid\r\n$1\r\nx\r\n$4\r\ntext\r\n$-1\r\n$6\r\nfields\r\n*6\r\n";
        await c.ExpectAsync(head);
        await c.ExpectAsync("$5\r\ngenre\r\n*2\r\n$4\r\ntags\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n" +
            "$10\r\npopularity\r\n*2\r\n$3\r\nnum\r\n$3\r\n2.5\r\n$4\r\nyear\r\n*2\r\n$3\r\nstr\r\n$4\r\n1999\r\n");
        await c.ExpectAsync("$7\r\ncontent\r\n$16\r\n");
        var vector = MemoryMarshal.Cast<byte, float>(await c.ReadExactAsync(16)).ToArray();
        Assert.Equal(new[] { 0f, 0.6f, 0f, 0.8f }, vector);
        await c.ExpectAsync("\r\n");
        await c.SendCommandAsync("ITEM.DEL", "x");
        await c.ExpectAsync(":1\r\n");
        await c.SendCommandAsync("ITEM.DEL", "x");
        await c.ExpectAsync(":0\r\n");
        await c.SendCommandAsync("ITEM.GET", "x");
        await c.ExpectAsync("-NOTFOUND item 'x' does not exist\r\n");
    }

    private const string ColdStartTail =
        "$8\r\nstrategy\r\n$10\r\npopularity\r\n$6\r\nbucket\r\n$-1\r\n" +
        "$11\r\nexplanation\r\n$47\r\nno user given: cold start, ranked by popularity\r\n$7\r\nunknown\r\n*0\r\n";

    [Fact]
    public async Task RankReplyInResp2AndResp3()
    {
        using var c = await _server.RawAsync();
        // No user, no query: popularity order; e (99) and b (50) score only their popularity boost.
        await c.SendCommandAsync("RANK", "", "K", "2");
        await c.ExpectAsync("*10\r\n$5\r\nitems\r\n*2\r\n" +
            "*5\r\n$1\r\ne\r\n$2\r\n99\r\n$1\r\n0\r\n$1\r\n0\r\n$2\r\n99\r\n" +
            "*5\r\n$1\r\nb\r\n$2\r\n50\r\n$1\r\n0\r\n$1\r\n0\r\n$2\r\n50\r\n" + ColdStartTail);

        await c.SendCommandAsync("HELLO", "3");
        await c.ExpectAsync("%7\r\n$6\r\nserver\r\n$10\r\nrankengine\r\n$7\r\nversion\r\n");
        await c.ReadLineAsync(); // $n
        await c.ReadLineAsync(); // version text
        await c.ExpectAsync("$5\r\nproto\r\n:3\r\n$2\r\nid\r\n");
        await c.ReadLineAsync(); // :id
        await c.ExpectAsync("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");

        // RESP3: a map, doubles, and _ for the null bucket.
        await c.SendCommandAsync("RANK", "", "K", "1");
        await c.ExpectAsync("%5\r\n$5\r\nitems\r\n*1\r\n*5\r\n$1\r\ne\r\n,99\r\n,0\r\n,0\r\n,99\r\n" +
            "$8\r\nstrategy\r\n$10\r\npopularity\r\n$6\r\nbucket\r\n_\r\n" +
            "$11\r\nexplanation\r\n$47\r\nno user given: cold start, ranked by popularity\r\n$7\r\nunknown\r\n*0\r\n");
    }

    [Fact]
    public async Task ScoreReportsUnknownIds()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("SCORE", "nobody", "a", "zz");
        await c.ExpectAsync("*10\r\n$5\r\nitems\r\n*1\r\n*5\r\n$1\r\na\r\n$2\r\n10\r\n$1\r\n0\r\n$1\r\n0\r\n$2\r\n10\r\n" +
            "$8\r\nstrategy\r\n$10\r\npopularity\r\n$6\r\nbucket\r\n$7\r\ndefault\r\n" +
            "$11\r\nexplanation\r\n$55\r\nunknown user 'nobody': cold start, ranked by popularity\r\n$7\r\nunknown\r\n*1\r\n$2\r\nzz\r\n");
    }

    [Fact]
    public async Task UserEventThenUserGet()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("USER.EVENT", "u", "a", "LIKE", "2", "AT", "1700000000000");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("USER.GET", "u");
        await c.ExpectAsync("*8\r\n$2\r\nid\r\n$1\r\nu\r\n$6\r\nbucket\r\n$7\r\ndefault\r\n$7\r\nprofile\r\n:1\r\n" +
            "$6\r\nevents\r\n*1\r\n*4\r\n$1\r\na\r\n$4\r\nlike\r\n$1\r\n2\r\n:1700000000000\r\n");
        await c.SendCommandAsync("USER.GET", "v");
        await c.ExpectAsync("-NOTFOUND user 'v' does not exist\r\n");
    }

    [Fact]
    public async Task CommandProbeQuitAndSave()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("COMMAND", "DOCS");
        await c.ExpectAsync("*0\r\n");
        await c.SendCommandAsync("SAVE");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("QUIT");
        await c.ExpectAsync("+OK\r\n");
        Assert.True(await c.IsClosedAsync());
    }
}
