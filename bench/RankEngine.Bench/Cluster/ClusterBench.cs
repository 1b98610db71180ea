using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RankEngine.Cluster;
using RankEngine.Cluster.Hosting;
using RankEngine.Store;

namespace RankEngine.Bench.Cluster;

/// <summary>
/// The pieces of tools/cluster-bench.sh (three <c>serve --cluster</c> silos vs one single node with a third and with
/// all of the catalog): loading the same catalog and the same users into each deployment, then a closed-loop
/// <c>RANK user K 10</c> load and a byte-for-byte reply comparison.
/// <code>
/// cluster-load items --via orleans --redis H:P --shards S --items N --dim D     Orleans client, UpsertManyAsync per shard batch
/// cluster-load items --via direct --data-dir DIR --items N --dim D              RankingEngine.AddItems on a single node's directory (serve not running)
/// cluster-load items --via resp --ports P[,P…] --items N --dim D                pipelined ITEM.ADDVEC (what a client would do)
/// cluster-load events --ports P[,P…] --users U --per-user E --item-range M      pipelined USER.EVENT … AT ms (user grains / records are real)
/// cluster-load placement --redis H:P --shards S                                 which silo hosts each shard grain, items per silo
/// rank-load --ports P[,P…] --connections C --seconds T --users U [--warmup W] [--pids PID,…]
///                                                                                closed loop, one request in flight per connection;
///                                                                                with --pids, the servers' CPU time per request too
/// rank-dump --port P --users N --out DIR                                         raw RANK replies of users u0 … u(N−1)
/// rank-compare DIR-A DIR-B                                                       byte-for-byte; exit 1 on any difference
/// </code>
/// Common options: <c>--seed S</c> (data seed, default 42), <c>--result FILE</c> (key=value lines for the script).
/// </summary>
internal static class ClusterBench
{
    public static int Run(string[] args)
    {
        var o = new Options(args.Skip(1).ToArray());
        switch (args[0])
        {
            case "cluster-load":
                string what = o.Positional(0, "cluster-load needs items, events or placement");
                return what switch
                {
                    "items" => o.Get("via", "orleans") switch
                    {
                        "orleans" => ItemsOrleans(o),
                        "direct" => ItemsDirect(o),
                        "resp" => ItemsResp(o),
                        var v => throw new ArgumentException($"--via {v}: orleans, direct or resp"),
                    },
                    "events" => Events(o),
                    "placement" => Placement(o),
                    _ => throw new ArgumentException($"cluster-load {what}: items, events or placement"),
                };
            case "rank-load":
                return RankLoad(o);
            case "rank-dump":
                return RankDump(o);
            case "rank-compare":
                return RankCompare(o.Positional(0, "rank-compare DIR-A DIR-B"), o.Positional(1, "rank-compare DIR-A DIR-B"));
        }
        throw new ArgumentException($"unknown cluster bench command {args[0]}");
    }

    // ---- loading ----

