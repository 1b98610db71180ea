using System.Runtime.InteropServices;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// Every kind of bad input gets its error code, nothing is written, and the connection keeps working (a PING right
/// after is answered) — except broken framing, where the request's end is unknown and the server closes.
/// </summary>
public sealed class BadInputTests : SmallCatalogServerTest
{
    private static readonly byte[] BadUtf8 = [0x61, 0xC3, 0x28]; // 'a', then a broken two-byte sequence

    public static TheoryData<string, object[]> Cases() => new()
    {
        { "BADARG", ["ITEM.ADDVEC", "n1", Blob(1, float.NaN, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "n2", Blob(1, float.PositiveInfinity, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "n3", Blob(1, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "n4", new byte[] { 1, 2, 3, 4, 5 }] },
        { "BADARG", ["ITEM.ADDVEC", "n5", Blob(0, 0, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "n6", Blob(1, 0, 0, 0), "COLLAB", Blob(1, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "n7", Blob(1, 0, 0, 0), "FIELD", "x"] },
        { "BADARG", ["ITEM.ADDVEC", "n8", Blob(1, 0, 0, 0), "COLOR", "red"] },
        { "BADARG", ["ITEM.ADDVEC", BadUtf8, Blob(1, 0, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "", Blob(1, 0, 0, 0)] },
        { "BADARG", ["ITEM.ADDVEC", "n9", Blob(1, 0, 0, 0), "STR", "title", BadUtf8] },
        { "BADARG", ["RANK", "u", "K", "ten"] },
        { "BADARG", ["RANK", "u", "K", "0"] },
        { "BADARG", ["RANK", "u", "K", "-3"] },
        { "BADARG", ["RANK", "u", "K"] },
        { "BADARG", ["RANK", "u", "SORT", "asc"] },
        { "BADARG", ["RANK", "u", "DIVERSITY", "1.5"] },
        { "BADARG", ["RANK", "u", "DIVERSITY", "NaN"] },
        { "BADARG", ["RANK", "u", "BOOST", "popularity", "Infinity"] },
        { "BADARG", ["RANK", "u", "FILTER", "no operator here"] },
        { "BADARG", ["RANK", "u", "FILTER", "popularity>=abc"] },
        { "BADARG", ["RANK", "u", "CANDIDATES", "3", "a", "b"] },
        { "BADARG", ["RANK", BadUtf8] },
        { "BADARG", ["RANK", "u", "QUERY", BadUtf8] },
        { "BADARG", ["USER.EVENT", "u", "a", "love"] },
        { "BADARG", ["USER.EVENT", "u", "a", "like", "-1"] },
        { "BADARG", ["USER.EVENT", "u", "a", "like", "1", "AT", "yesterday"] },
        { "BADARG", ["ENCODE", "FORMAT", "XML", "text"] },
        { "NOPROTO", ["HELLO", "4"] },
        { "ERR", ["SELECT", "1"] },
        { "ERR", ["CLIENT", "KILL", "ID", "1"] },
        { "ERR", ["CLIENT", "SETNAME", "has space"] },
        { "ERR", ["CONFIG", "SET", "maxclients", "1"] },
        { "ERR", ["EXEC"] },
        { "ERR", ["DISCARD"] },
        { "NOTFOUND", ["USER.EVENT", "u", "no-such-item", "click"] },
        { "NOTFOUND", ["ITEM.GET", "no-such-item"] },
        { "NOTFOUND", ["USER.GET", "no-such-user"] },
        { "ERR", ["ENCODE", "text"] }, // no model on this server
        { "ERR", ["AUTH", "token"] },  // no token configured
        { "ERR", ["ITEM.ADD", "only-id"] },
        { "ERR", ["USER.EVENT", "u", "a"] },
        { "ERR", ["NOSUCHCOMMAND"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ErrorCodeAndTheConnectionStaysUsable(string code, object[] command)
    {
        using var c = await _server.RawAsync();
        int items = _server.Engine.ItemCount;
        await c.SendCommandAsync(command);
        string line = await c.ExpectErrorAsync(code);
        Assert.DoesNotContain("\n", line);
        Assert.Equal(items, _server.Engine.ItemCount); // nothing written
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
    }

    [Fact]
    public async Task ErrorMessagesSayWhatIsWrong()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("ITEM.ADDVEC", "v", Blob(1, 0, float.NaN, 0));
        Assert.Equal("-BADARG content vector has a NaN or infinite value at index 2", await c.ReadLineAsync());
        await c.SendCommandAsync("ITEM.ADDVEC", "v", Blob(1, 0, 0));
        Assert.Equal("-BADARG content vector has 3 dimensions, expected 4", await c.ReadLineAsync());
        await c.SendCommandAsync("ITEM.ADDVEC", new byte[] { 0xff }, Blob(1, 0, 0, 0));
        Assert.Equal("-BADARG item id is not valid UTF-8", await c.ReadLineAsync());
        await c.SendCommandAsync("RANK", "u", "K", "ten");
        Assert.Equal("-BADARG K is not an integer: 'ten'", await c.ReadLineAsync());
        await c.SendCommandAsync("USER.EVENT", "u", "zz", "click");
        Assert.Equal("-NOTFOUND item 'zz' does not exist", await c.ReadLineAsync());
    }

    [Fact]
    public async Task UnbalancedQuotesInAnInlineCommandKeepTheConnection()
    {
        using var c = await _server.RawAsync();
        await c.SendAsync("PING \"unterminated\r\n");
        await c.ExpectErrorAsync("BADARG");
        await c.SendAsync("PING 'a'b\r\n");
        await c.ExpectErrorAsync("BADARG");
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
    }

    public static TheoryData<string> BrokenFrames() => new()
    {
        "*2\r\n$4\r\nPING\r\n:5\r\n",        // an integer inside a request
        "*x\r\n",                            // not a number
        "*1\r\n$4\r\nPINGxx",                // bulk not terminated by CRLF
        "*1\r\n$-1\r\n",                     // null bulk in a request
        "*1\r\n$12345678901234567890123\r\n", // length with too many digits
        "*1\r\n$4\n",                        // LF without CR
    };

    [Theory]
    [MemberData(nameof(BrokenFrames))]
    public async Task BrokenFramingIsAProtocolErrorAndClosesTheConnection(string frame)
    {
        using var c = await _server.RawAsync();
        await c.SendAsync("PING\r\n" + frame);
        await c.ExpectAsync("+PONG\r\n");
        Assert.StartsWith("-ERR Protocol error: ", await c.ReadLineAsync());
        Assert.True(await c.IsClosedAsync());
        // The server itself is fine.
        using var other = await _server.RawAsync();
        await other.SendAsync("PING\r\n");
        await other.ExpectAsync("+PONG\r\n");
    }
}
