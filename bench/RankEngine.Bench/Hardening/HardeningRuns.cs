using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RankEngine.Store;

namespace RankEngine.Bench.Hardening;

/// <summary>
/// The long versions of the hardening tests (issue #12), for bench/HISTORY.md (not part of bench/run-all.sh):
/// <c>event-flood</c> records events through the embedded engine with production store defaults and prints the
/// data directory's size as it goes (the disk curve); <c>slowloris</c> starts <c>rankengine serve</c> as a child
/// process, holds stalled connections open and prints the server's RSS before, during and after.
/// </summary>
public static class HardeningRuns
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static long Bytes(string path) => Directory.Exists(path)
        ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => { try { return f.Length; } catch (IOException) { return 0; } })
        : 0;

    public static void EventFlood(long events, int users, int items, int threads)
    {
        string dir = Path.Combine(Path.GetTempPath(), "rankengine-flood-" + Environment.ProcessId);
        Console.WriteLine($"event flood: {events:N0} events over {users} users and {items} items, {threads} threads, store in {dir}");
        using (var engine = RankingEngine.Open(new RankingEngineOptions { DataDirectory = dir, ContentDimension = 512, CollabDimension = 32, Backend = "simd" }))
        {
            var random = new Random(1);
            engine.AddItems(Enumerable.Range(0, items).Select(i => new ItemInput("item-" + i)
            {
                ContentVector = Enumerable.Range(0, 512).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(),
                Fields = new Dictionary<string, FieldValue> { ["year"] = FieldValue.Num(1990 + i) },
            }).ToArray());
            long done = 0, peak = 0;
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                var kinds = new[] { UserEventKind.View, UserEventKind.Click, UserEventKind.Like };
                long n;
                while ((n = Interlocked.Increment(ref done)) <= events)
                    engine.RecordEvent("user-" + n % users, "item-" + n * 7 % items, kinds[n % 3]);
            })).ToList();
            workers.ForEach(w => w.Start());
            Console.WriteLine("events      seconds  dir MiB  kv MiB  wal MiB  ckpt MiB  compactions  live KiB");
            var samples = new List<(long Events, long Bytes)>();
            long step = Math.Max(1, events / 20), next = step;
            while (workers.Any(w => w.IsAlive))
            {
                Thread.Sleep(200);
                long total = Bytes(dir);
                peak = Math.Max(peak, total);
                long now = Math.Min(events, Interlocked.Read(ref done));
                if (now >= next || !workers.Any(w => w.IsAlive))
                {
                    samples.Add((now, total));
                    next += step;
                    var store = engine.Store;
                    Console.WriteLine(string.Create(Inv, $"{now,9:N0}  {clock.Elapsed.TotalSeconds,8:F0}  {total / 1048576.0,7:F1}  {Bytes(Path.Combine(dir, "kv")) / 1048576.0,6:F1}  {Bytes(Path.Combine(dir, "wal")) / 1048576.0,7:F1}  {Bytes(Path.Combine(dir, "checkpoints")) / 1048576.0,8:F1}  {store.CompactionCount,11}  {store.LiveBytesAfterCompaction / 1024.0,8:F0}"));
                }
            }
            var half = samples.Where(s => s.Events >= events / 2).ToList();
            double slope = half.Count > 1 ? (half[^1].Bytes - half[0].Bytes) / (double)Math.Max(1, half[^1].Events - half[0].Events) : 0;
            Console.WriteLine(string.Create(Inv, $"done: {events:N0} events in {clock.Elapsed.TotalSeconds:F0} s; directory peak {peak / 1048576.0:F1} MiB, final {Bytes(dir) / 1048576.0:F1} MiB; " +
                $"second-half growth {slope:F1} bytes/event; live after last compaction {engine.Store.LiveBytesAfterCompaction / 1024.0:F0} KiB; {engine.Store.CompactionCount} compactions " +
                $"(last write pause {engine.Store.LastCompactionPause.TotalMilliseconds:F1} ms), {engine.Store.CheckpointCount} checkpoints"));
        }
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>RSS of a process from /proc (Linux), in MiB.</summary>
    private static double RssMiB(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], Inv) / 1024.0; // a tab, not a space, precedes 8-digit values
        return double.NaN;
    }

    public static void Slowloris(string cliDll, int connections, bool authenticate, int seconds)
    {
        string dir = Path.Combine(Path.GetTempPath(), "rankengine-slowloris-" + Environment.ProcessId);
        int port = 16390 + Environment.ProcessId % 1000, httpPort = port + 1;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { cliDll, "serve", "--content-dim", "8", "--data-dir", dir, "--port", port.ToString(Inv), "--http-port", httpPort.ToString(Inv),
                     "--max-connections", "4096", "--max-connections-per-address", "4096", "--auth-timeout-s", "600" })
            start.ArgumentList.Add(a);
        start.Environment["RANKENGINE_AUTH_TOKEN"] = "s3cret";
        using var server = Process.Start(start)!;
        _ = server.StandardOutput.ReadToEndAsync();
        _ = server.StandardError.ReadToEndAsync();
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        for (int i = 0; i < 100; i++)
        {
            try { using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp); probe.Connect(endPoint); break; }
            catch (SocketException) { Thread.Sleep(200); }
        }
        Thread.Sleep(500);
        double before = RssMiB(server.Id);
        Console.WriteLine($"slowloris: {connections} connections, {(authenticate ? "authenticated" : "never authenticating")}, each stalled 10 bytes short of a 2 MB frame");
        // A 2 MB frame (two 1,000,000-byte arguments, each under the 1 MiB argument limit, the frame under 2 MiB)
        // sent but for its last 10 bytes: it never completes, so the server must hold it or refuse it.
        byte[] head = Encoding.ASCII.GetBytes("*3\r\n$8\r\nITEM.ADD\r\n$1000000\r\n" + new string('a', 1_000_000) + "\r\n$1000000\r\n");
        byte[] body = new byte[1_000_000 - 10];
        byte[] auth = Encoding.ASCII.GetBytes("*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n");
        var sockets = new List<Socket>();
        int refused = 0;
        for (int i = 0; i < connections; i++)
        {
            var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
            s.Connect(endPoint);
            sockets.Add(s);
            try
            {
                if (authenticate) { s.Send(auth); var ok = new byte[5]; s.Receive(ok); }
                s.SendTimeout = 5000;
                s.Send(head);
                s.Send(body); // all of it: the server either buffers it or refuses the connection (then this throws)
            }
            catch (SocketException) { refused++; }
        }
        Thread.Sleep(seconds * 1000);
        double during = RssMiB(server.Id);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        int healthy = 0;
        for (int i = 0; i < 10; i++)
            try { if (http.GetAsync($"http://127.0.0.1:{httpPort}/healthz").Result.IsSuccessStatusCode) healthy++; } catch (Exception) { }
        foreach (var s in sockets) s.Dispose();
        Thread.Sleep(30_000);
        double after = RssMiB(server.Id);
        Console.WriteLine(string.Create(Inv, $"server RSS: {before:F0} MiB before, {during:F0} MiB with {connections} stalled connections ({refused} refused at send), {after:F0} MiB 30 s after they closed; /healthz {healthy}/10 while stalled"));
        server.Kill();
        server.WaitForExit();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>
