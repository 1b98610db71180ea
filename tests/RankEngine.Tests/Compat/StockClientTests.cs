using System.Text;
using System.Text.RegularExpressions;
using RankEngine.Tests.Support;
using StackExchange.Redis;
using Xunit;

namespace RankEngine.Tests.Compat;

/// <summary>
/// Stock Redis clients at their default settings (only the password given) against a real <c>rankengine serve</c>:
/// handshake, PING, every RankEngine verb, pipelining, MULTI/EXEC, AUTH. The clients are the independent reference:
/// each checks the replies it parsed. Clients that are not .NET run as child processes (tools/compat/), installed by
/// tools/setup-deps.sh; a missing one fails its test.
/// </summary>
[Collection(ServeProcessCollection.Name)]
public sealed class StockClientTests(ServeProcess server)
{
    private static Dictionary<string, RedisResult> Map(RedisResult r) => r.ToDictionary();

    [Theory]
    [InlineData("")]
    [InlineData(",protocol=resp3")]
    public async Task StackExchangeRedisWithDefaultSettings(string extra)
    {
        var log = new StringWriter();
        await using var mux = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},password={ServeProcess.Token}{extra}", log);
        Assert.True(mux.IsConnected, log.ToString());
        var db = mux.GetDatabase();
        string id = "se" + (extra.Length > 0 ? "3" : "2") + "-";

