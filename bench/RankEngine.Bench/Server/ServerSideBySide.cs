using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.Hosting;
using RankEngine.Ranking;
using RankEngine.Server;
using RankEngine.Server.Hosting;
using RankEngine.Store;

namespace RankEngine.Bench.Server;

/// <summary>
/// End to end: the server in-process (generic host, real loopback sockets) against the embedded API on the same
/// engine, interleaved round by round. Catalog: random 64-d content and 16-d collab vectors with a popularity field;
/// users with 20 feedback events each. Requests: <c>RANK user K 10</c> for random users.
///   1. embedded: <c>engine.Rank</c> from as many threads as the server may run engine calls (its in-flight limit);
///   2. server: N connections, each pipelining D requests (closed loop, like <c>redis-benchmark -P D</c>);
///   3. overload: open loop at 2× the measured server capacity; BUSY answers counted, latency of served requests
///      from their scheduled send time.
/// </summary>
internal static class ServerSideBySide
{
    public static void Run(int items, int connections, int depth, int rounds, double roundSeconds)
    {
        const int dim = 64, collabDim = 16, users = 2000;
        string dir = Path.Combine(Path.GetTempPath(), "rankengine-bench-server-" + Guid.NewGuid().ToString("n"));
        var timeout = TimeSpan.FromMilliseconds(100);
        try
        {
            using var engine = RankingEngine.Open(new RankingEngineOptions
            {
                DataDirectory = dir, ContentDimension = dim, CollabDimension = collabDim, CheckpointInterval = null,
            });
            var sw = Stopwatch.StartNew();
            Ingest(engine, items, dim, collabDim, users);
            Console.Error.WriteLine($"ingested {items:N0} items and {users:N0} users in {sw.Elapsed.TotalSeconds:F1} s");

            // No background refit: its training would compete with the measured requests (and change what RANK serves).
            var options = new RankServerOptions { Port = 0, HttpPort = null, Limits = new ServerLimits { RequestTimeout = timeout }, Refit = new RefitOptions { CheckInterval = null } };
            using var host = RankServerHost.Build(engine, options);
            host.StartAsync().GetAwaiter().GetResult();
            var endPoint = host.ServerState().RespEndPoint!;
            int threads = options.Limits.MaxInFlight;

            var rng = new Random(42);
            var userIds = Enumerable.Range(0, 4096).Select(_ => $"u{rng.Next(users)}").ToArray();
            var candidateLists = userIds.Select(_ => Enumerable.Range(0, 100).Select(_ => $"i{rng.Next(items)}").ToArray()).ToArray();
            var scenarios = new (string Name, byte[][] Frames, Func<int, RankRequest> Request)[]
            {
                ($"RANK user K 10 (whole catalog: {items:N0} items × {dim}-d + {collabDim}-d collab)",
                    userIds.Select(u => Frame("RANK", u, "K", "10")).ToArray(),
                    i => new RankRequest { UserId = userIds[i], K = 10 }),
                ("RANK user K 10 CANDIDATES 100 id… (a re-ranking request: little engine work per byte)",
                    userIds.Select((u, i) => Frame(new[] { "RANK", u, "K", "10", "CANDIDATES", "100" }.Concat(candidateLists[i]).ToArray())).ToArray(),
                    i => new RankRequest { UserId = userIds[i], K = 10, Candidates = candidateLists[i] }),
            };

            Console.WriteLine($"{connections} connections × {depth} pipelined requests; embedded: {threads} threads (the server's in-flight limit); " +
                $"{rounds} interleaved rounds of {roundSeconds:0.#} s; request deadline {timeout.TotalMilliseconds:0} ms; {users:N0} users with 20 events each.");
            Console.WriteLine();
            foreach (var (name, frames, request) in scenarios)
                RunScenario(name, engine, endPoint, frames, request, threads, connections, depth, rounds, roundSeconds);
            host.StopAsync().GetAwaiter().GetResult();
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void RunScenario(string name, RankingEngine engine, IPEndPoint endPoint, byte[][] frames, Func<int, RankRequest> request,
        int threads, int connections, int depth, int rounds, double roundSeconds)
    {
        // The server must answer what the engine answers before anything is timed.
        using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            probe.Connect(endPoint);
            probe.Send(frames[0]);
            var reply = new byte[1 << 16];
            int n = probe.Receive(reply);
            string text = Encoding.UTF8.GetString(reply, 0, n);
            string firstId = engine.Rank(request(0)).Items[0].Id;
            if (!text.Contains($"\r\n${Encoding.UTF8.GetByteCount(firstId)}\r\n{firstId}\r\n", StringComparison.Ordinal))
                throw new InvalidOperationException($"server and engine disagree on the first item ({firstId})");
        }
        Console.Error.WriteLine($"{name}: warm-up");
        EmbeddedRound(engine, request, frames.Length, threads, TimeSpan.FromSeconds(1));
        RespLoad.ClosedLoop(endPoint, frames, connections, depth, TimeSpan.FromSeconds(1));

        var embeddedRates = new List<double>();
        var serverRates = new List<double>();
        var ratios = new List<double>();
        var latencies = new List<double>();
        long busy = 0, errors = 0;
        for (int r = 0; r < rounds; r++)
        {
            double embedded = EmbeddedRound(engine, request, frames.Length, threads, TimeSpan.FromSeconds(roundSeconds));
            var server = RespLoad.ClosedLoop(endPoint, frames, connections, depth, TimeSpan.FromSeconds(roundSeconds));
            embeddedRates.Add(embedded);
            serverRates.Add(server.OkPerSecond);
            ratios.Add(server.OkPerSecond / embedded);
            latencies.AddRange(server.LatenciesMs);
            busy += server.Busy;
            errors += server.OtherErrors;
            Console.Error.WriteLine($"round {r + 1}/{rounds}: embedded {embedded:N0}/s, server {server.OkPerSecond:N0}/s");
        }
        double capacity = SideBySide.Median(serverRates);
        Console.Error.WriteLine($"open loop at 0.5× and 2× {capacity:N0} requests/s");
        var nominal = RespLoad.OpenLoop(endPoint, frames, connections, capacity * 0.5, TimeSpan.FromSeconds(roundSeconds * 2));
        var overload = RespLoad.OpenLoop(endPoint, frames, connections, capacity * 2, TimeSpan.FromSeconds(roundSeconds * 2));

        Console.WriteLine($"### server: {name}");
        Console.WriteLine("| contender | median RANK/s | best RANK/s | p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| embedded `engine.Rank` | {SideBySide.Median(embeddedRates):N0} | {embeddedRates.Max():N0} | | |");
        Console.WriteLine($"| server (RESP over loopback, pipelined) | {capacity:N0} | {serverRates.Max():N0} | {RespLoad.Percentiles(latencies, 0.5):F2} | {RespLoad.Percentiles(latencies, 0.99):F2} |");
        Console.WriteLine();
        Console.WriteLine($"median per-round ratio server / embedded: **{SideBySide.Median(ratios):F2}×** ({rounds} interleaved rounds; BUSY {busy}, other errors {errors})  ");
        Console.WriteLine();
        Console.WriteLine("| open-loop load | offered/s | served/s | BUSY | p50 ms (served) | p99 ms (served) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Row("0.5× capacity", capacity * 0.5, nominal);
        Row("2× capacity", capacity * 2, overload);
        Console.WriteLine();
    }

    private static void Row(string name, double offered, RespLoad.Result r) =>
        Console.WriteLine($"| {name} | {offered:N0} | {r.OkPerSecond:N0} | {r.Busy:N0} ({100.0 * r.Busy / Math.Max(1, r.Ok + r.Busy):F0}%) | {r.Percentile(0.5):F2} | {r.Percentile(0.99):F2} |" +
            (r.OtherErrors > 0 ? $" other errors: {r.OtherErrors}" : ""));

    private static double EmbeddedRound(RankingEngine engine, Func<int, RankRequest> request, int count, int threads, TimeSpan duration)
    {
        long done = 0;
        long end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            int next = t * 7919;
            long n = 0;
            while (Stopwatch.GetTimestamp() < end)
            {
                engine.Rank(request(next++ % count));
                n++;
            }
            Interlocked.Add(ref done, n);
        })).ToArray();
        var sw = Stopwatch.StartNew();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        return done / sw.Elapsed.TotalSeconds;
    }

    private static void Ingest(RankingEngine engine, int items, int dim, int collabDim, int users)
    {
        var rng = new Random(1);
        float[] Vec(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var batch = new List<ItemInput>();
        for (int i = 0; i < items; i++)
        {
            batch.Add(new ItemInput($"i{i}")
            {
                ContentVector = Vec(dim),
                CollabVector = Vec(collabDim),
                Fields = new Dictionary<string, FieldValue> { ["popularity"] = FieldValue.Num(rng.Next(1000)) },
            });
            if (batch.Count == 1024) { engine.AddItems(batch); batch.Clear(); }
        }
        if (batch.Count > 0) engine.AddItems(batch);
        var kinds = new[] { UserEventKind.View, UserEventKind.Click, UserEventKind.Like, UserEventKind.Purchase, UserEventKind.Skip };
        for (int u = 0; u < users; u++)
        {
            var events = Enumerable.Range(0, 20).Select(e => new UserEvent($"i{rng.Next(items)}", kinds[rng.Next(kinds.Length)], 1f, 1_700_000_000_000L + e * 60_000L)).ToArray();
            engine.RecordEvents($"u{u}", events);
        }
    }

    private static byte[] Frame(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
