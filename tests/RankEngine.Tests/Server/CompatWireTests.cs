using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// The Redis commands stock clients send, byte for byte as Redis answers them (redis.io command pages): ECHO, SELECT,
/// CLIENT, MULTI/EXEC/DISCARD, CONFIG GET, DBSIZE, and HELLO's NOPROTO.
/// </summary>
public sealed class CompatWireTests : SmallCatalogServerTest
{

    [Fact]
    public async Task EchoSelectDbSize()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("ECHO", "hi there");
        await c.ExpectAsync("$8\r\nhi there\r\n");
        await c.SendCommandAsync("SELECT", "0");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("SELECT", "1");
        await c.ExpectAsync("-ERR DB index is out of range: RankEngine has one database, 0 (got 1)\r\n");
        await c.SendCommandAsync("DBSIZE");
        await c.ExpectAsync(":5\r\n");
        await c.SendCommandAsync("HELLO", "4");
        await c.ExpectAsync("-NOPROTO unsupported protocol version 4 (2 or 3)\r\n");
    }

    [Fact]
    public async Task ClientNameInfoAndList()
    {
        using var c = await _server.RawAsync();
        using var other = await _server.RawAsync();
        await c.SendCommandAsync("CLIENT", "GETNAME");
        await c.ExpectAsync("$-1\r\n");
        await c.SendCommandAsync("CLIENT", "SETNAME", "worker-1");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("CLIENT", "GETNAME");
        await c.ExpectAsync("$8\r\nworker-1\r\n");
        await c.SendCommandAsync("CLIENT", "SETINFO", "LIB-NAME", "mylib");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("CLIENT", "SETINFO", "LIB-VER", "1.2");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("CLIENT", "SETINFO", "COLOUR", "red");
        await c.ExpectErrorAsync("ERR");
        await c.SendCommandAsync("CLIENT", "ID");
        string idLine = await c.ReadLineAsync();
        Assert.StartsWith(":", idLine);
        long id = long.Parse(idLine[1..]);

        await c.SendCommandAsync("CLIENT", "INFO");
        string info = await ReadBulkAsync(c);
        Assert.StartsWith($"id={id} addr=127.0.0.1:", info);
        Assert.Contains(" name=worker-1 ", info);
        Assert.Contains(" db=0 ", info);
        Assert.Contains(" cmd=client ", info);
        Assert.Contains(" lib-name=mylib lib-ver=1.2\n", info);

        await other.SendAsync("PING\r\n");
        await other.ExpectAsync("+PONG\r\n");
        await c.SendCommandAsync("CLIENT", "LIST");
        var lines = (await ReadBulkAsync(c)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.StartsWith($"id={id} ") && l.Contains(" name=worker-1 "));
        Assert.Contains(lines, l => l.Contains(" cmd=ping "));
        await c.SendCommandAsync("CLIENT", "LIST", "ID", id.ToString());
        Assert.Single((await ReadBulkAsync(c)).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task<string> ReadBulkAsync(RawConnection c)
    {
        string header = await c.ReadLineAsync();
        Assert.StartsWith("$", header);
        var bytes = await c.ReadExactAsync(int.Parse(header[1..]) + 2);
        return System.Text.Encoding.UTF8.GetString(bytes, 0, bytes.Length - 2);
    }

    [Fact]
    public async Task ConfigGetMatchesGlobsAndAnswersAMapInResp3()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("CONFIG", "GET", "save");
        await c.ExpectAsync("*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
        await c.SendCommandAsync("CONFIG", "GET", "appendonly", "DATA*"); // several patterns; case-insensitive
        await c.ExpectAsync("*4\r\n$9\r\ndatabases\r\n$1\r\n1\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n");
        await c.SendCommandAsync("CONFIG", "GET", "*-read-only");
        await c.ExpectAsync("*4\r\n$17\r\nreplica-read-only\r\n$3\r\nyes\r\n$15\r\nslave-read-only\r\n$3\r\nyes\r\n");
        await c.SendCommandAsync("CONFIG", "GET", "no-such-setting");
        await c.ExpectAsync("*0\r\n");
        await c.SendCommandAsync("CONFIG", "GET", "maxclient?");
        await c.ExpectAsync("*2\r\n$10\r\nmaxclients\r\n$4\r\n1024\r\n");
        await c.SendCommandAsync("HELLO", "3");
        await c.SendAsync("PING\r\n");
        while (await c.ReadLineAsync() != "+PONG") { } // skip HELLO's map
        await c.SendCommandAsync("CONFIG", "GET", "[ad]atabases");
        await c.ExpectAsync("%1\r\n$9\r\ndatabases\r\n$1\r\n1\r\n");
    }

    [Fact]
    public async Task MultiQueuesThenExecRunsInOrderAndWrites()
    {
        using var c = await _server.RawAsync();
        await c.SendAsync(
            RawConnection.Command("MULTI").Concat(RawConnection.Command("ITEM.ADDVEC", "t1", Blob(1, 0, 0, 0)))
                .Concat(RawConnection.Command("ECHO", "mid")).Concat(RawConnection.Command("ITEM.GET", "nope"))
                .Concat(RawConnection.Command("ITEM.DEL", "t1")).Concat(RawConnection.Command("EXEC")).ToArray());
        await c.ExpectAsync("+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n");
        // EXEC: one array; the failing command is an error element and the others still ran.
        await c.ExpectAsync("*4\r\n+OK\r\n$3\r\nmid\r\n");
        await c.ExpectErrorAsync("NOTFOUND");
        await c.ExpectAsync(":1\r\n");
        Assert.False(_server.Engine.ContainsItem("t1"));

        // Nothing runs before EXEC.
        await c.SendCommandAsync("MULTI");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("ITEM.ADDVEC", "t2", Blob(0, 1, 0, 0));
        await c.ExpectAsync("+QUEUED\r\n");
        Assert.False(_server.Engine.ContainsItem("t2"));
        await c.SendCommandAsync("MULTI");
        await c.ExpectAsync("-ERR MULTI calls can not be nested\r\n");
        await c.SendCommandAsync("EXEC");
        await c.ExpectAsync("*1\r\n+OK\r\n");
        Assert.True(_server.Engine.ContainsItem("t2"));
    }

    [Fact]
    public async Task DiscardAndExecAbort()
    {
        using var c = await _server.RawAsync();
        await c.SendCommandAsync("MULTI");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("ITEM.ADDVEC", "d1", Blob(1, 0, 0, 0));
        await c.ExpectAsync("+QUEUED\r\n");
        await c.SendCommandAsync("DISCARD");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("EXEC");
        await c.ExpectAsync("-ERR EXEC without MULTI\r\n");
        Assert.False(_server.Engine.ContainsItem("d1"));

        // A command refused while queuing (unknown, wrong arity) makes EXEC abort: nothing of it runs.
        await c.SendCommandAsync("MULTI");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("ITEM.ADDVEC", "d2", Blob(1, 0, 0, 0));
        await c.ExpectAsync("+QUEUED\r\n");
        await c.SendCommandAsync("NOSUCHVERB");
        await c.ExpectAsync("-ERR unknown command 'NOSUCHVERB'\r\n");
        await c.SendCommandAsync("ITEM.GET");
        await c.ExpectErrorAsync("ERR");
        await c.SendCommandAsync("EXEC");
        await c.ExpectAsync("-EXECABORT Transaction discarded because of previous errors.\r\n");
        Assert.False(_server.Engine.ContainsItem("d2"));
        await c.SendAsync("PING\r\n");
        await c.ExpectAsync("+PONG\r\n");
    }

    [Fact]
    public async Task ExecAfterAuthChecksEachCommand()
    {
        await using var server = await ServerHarness.StartAsync(configure: o => o with { AuthToken = "tok" });
        using var c = await server.RawAsync();
        await c.SendCommandAsync("AUTH", "tok");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("MULTI");
        await c.ExpectAsync("+OK\r\n");
        await c.SendCommandAsync("DBSIZE");
        await c.ExpectAsync("+QUEUED\r\n");
        await c.SendCommandAsync("EXEC");
        await c.ExpectAsync("*1\r\n:0\r\n");

        using var anonymous = await server.RawAsync();
        await anonymous.SendCommandAsync("MULTI");
        await anonymous.ExpectErrorAsync("NOAUTH");
        await anonymous.SendCommandAsync("EXEC");
        await anonymous.ExpectErrorAsync("NOAUTH");
    }
}