        Assert.True(await db.PingAsync() >= TimeSpan.Zero);
        Assert.Equal("hello", (string?)await db.ExecuteAsync("ECHO", "hello"));
        Assert.Equal("OK", (string?)await db.ExecuteAsync("ITEM.ADD", id + "a", "a heist film in space", "FIELD", "year", "2024", "TAGS", "genres", "Sci-Fi|Crime"));
        var encoded = (RedisResult[])(await db.ExecuteAsync("ENCODE", "a quiet drama about a family"))!;
        byte[] blob = (byte[])encoded.Single()!;
        Assert.True(blob.Length > 0 && blob.Length % 4 == 0);
        Assert.Equal("OK", (string?)await db.ExecuteAsync("ITEM.ADDVEC", id + "b", blob, "STR", "genres", "Drama"));
        var item = Map(await db.ExecuteAsync("ITEM.GET", id + "a"));
        Assert.Equal(id + "a", (string?)item["id"]);
        Assert.Equal("a heist film in space", (string?)item["text"]);
        Assert.Equal("OK", (string?)await db.ExecuteAsync("USER.EVENT", id + "u", id + "a", "like"));
        var user = Map(await db.ExecuteAsync("USER.GET", id + "u"));
        Assert.Equal(id + "a", (string?)((RedisResult[])((RedisResult[])user["events"]!).Single()!)[0]);
        var ranked = Map(await db.ExecuteAsync("RANK", id + "u", "K", "10", "CANDIDATES", "2", id + "a", id + "b"));
        var ids = ((RedisResult[])ranked["items"]!).Select(i => (string)((RedisResult[])i!)[0]!).Order().ToArray();
        Assert.Equal([id + "a", id + "b"], ids);
        Assert.Equal("personalized", (string?)ranked["strategy"]);
        var scored = Map(await db.ExecuteAsync("SCORE", id + "u", id + "a", id + "b"));
        Assert.Equal(2, ((RedisResult[])scored["items"]!).Length);
        var bad = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("RANK", id + "u", "K", "nope"));
        Assert.StartsWith("BADARG", bad.Message);
        Assert.True((long)await db.ExecuteAsync("DBSIZE") >= 2);
        // SAVE is an admin command for this client: refused unless allowAdmin=true (no request is sent).
        await Assert.ThrowsAsync<RedisCommandException>(() => db.ExecuteAsync("SAVE"));

        // Pipelining: requests issued without awaiting share the connection and come back in order.
        var echoes = Enumerable.Range(0, 200).Select(i => db.ExecuteAsync("ECHO", $"m{i}")).ToArray();
        var replies = await Task.WhenAll(echoes);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), replies.Select(r => (string)r!));

        // MULTI/EXEC through the client's transaction API.
        var tran = db.CreateTransaction();
        var echo = tran.ExecuteAsync("ECHO", "x");
        var ev = tran.ExecuteAsync("USER.EVENT", id + "u", id + "b", "click");
        var del = tran.ExecuteAsync("ITEM.DEL", id + "b");
        Assert.True(await tran.ExecuteAsync());
        Assert.Equal("x", (string?)await echo);
        Assert.Equal("OK", (string?)await ev);
        Assert.Equal(1, (long)await del);
        Assert.Equal(2, ((RedisResult[])Map(await db.ExecuteAsync("USER.GET", id + "u"))["events"]!).Length);

        // The name and library its handshake set (CLIENT SETNAME, SETINFO) are what CLIENT LIST shows for it
        // (asked with redis-cli: CLIENT is an admin command for this client).
        string list = await RedisCli("CLIENT", "LIST");
        Assert.Contains($"name={mux.ClientName} ", list);
        Assert.Contains("lib-name=SE.Redis", list);
    }

    [Fact]
    public async Task StackExchangeRedisWithoutPasswordGetsNoAuth()
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{server.Port}");
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 5000;
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        var e = await Assert.ThrowsAnyAsync<RedisException>(() => mux.GetDatabase().ExecuteAsync("DBSIZE"));
        Assert.Contains("NOAUTH", e.ToString());
    }

    [Fact]
    public async Task RedisPy()
    {
        var r = await ExternalTool.RunAsync("/usr/bin/python3", ["tools/compat/redis_py_check.py", server.Port.ToString(), ServeProcess.Token]);
        Assert.True(r.ExitCode == 0, r.Both);
        Assert.Matches(@"redis-py \S+ ok", r.Stdout);
    }

    [Fact]
    public async Task IoredisAndNodeRedisInResp2AndResp3()
    {
        Assert.True(File.Exists(Path.Combine(Fixtures.RepoRoot, "tools/node_modules/ioredis/package.json")), "ioredis is missing: run tools/setup-deps.sh");
        var r = await ExternalTool.RunAsync("node", ["tools/compat/node-clients.mjs", server.Port.ToString(), ServeProcess.Token]);
        Assert.True(r.ExitCode == 0, r.Both);
        Assert.Equal(["ioredis2 ok", "ioredis3 ok", "node-redis2 ok", "node-redis3 ok"], r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private string[] Cli(params string[] args) => ["-p", server.Port.ToString(), "-a", ServeProcess.Token, "--no-auth-warning", .. args];

    private async Task<string> RedisCli(params string[] args)
    {
        var r = await ExternalTool.RunAsync("redis-cli", Cli(args), timeoutSeconds: 30);
        Assert.True(r.ExitCode == 0, r.Both);
        return r.Stdout;
    }

    [Fact]
    public async Task RedisCliEveryVerbInResp2AndResp3()
    {
        Assert.Equal("PONG\n", await RedisCli("PING"));
        Assert.Equal("OK\n", await RedisCli("ITEM.ADD", "cli-a", "a heist film in space", "FIELD", "year", "2024"));
        Assert.Equal("OK\n", await RedisCli("ITEM.ADD", "cli-b", "a quiet family drama", "TAGS", "genres", "Drama"));
        Assert.Contains("\"cli-a\"", await RedisCli("--no-raw", "ITEM.GET", "cli-a"));
        Assert.Equal("OK\n", await RedisCli("USER.EVENT", "cli-u", "cli-a", "like"));
        Assert.Contains("\"cli-a\"", await RedisCli("--no-raw", "USER.GET", "cli-u"));
        Assert.NotEmpty(await RedisCli("ENCODE", "FORMAT", "JSON", "text"));
        string resp2 = await RedisCli("--no-raw", "RANK", "cli-u", "K", "2", "CANDIDATES", "2", "cli-a", "cli-b");
        Assert.StartsWith(" 1) \"items\"", resp2);
        // RESP3 (redis-cli -3 sends HELLO 3): the ranking is a map with doubles.
        string resp3 = await RedisCli("-3", "--no-raw", "RANK", "cli-u", "K", "2", "CANDIDATES", "2", "cli-a", "cli-b");
        Assert.StartsWith("1# \"items\" =>", resp3);
        Assert.Contains("(double)", resp3);
        Assert.Contains("\"cli-b\"", await RedisCli("--no-raw", "SCORE", "cli-u", "cli-b"));
        // ITEM.ADDVEC with a binary vector: redis-cli -x sends stdin (float32 bytes) as the last argument.
        string info = await RedisCli("INFO", "engine");
        int dim = int.Parse(Regex.Match(info, @"content_dimension:(\d+)").Groups[1].Value);
        var vector = new float[dim];
        vector[0] = 1;
        string blobFile = Path.Combine(Path.GetTempPath(), $"rankengine-blob-{Guid.NewGuid():n}");
        await File.WriteAllBytesAsync(blobFile, ServerBlob(vector));
        try
        {
            var add = await ExternalTool.RunAsync("bash", ["-c", $"redis-cli {string.Join(' ', Cli("-x", "ITEM.ADDVEC", "cli-v"))} < {blobFile}"], timeoutSeconds: 30);
            Assert.True(add.ExitCode == 0 && add.Stdout == "OK\n", add.Both);
        }
        finally
        {
            File.Delete(blobFile);
        }
        Assert.Contains("\"cli-v\"", await RedisCli("--no-raw", "ITEM.GET", "cli-v"));
        // MULTI/EXEC typed into redis-cli (commands from stdin).
        var tx = await ExternalTool.RunAsync("redis-cli", Cli(), stdin: "MULTI\nECHO inside\nITEM.DEL cli-v\nEXEC\n", timeoutSeconds: 30);
        Assert.True(tx.ExitCode == 0, tx.Both);
        Assert.Equal("OK\nQUEUED\nQUEUED\ninside\n1\n", tx.Stdout);
        Assert.Equal("OK\n", await RedisCli("SAVE"));
        Assert.Equal("1\n", await RedisCli("ITEM.DEL", "cli-b"));
        Assert.Equal("(error) NOPROTO unsupported protocol version 4 (2 or 3)\n", await RedisCli("--no-raw", "HELLO", "4"));
        var noAuth = await ExternalTool.RunAsync("redis-cli", ["-p", server.Port.ToString(), "DBSIZE"], timeoutSeconds: 30);
        Assert.StartsWith("NOAUTH", noAuth.Stdout + noAuth.Stderr);
    }

    [Fact]
    public async Task RedisCliPipeSeesEveryReply()
    {
        // redis-cli --pipe ends its stream with an ECHO of a random marker and waits for it to come back.
        var sb = new StringBuilder();
        sb.Append(Resp("AUTH", ServeProcess.Token));
        for (int i = 0; i < 50; i++) sb.Append(Resp("ITEM.ADD", $"pipe-{i}", $"item number {i}", "FIELD", "n", i.ToString()));
        for (int i = 0; i < 50; i++) sb.Append(Resp("USER.EVENT", "pipe-user", $"pipe-{i}", "view"));
        for (int i = 0; i < 400; i++) sb.Append(Resp("ITEM.GET", $"pipe-{i % 50}"));
        var r = await ExternalTool.RunAsync("redis-cli", ["-p", server.Port.ToString(), "--pipe"], stdin: sb.ToString(), timeoutSeconds: 60);
        Assert.True(r.ExitCode == 0, r.Both);
        Assert.Contains("errors: 0, replies: 501", r.Stdout);
        Assert.Contains("pipe-49", await RedisCli("--no-raw", "ITEM.GET", "pipe-49"));
    }

    private static byte[] ServerBlob(float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    private static string Resp(params string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append($"${Encoding.UTF8.GetByteCount(a)}\r\n{a}\r\n");
        return sb.ToString();
    }

    [Fact]
    public async Task RedisBenchmarkRunsPingAndRankWithoutWarnings()
    {
        await RedisCli("ITEM.ADD", "bench-a", "a film", "FIELD", "year", "2000");
        foreach (var command in new[] { new[] { "PING" }, new[] { "RANK", "bench-user", "K", "5" } })
        {
            var r = await ExternalTool.RunAsync("redis-benchmark",
                ["-p", server.Port.ToString(), "-a", ServeProcess.Token, "-n", "2000", "-c", "4", "--csv", .. command], timeoutSeconds: 120);
            Assert.True(r.ExitCode == 0, r.Both);
            Assert.DoesNotContain("WARNING", r.Stdout + r.Stderr);
            Assert.DoesNotContain("error", r.Stdout + r.Stderr, StringComparison.OrdinalIgnoreCase);
            // CSV: a header, then one row per test with its requests per second.
            Assert.Matches(new Regex($"^\"{Regex.Escape(string.Join(' ', command))}\",\"[0-9.]+\"", RegexOptions.Multiline), r.Stdout);
        }
    }
}