/// <c>rank-cost</c>: times RANK at several k with and without DIVERSITY against the server's cost formula, to
/// calibrate <see cref="RankEngine.Server.ServerLimits.MaxRequestCost"/>.
/// </summary>
public static class RankCostRun
{
    public static void Run(int items, int rounds)
    {
        string dir = Path.Combine(Path.GetTempPath(), "rankengine-rankcost-" + Environment.ProcessId);
        using (var engine = RankingEngine.Open(new RankingEngineOptions { DataDirectory = dir, ContentDimension = 512, CollabDimension = 32, Backend = "simd", CheckpointInterval = null }))
        {
            var random = new Random(1);
            float[] Vector(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            for (int start = 0; start < items; start += 1000)
                engine.AddItems(Enumerable.Range(start, Math.Min(1000, items - start)).Select(i => new ItemInput("item-" + i) { ContentVector = Vector(512), CollabVector = Vector(32) }).ToArray());
            for (int e = 0; e < 50; e++) engine.RecordEvent("u", "item-" + random.Next(items), UserEventKind.Like);
            long limit = new RankEngine.Server.ServerLimits().MaxRequestCost;
            Console.WriteLine($"RANK over {items:N0} items, 512 + 32 dimensions, median of {rounds}; cost limit {limit:N0}");
            Console.WriteLine("    k  diversity           cost  admitted   median ms");
            foreach (int k in new[] { 10, 100, 200, 350, 1000, 4096 })
                foreach (float diversity in new[] { 0f, 0.5f })
                {
                    long cost = RankEngine.Server.Resp.RespSession.RequestCost(k, diversity, 544);
                    var times = new List<double>();
                    for (int r = 0; r < rounds; r++)
                    {
                        var clock = Stopwatch.StartNew();
                        engine.Rank(new RankEngine.Ranking.RankRequest { UserId = "u", K = k, Diversity = diversity });
                        times.Add(clock.Elapsed.TotalMilliseconds);
                        if (clock.Elapsed.TotalSeconds > 2) break; // the refused sizes need not be timed many times
                    }
                    times.Sort();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{k,5}  {diversity,9}  {cost,13:N0}  {(cost <= limit ? "yes" : "no"),8}  {times[times.Count / 2],10:F1}"));
                }
        }
        Directory.Delete(dir, recursive: true);
    }
}