    private static int ItemsOrleans(Options o)
    {
        long items = o.Long("items");
        int dim = o.Int("dim"), shards = o.Int("shards"), batch = o.Int("batch", 1024), parallel = o.Int("parallel", 2);
        ulong seed = o.Seed;
        var watch = Stopwatch.StartNew();
        using var host = ClientHost(o);
        var catalog = new ClusterCatalog(host.Services.GetRequiredService<IGrainFactory>(), shards);
        Console.Error.WriteLine($"orleans client connected in {watch.Elapsed.TotalSeconds:F1} s");
        watch.Restart();
        // Chunks of about `batch` items per shard go out `parallel` at a time; within a chunk every shard gets one batch.
        long chunk = (long)batch * shards, done = 0;
        var inFlight = new List<Task>();
        var progress = Stopwatch.StartNew();
        for (long start = 0; start < items; start += chunk)
        {
            int n = (int)Math.Min(chunk, items - start);
            var inputs = new ItemInput[n];
            for (int i = 0; i < n; i++) inputs[i] = new ItemInput(BenchCatalog.ItemId(start + i)) { ContentVector = BenchCatalog.RawVector(seed, start + i, dim) };
            // The records every write path makes (normalised content vectors), as a cluster front end's AddItems does.
            var records = ItemInputs.ToRecords(inputs, 0, n, dim, 0, _ => throw new InvalidOperationException("no text"));
            var wire = records.Select(ClusterItem.From).ToArray();
            inFlight.Add(catalog.UpsertManyAsync(wire, batch));
            if (inFlight.Count >= parallel)
            {
                var first = inFlight[0];
                first.GetAwaiter().GetResult();
                inFlight.RemoveAt(0);
            }
            done = start + n;
            if (progress.Elapsed.TotalSeconds >= 15)
            {
                Console.Error.WriteLine($"  {done:N0} / {items:N0} items ({done / watch.Elapsed.TotalSeconds:N0}/s)");
                progress.Restart();
            }
        }
        Task.WhenAll(inFlight).GetAwaiter().GetResult();
        double seconds = watch.Elapsed.TotalSeconds;
        int count = catalog.CountAsync().GetAwaiter().GetResult();
        Console.Error.WriteLine($"loaded {items:N0} items through an Orleans client in {seconds:F1} s ({items / seconds:N0}/s); the shards hold {count:N0}");
        o.Result(("items_loaded", count.ToString(CultureInfo.InvariantCulture)), ("seconds", F(seconds)));
        host.StopAsync().GetAwaiter().GetResult();
        return count == items ? 0 : Fail($"the shards hold {count:N0} items, expected {items:N0}");
    }

    private static int ItemsDirect(Options o)
    {
        long items = o.Long("items");
        int dim = o.Int("dim");
        ulong seed = o.Seed;
        var watch = Stopwatch.StartNew();
        // The options `serve --content-dim D --data-dir DIR` opens the directory with (collab width, one catalog shard, fp32).
        using (var engine = RankingEngine.Open(new RankingEngineOptions { DataDirectory = o.Get("data-dir"), ContentDimension = dim }))
        {
            const int chunk = 8192;
            var progress = Stopwatch.StartNew();
            var buffer = new List<ItemInput>(chunk);
            for (long i = 0; i < items; i++)
            {
                buffer.Add(new ItemInput(BenchCatalog.ItemId(i)) { ContentVector = BenchCatalog.RawVector(seed, i, dim) });
                if (buffer.Count == chunk || i == items - 1)
                {
                    engine.AddItems(buffer);
                    buffer.Clear();
                    if (progress.Elapsed.TotalSeconds >= 15)
                    {
                        Console.Error.WriteLine($"  {i + 1:N0} / {items:N0} items ({(i + 1) / watch.Elapsed.TotalSeconds:N0}/s)");
                        progress.Restart();
                    }
                }
            }
            Console.Error.WriteLine($"wrote {items:N0} items in {watch.Elapsed.TotalSeconds:F1} s; checkpointing and closing");
            if (engine.ItemCount != items) return Fail($"the engine holds {engine.ItemCount:N0} items, expected {items:N0}");
        }
        double seconds = watch.Elapsed.TotalSeconds;
        Console.Error.WriteLine($"loaded {items:N0} items with RankingEngine.AddItems in {seconds:F1} s ({items / seconds:N0}/s), closed (checkpointed)");
        o.Result(("items_loaded", items.ToString(CultureInfo.InvariantCulture)), ("seconds", F(seconds)));
        return 0;
    }

