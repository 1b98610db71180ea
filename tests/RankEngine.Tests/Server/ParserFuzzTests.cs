using System.Net.Sockets;
using System.Text;
using RankEngine.Server;
using RankEngine.Server.Resp.Parser;
using Xunit;

namespace RankEngine.Tests.Server;

/// <summary>
/// Fuzz-style checks: random, truncated and mutated byte sequences never make the parser throw or mis-frame, and
/// never take the server down or leave a session stuck.
/// </summary>
public sealed class ParserFuzzTests
{
    private static readonly ServerLimits Limits = new() { MaxFrameBytes = 4096, MaxArgumentBytes = 1024, MaxArguments = 32, MaxInlineBytes = 512 };

    private static byte[] Frame(params string[] args) => RawConnection.Command(args);

    [Fact]
    public void EveryPrefixOfAValidFrameIsIncompleteAndTheWholeFrameParses()
    {
        var frame = Frame("RANK", "user-1", "K", "10", "QUERY", "ünïcode text", "EXCLUDE_SEEN");
        var slots = new ArgumentSlots();
        byte[]? scratch = null;
        for (int n = 0; n < frame.Length; n++)
        {
            var status = RespFrameParser.TryParse(frame.AsSpan(0, n), Limits, slots, ref scratch, out int used, out _, out _, out _, out _);
            Assert.Equal(FrameStatus.Incomplete, status);
            Assert.Equal(0, used);
        }
        var whole = RespFrameParser.TryParse(frame, Limits, slots, ref scratch, out int consumed, out int count, out bool inline, out _, out _);
        Assert.Equal(FrameStatus.Complete, whole);
        Assert.Equal(frame.Length, consumed);
        Assert.False(inline);
        var state = new ParseState(frame, slots, count);
        Assert.Equal(7, state.Count);
        Assert.Equal("ünïcode text", Encoding.UTF8.GetString(state[5]));
    }

    [Fact]
    public void RandomAndMutatedBytesNeverThrowAndNeverOverrun()
    {
        var rng = new Random(12345);
        var slots = new ArgumentSlots();
        byte[]? scratch = null;
        byte[][] seeds = [Frame("PING"), Frame("RANK", "u", "K", "5"), Encoding.ASCII.GetBytes("PING \"a b\" 'c'\r\n"), Frame("SCORE", "u", "a", "b")];
        const string alphabet = "*$:+-\r\n0123456789 \"'\\xabcPING";
        for (int iteration = 0; iteration < 20_000; iteration++)
        {
            byte[] input;
            switch (iteration % 3)
            {
                case 0: // random bytes over a RESP-ish alphabet
                    input = new byte[rng.Next(0, 64)];
                    for (int i = 0; i < input.Length; i++) input[i] = (byte)alphabet[rng.Next(alphabet.Length)];
                    break;
                case 1: // fully random bytes
                    input = new byte[rng.Next(0, 64)];
                    rng.NextBytes(input);
                    break;
                default: // a valid frame with a few bytes flipped, inserted or removed
                    var list = seeds[rng.Next(seeds.Length)].ToList();
                    for (int m = rng.Next(1, 4); m > 0 && list.Count > 0; m--)
                    {
                        int at = rng.Next(list.Count);
                        switch (rng.Next(3))
                        {
                            case 0: list[at] = (byte)alphabet[rng.Next(alphabet.Length)]; break;
                            case 1: list.Insert(at, (byte)rng.Next(256)); break;
                            default: list.RemoveAt(at); break;
                        }
                    }
                    input = list.ToArray();
                    break;
            }
            var status = RespFrameParser.TryParse(input, Limits, slots, ref scratch, out int used, out int count, out bool inline, out var discard, out string? error);
            Assert.InRange(used, 0, input.Length);
            if (status == FrameStatus.Complete)
            {
                var state = new ParseState(inline ? scratch : input, slots, count);
                long total = 0;
                for (int i = 0; i < count; i++) total += state[i].Length; // slices are in bounds
                Assert.True(total <= input.Length);
            }
            if (status is FrameStatus.ProtocolError or FrameStatus.TooLarge or FrameStatus.BadInline) Assert.False(string.IsNullOrEmpty(error));
            if (status == FrameStatus.TooLarge)
            {
                var rest = input.AsSpan(used);
                RespFrameParser.TryDiscard(ref discard, rest, out int skipped, out _);
                Assert.InRange(skipped, 0, rest.Length);
            }
        }
    }

    [Fact]
    public async Task GarbageOverSocketsNeitherCrashesNorWedgesTheServer()
    {
        await using var server = await ServerHarness.StartAsync(configure: o => o with { Limits = Limits });
        server.AddSmallCatalog();
        var rng = new Random(99);
        var sessions = new List<Task>();
        for (int conn = 0; conn < 40; conn++)
        {
            var garbage = new byte[rng.Next(1, 3000)];
            rng.NextBytes(garbage);
            if (conn % 2 == 0) Frame("PING", "x").CopyTo(garbage, 0); // start valid, then garbage
            sessions.Add(Task.Run(async () =>
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(server.EndPoint);
                await socket.SendAsync(garbage, SocketFlags.None);
                socket.Shutdown(SocketShutdown.Send); // then hang up: the server must notice and end the session
                var buffer = new byte[65536];
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0) { }
            }));
        }
        await Task.WhenAll(sessions).WaitAsync(TimeSpan.FromSeconds(20));
        using var check = await server.RawAsync();
        await check.SendAsync("PING\r\n");
        await check.ExpectAsync("+PONG\r\n");
        // Every garbage session has ended (only the checking connection is open).
        for (int i = 0; i < 100 && server.State.Metrics.Connections > 1; i++) await Task.Delay(20);
        Assert.Equal(1, server.State.Metrics.Connections);
        Assert.Equal(5, server.Engine.ItemCount);
    }
}
