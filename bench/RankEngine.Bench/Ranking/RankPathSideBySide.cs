using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using Microsoft.Extensions.Hosting;
using RankEngine.Bench.Server;
using RankEngine.Catalog;
using RankEngine.Compute;
using RankEngine.Compute.Simd;
using RankEngine.Ranking;
using RankEngine.Server;
using RankEngine.Server.Hosting;
using RankEngine.Store;

namespace RankEngine.Bench.Ranking;

/// <summary>
/// <c>bench rank-path [items] [rounds]</c> (issue #10): the one ranking path, <c>RANK</c>, against the raw scorer
/// over the same matrices, interleaved round by round in one process. Catalog: random items with a unit 384-d
/// content vector, a 64-d collab vector, <c>popularity</c> (uniform 0..1000) and <c>genres</c> (1–3 of 20 tags);
/// 50 users with 20 likes each; no model (the collab term is the user's pooled collab vector).
/// <list type="bullet">
/// <item>floor: <see cref="SimdCpuBackend.TopK"/> (k 10) over the 448-d concatenated matrix (content ‖ collab) with
/// the user's concatenated profile (content ‖ collab, both weights 1 as RANK's defaults): one pass over the matrices;</item>
/// <item>embedded <c>engine.Rank</c>: K 10; K 10 EXCLUDE_SEEN FILTER popularity&gt;=500; K 100 DIVERSITY 0.3;</item>
/// <item><c>ShardSearch.Run</c> alone (the internal fused scan, reachable through InternalsVisibleTo) and
/// <c>CatalogRanker.Rank</c> alone (scan + merge + score parts) with the query RANK builds, to split RANK's time;</item>
/// <item>throughput of one stream of RANK K 10 against two concurrent streams (two threads), and the same for the floor;</item>
/// <item>the RESP server in-process (generic host, loopback socket, one connection, one request at a time).</item>
/// </list>
/// Every contender serves each of the 50 users once per round; the contender that starts a round rotates. The server
/// host runs with background refit off and the run fails if a model got served, so every figure is the model-free path.
/// </summary>
internal static class RankPathSideBySide
{
    private const int ContentDim = 384, CollabDim = 64, Dim = ContentDim + CollabDim, Users = 50, EventsPerUser = 20, Genres = 20;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed class Contender(string name, Action<int> run)
    {
        public string Name { get; } = name;
        public Action<int> Run { get; } = run;
        public readonly List<double> Samples = new();     // ms per request, all rounds
        public readonly List<double> RoundMedians = new();
        public readonly GcTally Gc = new();
    }

    /// <summary>Collections and GC pause time during a contender's timed passes.</summary>
    private sealed class GcTally
    {
        public long Gen0, Gen1, Gen2, Allocated;
        public double RssGrowthMiB;
        public TimeSpan Pause;
        public int Requests;
        private long _g0, _g1, _g2, _allocated;
        private double _rss;
        private TimeSpan _pause;

        public void Start()
        {
            (_g0, _g1, _g2, _pause) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
            _allocated = GC.GetTotalAllocatedBytes(precise: true);
            _rss = StatusMiB("VmRSS:");
        }

        public void Stop(int requests)
        {
            Allocated += GC.GetTotalAllocatedBytes(precise: true) - _allocated;
            RssGrowthMiB += StatusMiB("VmRSS:") - _rss;
            Gen0 += GC.CollectionCount(0) - _g0;
            Gen1 += GC.CollectionCount(1) - _g1;
            Gen2 += GC.CollectionCount(2) - _g2;
            Pause += GC.GetTotalPauseDuration() - _pause;
            Requests += requests;
        }

        public string Counts => $"{Gen0}/{Gen1}/{Gen2}";
        public string AllocatedPerRequest => (Allocated / 1024.0 / Math.Max(1, Requests)).ToString("N1", Inv);
        public string PausePerRequest => (Pause.TotalMilliseconds / Math.Max(1, Requests)).ToString("F2", Inv);
    }