    private static int ItemsResp(Options o)
    {
        long items = o.Long("items"), start = o.Long("start", 0);
        int dim = o.Int("dim");
        ulong seed = o.Seed;
        var r = Pipelined(o.Ports, o.Int("connections", 12), o.Int("depth", 32), items - start, k =>
        {
            long i = start + k;
            var v = BenchCatalog.RawVector(seed, i, dim);
            var blob = new byte[dim * 4];
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).CopyTo(blob);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("little-endian only");
            return RespConnection.Frame([Encoding.UTF8.GetBytes("ITEM.ADDVEC"), Encoding.UTF8.GetBytes(BenchCatalog.ItemId(i)), blob]);
        }, "ITEM.ADDVEC");
        o.Result(("items_loaded", (items - start - r.Errors).ToString(CultureInfo.InvariantCulture)), ("seconds", F(r.Seconds)), ("errors", r.Errors.ToString(CultureInfo.InvariantCulture)));
        return r.Errors == 0 ? 0 : Fail($"{r.Errors} ITEM.ADDVEC errors");
    }

    private static int Events(Options o)
    {
        int users = o.Int("users"), perUser = o.Int("per-user", 10);
        long range = o.Long("item-range");
        ulong seed = o.Seed;
        var frames = new byte[(long)users * perUser][];
        for (int u = 0; u < users; u++)
        {
            var events = BenchCatalog.EventsOf(seed, u, perUser, range);
            for (int e = 0; e < perUser; e++)
                frames[u * perUser + e] = RespConnection.Frame("USER.EVENT", BenchCatalog.UserId(u), BenchCatalog.ItemId(events[e].Item),
                    BenchCatalog.KindName(events[e].Kind), "AT", events[e].AtMs.ToString(CultureInfo.InvariantCulture));
        }
        var r = Pipelined(o.Ports, o.Int("connections", 12), o.Int("depth", 8), frames.Length, k => frames[k], "USER.EVENT");
        o.Result(("events", frames.Length.ToString(CultureInfo.InvariantCulture)), ("seconds", F(r.Seconds)), ("errors", r.Errors.ToString(CultureInfo.InvariantCulture)));
        return r.Errors == 0 ? 0 : Fail($"{r.Errors} USER.EVENT errors");
    }

    private static int Placement(Options o)
    {
        int shards = o.Int("shards");
        using var host = ClientHost(o);
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var rows = Enumerable.Range(0, shards).Select(s =>
        {
            var g = grains.GetGrain<IShardGrain>(s);
            return (Shard: s, Silo: g.SiloAddress().GetAwaiter().GetResult(), Items: g.Count().GetAwaiter().GetResult());
        }).ToList();
        var lines = new List<(string, string)>();
        int k = 0;
        foreach (var silo in rows.GroupBy(r => r.Silo).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            string list = string.Join(",", silo.Select(r => r.Shard));
            long items = silo.Sum(r => (long)r.Items);
            Console.WriteLine($"silo {silo.Key}: {silo.Count()} shards ({list}), {items:N0} items");
            lines.Add(($"silo{k}", silo.Key));
            lines.Add(($"silo{k}_shards", silo.Count().ToString(CultureInfo.InvariantCulture)));
            lines.Add(($"silo{k}_shard_list", list));
            lines.Add(($"silo{k}_items", items.ToString(CultureInfo.InvariantCulture)));
            k++;
        }
        lines.Add(("silos", k.ToString(CultureInfo.InvariantCulture)));
        o.Result([.. lines]);
        host.StopAsync().GetAwaiter().GetResult();
        return 0;
    }

    private static IHost ClientHost(Options o)
    {
        var membership = new ClusterMembershipOptions
        {
            Mode = ClusterMembershipMode.Redis,
            RedisConfiguration = o.Get("redis"),
            ClusterId = o.Get("cluster-id", "rankengine"),
        };
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client => client.UseRankEngineMembership(membership));
        var host = builder.Build();
        host.StartAsync().GetAwaiter().GetResult();
        return host;
    }

    private sealed record PipelineResult(double Seconds, long Errors, long Retries);

    /// <summary>
    /// Sends <paramref name="count"/> requests (request k is <paramref name="frameOf"/>(k)) over <paramref name="connections"/>
    /// connections spread round-robin over <paramref name="ports"/>, each keeping <paramref name="depth"/> in flight;
    /// a BUSY answer (server overloaded, nothing written) is sent again; any other error is counted and its first lines printed.
    /// </summary>
    private static PipelineResult Pipelined(int[] ports, int connections, int depth, long count, Func<long, byte[]> frameOf, string what)
    {
        long errors = 0, retries = 0, done = 0;
        var firstErrors = new List<string>();
        var watch = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var reporter = new Thread(() =>
        {
            while (!stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(15)))
                Console.Error.WriteLine($"  {what}: {Interlocked.Read(ref done):N0} / {count:N0} ({Interlocked.Read(ref done) / watch.Elapsed.TotalSeconds:N0}/s)");
        }) { IsBackground = true };
        reporter.Start();
        var threads = Enumerable.Range(0, connections).Select(c => new Thread(() =>
        {
            using var conn = new RespConnection(ports[c % ports.Length]);
            var pending = new Queue<long>();
            var retry = new Queue<long>();
            long next = c;
            var outgoing = new MemoryStream();
            while (true)
            {
                outgoing.SetLength(0);
                while (pending.Count < depth && (retry.Count > 0 || next < count))
                {
                    long k;
                    if (retry.Count > 0) k = retry.Dequeue();
                    else
                    {
                        k = next;
                        next += connections;
                    }
                    outgoing.Write(frameOf(k));
                    pending.Enqueue(k);
                }
                if (outgoing.Length > 0) conn.Send(outgoing.GetBuffer().AsSpan(0, (int)outgoing.Length));
                if (pending.Count == 0) break;
                var reply = conn.ReadReply();
                long key = pending.Dequeue();
                if (RespConnection.IsBusy(reply))
                {
                    Interlocked.Increment(ref retries);
                    retry.Enqueue(key);
                    Thread.Sleep(5);
                    continue;
                }
                if (RespConnection.IsError(reply))
                {
                    Interlocked.Increment(ref errors);
                    lock (firstErrors)
                        if (firstErrors.Count < 5) firstErrors.Add($"{what} #{key}: {RespConnection.FirstLine(reply)}");
                }
                Interlocked.Increment(ref done);
            }
        }) { IsBackground = true }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        stop.Cancel();
        double seconds = watch.Elapsed.TotalSeconds;
        foreach (var e in firstErrors) Console.Error.WriteLine("  error: " + e);
        Console.Error.WriteLine($"{what}: {count:N0} requests over {connections} connections × {depth} in flight on port(s) {string.Join(",", ports)} " +
            $"in {seconds:F1} s ({count / seconds:N0}/s); {errors} errors, {retries} BUSY retried");
        return new PipelineResult(seconds, errors, retries);
    }

    // ---- measuring ----

    private static int RankLoad(Options o)
    {
        int[] ports = o.Ports;
        int connections = o.Int("connections", 8), users = o.Int("users"), k = o.Int("k", 10);
        double seconds = o.Double("seconds", 20), warmup = o.Double("warmup", 3);
        var frames = Enumerable.Range(0, users).Select(u => RespConnection.Frame("RANK", BenchCatalog.UserId(u), "K", k.ToString(CultureInfo.InvariantCulture))).ToArray();
        var coverageKey = Encoding.ASCII.GetBytes("$8\r\ncoverage\r\n");
        long measureFrom = 0, measureTo = 0;
        var ready = new Barrier(connections + 1);
        var latencies = new List<double>[connections];
        var counts = new (long Ok, long Errors, long Partial)[connections];
        var firstErrors = new List<string>();
        var threads = Enumerable.Range(0, connections).Select(c => new Thread(() =>
        {
            var rng = new Random(unchecked((int)o.Seed) * 31 + c);
            var mine = new List<double>(1 << 14);
            latencies[c] = mine;
            using var conn = new RespConnection(ports[c % ports.Length]);
            ready.SignalAndWait();
            while (true)
            {
                long sent = Stopwatch.GetTimestamp();
                if (sent >= Volatile.Read(ref measureTo)) break;
                conn.Send(frames[rng.Next(users)]);
                var reply = conn.ReadReply();
                long now = Stopwatch.GetTimestamp();
                if (sent < Volatile.Read(ref measureFrom) || now > measureTo) continue; // warm-up, or finished after the window
                if (RespConnection.IsError(reply))
                {
                    counts[c].Errors++;
                    lock (firstErrors)
                        if (firstErrors.Count < 5) firstErrors.Add(RespConnection.FirstLine(reply));
                    continue;
                }
                counts[c].Ok++;
                if (reply.AsSpan().IndexOf(coverageKey) >= 0) counts[c].Partial++;
                mine.Add((now - sent) * 1000.0 / Stopwatch.Frequency);
            }
        }) { IsBackground = true }).ToArray();
        foreach (var t in threads) t.Start();
        long t0 = Stopwatch.GetTimestamp();
        measureFrom = t0 + (long)(warmup * Stopwatch.Frequency);
        measureTo = measureFrom + (long)(seconds * Stopwatch.Frequency);
        ready.SignalAndWait();
        // The servers' CPU time over the measured window (user + system, from /proc): a cost per request that other
        // work on a shared machine does not inflate the way it does wall-clock rates.
        int[] pids = o.Get("pids", "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        int clockTicks = o.Int("clk-tck", 100);
        SleepUntil(measureFrom);
        double cpu0 = CpuSeconds(pids, clockTicks);
        SleepUntil(measureTo);
        double cpu1 = CpuSeconds(pids, clockTicks);
        foreach (var t in threads) t.Join();
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        long ok = counts.Sum(c => c.Ok), errors = counts.Sum(c => c.Errors), partial = counts.Sum(c => c.Partial);
        double P(double p) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)Math.Ceiling(p * all.Length) - 1)];
        double rps = ok / seconds;
        foreach (var e in firstErrors) Console.Error.WriteLine("  error: " + e);
        Console.WriteLine($"RANK user K {k}: {connections} connections (closed loop, 1 in flight each) over port(s) {string.Join(",", ports)}, " +
            $"{users:N0} users, {warmup:0.#} s warm-up then {seconds:0.#} s: {rps:N1} req/s, p50 {P(0.5):F1} ms, p90 {P(0.9):F1} ms, p99 {P(0.99):F1} ms, " +
            $"{errors} errors, {partial} replies with partial coverage");
        var lines = new List<(string, string)>
        {
            ("requests", ok.ToString(CultureInfo.InvariantCulture)), ("seconds", F(seconds)), ("rps", F(rps)), ("p50_ms", F(P(0.5))),
            ("p90_ms", F(P(0.9))), ("p99_ms", F(P(0.99))), ("errors", errors.ToString(CultureInfo.InvariantCulture)),
            ("partial", partial.ToString(CultureInfo.InvariantCulture)),
        };
        if (pids.Length > 0)
        {
            double cpu = cpu1 - cpu0;
            Console.WriteLine($"server CPU time over the window: {cpu:F1} s in {seconds:0.#} s ({cpu / seconds:F2} cores busy), {1000 * cpu / Math.Max(1, ok + errors):F1} ms per request");
            lines.Add(("server_cpu_s", F(cpu)));
            lines.Add(("cpu_ms_per_request", F(1000 * cpu / Math.Max(1, ok + errors))));
            lines.Add(("cores_busy", (cpu / seconds).ToString("0.00", CultureInfo.InvariantCulture)));
        }
        o.Result([.. lines]);
        return 0;
    }

    private static void SleepUntil(long timestamp)
    {
        long left = timestamp - Stopwatch.GetTimestamp();
        if (left > 0) Thread.Sleep(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
    }

    /// <summary>User + system CPU seconds of the processes so far (/proc/PID/stat fields 14 and 15, in clock ticks).</summary>
    private static double CpuSeconds(int[] pids, int clockTicks)
    {
        long ticks = 0;
        foreach (int pid in pids)
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name (which may hold spaces) start at field 3 (state): utime is field 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        return (double)ticks / clockTicks;
    }

    private static int RankDump(Options o)
    {
        int users = o.Int("users", 20), k = o.Int("k", 10);
        string dir = o.Get("out");
        Directory.CreateDirectory(dir);
        using var conn = new RespConnection(o.Int("port"));
        for (int u = 0; u < users; u++)
        {
            // Retry BUSY: a dump wants every user's answer.
            byte[] reply;
            int tries = 0;
            do reply = conn.Call("RANK", BenchCatalog.UserId(u), "K", k.ToString(CultureInfo.InvariantCulture));
            while (RespConnection.IsBusy(reply) && ++tries < 20 && Sleep(100));
            File.WriteAllBytes(Path.Combine(dir, BenchCatalog.UserId(u) + ".resp"), reply);
        }
        Console.Error.WriteLine($"dumped the RANK replies of {users} users to {dir}");
        return 0;
    }

    private static int RankCompare(string a, string b)
    {
        int same = 0, differ = 0, personalized = 0;
        var files = Directory.GetFiles(a, "*.resp").OrderBy(f => f, StringComparer.Ordinal).ToArray();
        if (files.Length == 0) return Fail($"no replies in {a}");
        foreach (var fa in files)
        {
            string name = Path.GetFileName(fa), fb = Path.Combine(b, name);
            var ra = File.ReadAllBytes(fa);
            if (!File.Exists(fb)) { differ++; Console.Error.WriteLine($"{name}: missing in {b}"); continue; }
            var rb = File.ReadAllBytes(fb);
            if (RespConnection.IsError(ra) || RespConnection.IsError(rb))
            {
                differ++;
                Console.Error.WriteLine($"{name}: an error reply: {(RespConnection.IsError(ra) ? RespConnection.FirstLine(ra) : RespConnection.FirstLine(rb))}");
                continue;
            }
            if (ra.AsSpan().SequenceEqual(rb)) same++;
            else
            {
                differ++;
                Console.Error.WriteLine($"{name}: replies differ ({ra.Length} vs {rb.Length} bytes)\n  {Printable(ra)}\n  {Printable(rb)}");
            }
            if (ra.AsSpan().IndexOf("personalized"u8) >= 0) personalized++;
        }
        Console.WriteLine($"RANK replies compared byte for byte: {same} of {files.Length} users identical, {differ} different; {personalized} of them personalized");
        if (personalized < files.Length) Console.Error.WriteLine($"warning: only {personalized} of {files.Length} replies were personalized (were the events loaded?)");
        return differ == 0 && personalized == files.Length ? 0 : 1;
    }

    private static string Printable(byte[] reply)
    {
        string s = Encoding.UTF8.GetString(reply).Replace("\r\n", " ");
        return s.Length > 400 ? s[..400] + "…" : s;
    }

    private static bool Sleep(int ms)
    {
        Thread.Sleep(ms);
        return true;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 1;
    }

    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary><c>--name value</c> options and positional words.</summary>
    private sealed class Options
    {
        private readonly Dictionary<string, string> _named = new(StringComparer.Ordinal);
        private readonly List<string> _positional = [];

        public Options(string[] args)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
                    _named[args[i][2..]] = args[++i];
                }
                else _positional.Add(args[i]);
            }
        }

        public string Positional(int index, string usage) => index < _positional.Count ? _positional[index] : throw new ArgumentException(usage);

        public string Get(string name) => _named.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");

        public string Get(string name, string fallback) => _named.GetValueOrDefault(name, fallback);

        public int Int(string name) => int.Parse(Get(name), CultureInfo.InvariantCulture);

        public int Int(string name, int fallback) => _named.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public long Long(string name) => long.Parse(Get(name), CultureInfo.InvariantCulture);

        public long Long(string name, long fallback) => _named.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public double Double(string name, double fallback) => _named.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

        public ulong Seed => _named.TryGetValue("seed", out var v) ? ulong.Parse(v, CultureInfo.InvariantCulture) : BenchCatalog.DefaultSeed;

        public int[] Ports => Get("ports").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();

        /// <summary>Writes key=value lines to --result FILE, when given.</summary>
        public void Result(params (string Key, string Value)[] lines)
        {
            if (!_named.TryGetValue("result", out var file)) return;
            File.WriteAllLines(file, lines.Select(l => $"{l.Key}={l.Value}"));
        }
    }
}