    /// <summary>A pass of all users through <paramref name="streams"/> threads at once; requests per second.</summary>
    private sealed class Stream(string name, int streams, Action<int, int> run)
    {
        public string Name { get; } = name;
        public int Streams { get; } = streams;
        /// <summary>(user index, stream index).</summary>
        public Action<int, int> Run { get; } = run;
        public readonly List<double> Rates = new();
        public readonly GcTally Gc = new();
    }

    public static void Run(int items, int rounds)
    {
        PrintMachine();
        string dir = Path.Combine(Path.GetTempPath(), "rankengine-bench-rankpath-" + Guid.NewGuid().ToString("n"));
        try
        {
            using var engine = RankingEngine.Open(new RankingEngineOptions
            {
                DataDirectory = dir, ContentDimension = ContentDim, CollabDimension = CollabDim, CheckpointInterval = null,
            });
            using var simd = new SimdCpuBackend();
            using var floorCatalog = simd.CreateCatalog(Dim, items);
            var userIds = Load(engine, floorCatalog, items);
            // The load's garbage (generated vectors, replaced shard generations) is not RANK's: collect it before timing.
            string before = MemoryLine();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            Console.WriteLine($"memory after loading: {before}; after a full compacting GC: {MemoryLine()}  ");
            var queries = userIds.Select(u => FloorQuery(engine, u)).ToArray();
            Measure(engine, simd, floorCatalog, userIds, queries, items, rounds, dir);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static void PrintMachine()
    {
        var (model, flags) = BenchMachine.Cpu();
        Console.WriteLine($"# RANK vs the raw scorer (issue #10)");
        Console.WriteLine($"cpu: {model}; {Environment.ProcessorCount} cores; {RuntimeInformation.OSDescription}; .NET {Environment.Version}  ");
        Console.WriteLine($"cpu flags: {flags}  ");
        Console.WriteLine($".NET: Vector512.IsHardwareAccelerated {Vector512.IsHardwareAccelerated}, Avx512F {Avx512F.IsSupported}, Avx512BW {Avx512BW.IsSupported}, " +
            $"Avx512DQ {Avx512DQ.IsSupported}, Avx2 {Avx2.IsSupported}, Fma {Fma.IsSupported}, Vector<float>.Count {System.Numerics.Vector<float>.Count}; " +
            $"server GC {System.Runtime.GCSettings.IsServerGC}  ");
        Console.WriteLine();
    }

    /// <summary>Items into the engine (batches of 10,000) and the same rows, concatenated, into the floor's catalog; then the users.</summary>
    private static string[] Load(RankingEngine engine, ICatalogMatrix floor, int items)
    {
        const int batchSize = 10_000;
        var rng = new Random(1);
        var genreNames = Enumerable.Range(0, Genres).Select(g => $"genre-{g:00}").ToArray();
        var clock = Stopwatch.StartNew();
        var batch = new List<ItemInput>(batchSize);
        var rows = new int[batchSize];
        var values = new float[batchSize * Dim];
        for (int start = 0; start < items; start += batchSize)
        {
            int n = Math.Min(batchSize, items - start);
            batch.Clear();
            for (int i = 0; i < n; i++)
            {
                var content = new float[ContentDim];
                for (int j = 0; j < ContentDim; j++) content[j] = rng.NextSingle() * 2 - 1;
                float norm = System.Numerics.Tensors.TensorPrimitives.Norm(content);
                System.Numerics.Tensors.TensorPrimitives.Multiply(content, 1f / norm, content);
                var collab = new float[CollabDim];
                for (int j = 0; j < CollabDim; j++) collab[j] = rng.NextSingle() * 2 - 1;
                int genreCount = 1 + rng.Next(3);
                var genres = new HashSet<string>();
                while (genres.Count < genreCount) genres.Add(genreNames[rng.Next(Genres)]);
                batch.Add(new ItemInput($"i{start + i}")
                {
                    ContentVector = content,
                    CollabVector = collab,
                    Fields = new Dictionary<string, FieldValue>
                    {
                        ["popularity"] = FieldValue.Num(rng.NextDouble() * 1000),
                        ["genres"] = FieldValue.Tags(genres.ToArray()),
                    },
                });
                rows[i] = start + i;
                content.CopyTo(values.AsSpan(i * Dim, ContentDim));
                collab.CopyTo(values.AsSpan(i * Dim + ContentDim, CollabDim));
            }
            engine.AddItems(batch);
            floor.UpdateRows(rows.AsSpan(0, n), values.AsSpan(0, n * Dim));
            int done = start + n;
            Console.Error.Write(string.Create(Inv, $"\rloading: {done:N0} / {items:N0} items, {clock.Elapsed.TotalSeconds:F0} s ({done / clock.Elapsed.TotalSeconds:N0} items/s)   "));
        }
        Console.Error.WriteLine();
        double itemSeconds = clock.Elapsed.TotalSeconds;
        var userIds = Enumerable.Range(0, Users).Select(u => $"user-{u}").ToArray();
        foreach (string u in userIds)
            for (int e = 0; e < EventsPerUser; e++)
                engine.RecordEvent(u, $"i{rng.Next(items)}", UserEventKind.Like);
        Console.WriteLine(string.Create(Inv, $"catalog: {items:N0} items × ({ContentDim}-d content + {CollabDim}-d collab) fp32, popularity 0..1000, genres 1–3 of {Genres}; " +
            $"{Users} users × {EventsPerUser} likes; no model. Loaded in {itemSeconds:F0} s (+ {clock.Elapsed.TotalSeconds - itemSeconds:F1} s users); " +
            $"matrices {(double)items * Dim * 4 / (1 << 30):F2} GiB per copy  "));
        return userIds;
    }

    /// <summary>The user's profile as the floor's query: content ‖ collab (RANK's default weights are both 1).</summary>
    private static float[] FloorQuery(RankingEngine engine, string userId)
    {
        if (!engine.TryGetUser(userId, out var user) || user is null) throw new InvalidOperationException($"user {userId} is missing");
        var q = new float[Dim];
        user.Vectors["content"].CopyTo(q.AsSpan(0, ContentDim));
        user.Vectors["collab"].CopyTo(q.AsSpan(ContentDim, CollabDim));
        return q;
    }

    private static void Measure(RankingEngine engine, SimdCpuBackend simd, ICatalogMatrix floor, string[] userIds, float[][] queries, int items, int rounds, string dir)
    {
        var filter = new[] { ItemFilter.Parse("popularity>=500") };
        RankRequest K10(int u) => new() { UserId = userIds[u], K = 10 };
        RankRequest Filtered(int u) => new() { UserId = userIds[u], K = 10, ExcludeSeen = true, Filters = filter };
        RankRequest Diverse(int u) => new() { UserId = userIds[u], K = 100, Diversity = 0.3f };

        // Two sets of outputs, so two concurrent floor streams do not share them.
        var floorIds = new[] { new int[10], new int[10] };
        var floorScores = new[] { new float[10], new float[10] };
        void Floor(int u, int stream) => simd.TopK(queries[u], floor, 10, floorIds[stream], floorScores[stream]);

        // The query RANK K 10 builds for this catalog (no model, no boosts), searched by ShardSearch.Run alone.
        int contentSlot = engine.Store.Schema.GetSlot("content"), collabSlot = engine.Store.Schema.GetSlot("collab");
        var shardQueries = queries.Select(q => new ShardQuery
        {
            Content = q.AsMemory(0, ContentDim), ContentWeight = 1f, Second = q.AsMemory(ContentDim, CollabDim), SecondWeight = 1f, K = 10,
        }).ToArray();
        void ScanOnly(int u)
        {
            var snapshot = engine.Store.Catalog.Snapshot();
            foreach (var shard in snapshot.Shards) ShardSearch.Run(shard, null, shardQueries[u], contentSlot, collabSlot);
        }
        // Scan + merge + score parts (what RANK does after reading the user), with the same query.
        var rankerQueries = shardQueries.Select(q => q with { Boosts = new List<KeyValuePair<string, float>>() }).ToArray();
        void RankerOnly(int u)
        {
            var snapshot = engine.Store.Catalog.Snapshot();
            CatalogRanker.Rank(snapshot, new ShardFactors?[snapshot.Shards.Count], rankerQueries[u], new CatalogRanker.Diversity(0, ReadOnlyMemory<float>.Empty, null),
                10, contentSlot, collabSlot);
        }

        Agreement(engine, floor, simd, userIds, queries, K10);

        // No background refit: the host's ModelRefitService would otherwise train a model a minute in (the 50 × 20
        // likes are exactly its default 1,000 new events), and RANK would then score with the model's factors.
        var options = new RankServerOptions
        {
            Port = 0, HttpPort = null, Limits = new ServerLimits { RequestTimeout = TimeSpan.FromSeconds(60) },
            Refit = new RefitOptions { CheckInterval = null },
        };
        using var host = RankServerHost.Build(engine, options);
        host.StartAsync().GetAwaiter().GetResult();
        using var client = new OneConnection(host.ServerState().RespEndPoint!);
        byte[][] Frames(Func<string, string[]> args) => userIds.Select(u => Frame(args(u))).ToArray();
        var serverK10 = Frames(u => ["RANK", u, "K", "10"]);
        var serverFiltered = Frames(u => ["RANK", u, "K", "10", "EXCLUDE_SEEN", "FILTER", "popularity>=500"]);
        var serverDiverse = Frames(u => ["RANK", u, "K", "100", "DIVERSITY", "0.3"]);
        ServerAgrees(engine, client, serverK10[0], K10(0), "K 10");
        ServerAgrees(engine, client, serverFiltered[0], Filtered(0), "K 10 EXCLUDE_SEEN FILTER");
        ServerAgrees(engine, client, serverDiverse[0], Diverse(0), "K 100 DIVERSITY 0.3");

        var contenders = new[]
        {
            new Contender("floor: SimdCpuBackend.TopK, 448-d concatenated, k 10", u => Floor(u, 0)),
            new Contender("RANK K 10 (embedded)", u => engine.Rank(K10(u))),
            new Contender("RANK K 10 EXCLUDE_SEEN FILTER popularity>=500 (embedded)", u => engine.Rank(Filtered(u))),
            new Contender("RANK K 100 DIVERSITY 0.3 (embedded)", u => engine.Rank(Diverse(u))),
            new Contender("ShardSearch.Run alone, K 10 query (internal)", ScanOnly),
            new Contender("CatalogRanker.Rank alone, K 10 query (internal: scan + merge + score parts)", RankerOnly),
            new Contender("server: RANK user K 10", u => client.Call(serverK10[u])),
            new Contender("server: RANK user K 10 EXCLUDE_SEEN FILTER popularity>=500", u => client.Call(serverFiltered[u])),
            new Contender("server: RANK user K 100 DIVERSITY 0.3", u => client.Call(serverDiverse[u])),
        };
        var streams = new[]
        {
            new Stream("floor TopK, 1 stream", 1, Floor),
            new Stream("floor TopK, 2 concurrent streams", 2, Floor),
            new Stream("RANK K 10, 1 stream", 1, (u, _) => engine.Rank(K10(u))),
            new Stream("RANK K 10, 2 concurrent streams", 2, (u, _) => engine.Rank(K10(u))),
        };

        Console.Error.WriteLine("warm-up");
        foreach (var c in contenders)
            for (int u = 0; u < userIds.Length; u++) c.Run(u);
        RunStreams(streams[1], userIds.Length);
        RunStreams(streams[3], userIds.Length);

        int slots = contenders.Length + streams.Length;
        for (int r = 0; r < rounds; r++)
        {
            for (int j = 0; j < slots; j++)
            {
                int slot = (j + r) % slots; // rotate which contender starts the round
                if (slot < contenders.Length)
                {
                    var c = contenders[slot];
                    var times = new List<double>(userIds.Length);
                    c.Gc.Start();
                    for (int u = 0; u < userIds.Length; u++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        c.Run(u);
                        times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    }
                    c.Gc.Stop(userIds.Length);
                    c.Samples.AddRange(times);
                    c.RoundMedians.Add(SideBySide.Median(times));
                }
                else
                {
                    var s = streams[slot - contenders.Length];
                    s.Gc.Start();
                    s.Rates.Add(RunStreams(s, userIds.Length));
                    s.Gc.Stop(s.Streams * userIds.Length);
                }
                Console.Error.Write($"\rround {r + 1}/{rounds}: {j + 1}/{slots}; {MemoryLine()}   ");
            }
        }
        Console.Error.WriteLine();
        host.StopAsync().GetAwaiter().GetResult();
        if (engine.Model is { } model) throw new InvalidOperationException($"a model (v{model.Version}) was trained during the run: the figures are not of the model-free path");
        Report(contenders, streams, items, rounds, userIds.Length, dir);
    }

    /// <summary>Every user once through <see cref="Stream.Streams"/> threads (each starting at another user); requests/s.</summary>
    private static double RunStreams(Stream s, int users)
    {
        var run = s.Run;
        var threads = Enumerable.Range(0, s.Streams).Select(t => new Thread(() =>
        {
            for (int i = 0; i < users; i++) run((i + t * users / s.Streams) % users, t);
        })).ToArray();
        long t0 = Stopwatch.GetTimestamp();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        return s.Streams * users / Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static void Report(Contender[] c, Stream[] streams, int items, int rounds, int users, string dir)
    {
        // Ratio to the floor: the median over rounds of (this round's median ms / the floor's median ms that round).
        double RatioTo(Contender x, Contender baseline) =>
            SideBySide.Median(x.RoundMedians.Zip(baseline.RoundMedians, (a, b) => a / b).ToList());
        Contender Named(string prefix) => c.First(x => x.Name.StartsWith(prefix, StringComparison.Ordinal));
        var floor = c[0];
        var goals = new Dictionary<string, double> { ["RANK K 10 (embedded)"] = 1.2, ["RANK K 10 EXCLUDE_SEEN FILTER popularity>=500 (embedded)"] = 1.3 };
        Console.WriteLine();
        Console.WriteLine(string.Create(Inv, $"### RANK vs the raw scorer: {items:N0} items, {users} users, {rounds} interleaved rounds"));
        Console.WriteLine("| path | median ms/request | min ms | × floor (median of per-round ratios) | goal | allocated KiB/request | GCs gen0/1/2 | GC pause ms/request | RSS growth MiB |");
        Console.WriteLine("|---|---:|---:|---:|---|---:|---|---:|---:|");
        foreach (var x in c)
        {
            double ratio = RatioTo(x, floor);
            string goal = x == floor ? "(the floor)"
                : goals.TryGetValue(x.Name, out double g) ? string.Create(Inv, $"≤ {g:0.0}× {(ratio <= g ? "met" : "**missed**")}") : "";
            Console.WriteLine(string.Create(Inv, $"| {x.Name} | {SideBySide.Median(x.Samples):F2} | {x.Samples.Min():F2} | {ratio:F2}× | {goal} | {x.Gc.AllocatedPerRequest} | {x.Gc.Counts} | {x.Gc.PausePerRequest} | {x.Gc.RssGrowthMiB:F0} |"));
        }
        Console.WriteLine();
        Console.WriteLine("| throughput | median requests/s | best requests/s | ratio (median of per-round ratios) | goal |");
        Console.WriteLine("|---|---:|---:|---:|---|");
        for (int i = 0; i < streams.Length; i++)
        {
            var s = streams[i];
            string ratio = "", goal = "";
            if (s.Streams == 2)
            {
                double r = SideBySide.Median(s.Rates.Zip(streams[i - 1].Rates, (a, b) => a / b).ToList());
                ratio = string.Create(Inv, $"{r:F2}× of 1 stream");
                if (s.Name.StartsWith("RANK", StringComparison.Ordinal)) goal = r >= 1.7 ? "≥ 1.7× met" : "≥ 1.7× **missed**";
            }
            Console.WriteLine(string.Create(Inv, $"| {s.Name} | {SideBySide.Median(s.Rates):F1} | {s.Rates.Max():F1} | {ratio} | {goal} |"));
        }
        // Server / embedded throughput, one request at a time over one connection: embedded ms / server ms per round.
        foreach (var (embeddedName, serverName, what) in new[]
                 {
                     ("RANK K 10 (embedded)", "server: RANK user K 10", "K 10"),
                     ("RANK K 10 EXCLUDE_SEEN", "server: RANK user K 10 EXCLUDE_SEEN", "K 10 EXCLUDE_SEEN FILTER"),
                     ("RANK K 100", "server: RANK user K 100", "K 100 DIVERSITY 0.3"),
                 })
        {
            var embedded = Named(embeddedName);
            var server = Named(serverName);
            double r = SideBySide.Median(embedded.RoundMedians.Zip(server.RoundMedians, (a, b) => a / b).ToList());
            string goal = what == "K 10" ? (r >= 0.9 ? "≥ 0.9× met" : "≥ 0.9× **missed**") : "";
            Console.WriteLine(string.Create(Inv, $"| server / embedded, RANK {what} (1 connection, 1 request at a time) | {1000 / SideBySide.Median(server.Samples):F1} | {1000 / server.Samples.Min():F1} | {r:F2}× of embedded | {goal} |"));
        }
        Console.WriteLine();
        var rank = Named("RANK K 10 (embedded)");
        var scan = Named("ShardSearch.Run alone");
        var ranker = Named("CatalogRanker.Rank alone");
        Console.WriteLine(string.Create(Inv, $"RANK K 10 = {RatioTo(rank, floor):F2}× floor; ShardSearch.Run alone {RatioTo(scan, floor):F2}×, CatalogRanker.Rank alone (scan + merge + score parts) {RatioTo(ranker, floor):F2}×. " +
            $"Medians: RANK {SideBySide.Median(rank.Samples):F2} ms, ranker {SideBySide.Median(ranker.Samples):F2} ms, scan {SideBySide.Median(scan.Samples):F2} ms.  "));
        Console.WriteLine();
        Console.WriteLine("per-round medians, ms (round 1 … n):  ");
        foreach (var x in c)
            Console.WriteLine($"- {x.Name}: {string.Join(", ", x.RoundMedians.Select(m => m.ToString("F1", Inv)))}  ");
        foreach (var s in streams)
            Console.WriteLine($"- {s.Name}, requests/s: {string.Join(", ", s.Rates.Select(m => m.ToString("F1", Inv)))} (allocated {s.Gc.AllocatedPerRequest} KiB/request, GCs gen0/1/2 {s.Gc.Counts}, GC pause {s.Gc.PausePerRequest} ms/request, RSS growth {s.Gc.RssGrowthMiB:F0} MiB)  ");
        Console.WriteLine("served model during the run: none (background refit off; checked at the end)  ");
        Console.WriteLine(string.Create(Inv, $"memory at the end: {MemoryLine()}; peak RSS {PeakRssMiB() / 1024:F1} GiB; data directory {DirectoryBytes(dir) / (double)(1 << 30):F2} GiB  "));
        Console.WriteLine();
    }

    /// <summary>RANK K 10 and the floor agree on each user's top 10 (ids, and scores to float rounding).</summary>
    private static void Agreement(RankingEngine engine, ICatalogMatrix floor, SimdCpuBackend simd, string[] userIds, float[][] queries, Func<int, RankRequest> request)
    {
        int same = 0, sameSet = 0, total = 0;
        double maxDiff = 0;
        var ids = new int[10];
        var scores = new float[10];
        for (int u = 0; u < userIds.Length; u++)
        {
            simd.TopK(queries[u], floor, 10, ids, scores);
            var ranked = engine.Rank(request(u)).Items;
            var floorSet = ids.Select(i => $"i{i}").ToHashSet();
            for (int i = 0; i < Math.Min(10, ranked.Count); i++)
            {
                if (ranked[i].Id == $"i{ids[i]}") same++;
                if (floorSet.Contains(ranked[i].Id)) sameSet++;
                maxDiff = Math.Max(maxDiff, Math.Abs(ranked[i].Score - scores[i]));
                total++;
            }
        }
        Console.WriteLine(string.Create(Inv, $"agreement RANK K 10 vs floor over {userIds.Length} users: same id at the same rank {100.0 * same / total:F1}%, same top-10 set {100.0 * sameSet / total:F1}%, " +
            $"largest score difference at equal rank {maxDiff:G3}  "));
        Console.WriteLine();
    }

    private static void ServerAgrees(RankingEngine engine, OneConnection client, byte[] frame, RankRequest request, string what)
    {
        string reply = Encoding.UTF8.GetString(client.Call(frame));
        string first = engine.Rank(request).Items[0].Id;
        if (!reply.Contains($"\r\n${Encoding.UTF8.GetByteCount(first)}\r\n{first}\r\n", StringComparison.Ordinal))
            throw new InvalidOperationException($"server and engine disagree on the first item of RANK {what} ({first}): {reply[..Math.Min(200, reply.Length)]}");
    }

    /// <summary>One RESP connection, one request at a time: send a frame, read until one whole reply has arrived.</summary>
    private sealed class OneConnection : IDisposable
    {
        private readonly Socket _socket;
        private readonly ReplyScanner _scanner = new();
        private readonly byte[] _buffer = new byte[1 << 20];
        private readonly MemoryStream _reply = new();

        public OneConnection(IPEndPoint endPoint)
        {
            _socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket.Connect(endPoint);
        }

        public byte[] Call(byte[] frame)
        {
            _socket.Send(frame);
            _reply.SetLength(0);
            ReplyKind? kind = null;
            while (kind is null)
            {
                int n = _socket.Receive(_buffer);
                if (n == 0) throw new IOException("server closed the connection");
                _reply.Write(_buffer, 0, n);
                _scanner.Feed(_buffer.AsSpan(0, n), k => kind = k);
            }
            if (kind != ReplyKind.Ok)
                throw new InvalidOperationException("server error: " + Encoding.UTF8.GetString(_reply.GetBuffer(), 0, (int)Math.Min(200, _reply.Length)));
            return _reply.ToArray();
        }

        public void Dispose() => _socket.Dispose();
    }

    private static byte[] Frame(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static string MemoryLine()
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        return string.Create(Inv, $"RSS {StatusMiB("VmRSS:") / 1024:F1} GiB, GC heap {GC.GetTotalMemory(false) / (double)(1 << 30):F2} GiB (committed {info.TotalCommittedBytes / (double)(1 << 30):F2} GiB)");
    }

    private static double PeakRssMiB() => StatusMiB("VmHWM:");

    private static double StatusMiB(string key)
    {
        if (!File.Exists("/proc/self/status")) return double.NaN;
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], Inv) / 1024.0; // "VmRSS:\t12345678 kB"
        return double.NaN;
    }

    private static long DirectoryBytes(string path) => Directory.Exists(path)
        ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => { try { return f.Length; } catch (IOException) { return 0; } })
        : 0;
}
