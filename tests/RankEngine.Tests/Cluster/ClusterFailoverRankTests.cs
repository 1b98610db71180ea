using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using RankEngine.Cluster;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>
/// Three silos, six durable shard grains without checkpoints (a moved shard replays its whole log), and user grains
/// in Redis grain storage on a real redis-server (AOF, fsync always), so a user's state survives its silo.
/// </summary>
public sealed class FailoverRankingCluster : ThreeSiloShardCluster<FailoverRankingCluster>, IShardClusterOptions
{
    private static readonly Lazy<RedisServerProcess> Redis = new(() => RedisServerProcess.StartAsync().GetAwaiter().GetResult());

    public static ClusterCatalogOptions Options { get; } =
        new(6, [new ClusterVector("content", RankingCluster.ContentDim), new ClusterVector("collab", RankingCluster.CollabDim)])
        {
            DataRoot = Path.Combine(Path.GetTempPath(), $"rankengine-cluster-failover-{Guid.NewGuid():N}"),
            StoreLogMemoryBytes = 16L << 20,
            StoreExpectedRecords = 1 << 12,
            StoreCheckpointInterval = null,
            StoreCheckpointOnDispose = false,
            ShardSearchTimeout = TimeSpan.FromSeconds(2),
        };

    public static void AddUserStorage(ISiloBuilder siloBuilder) =>
        siloBuilder.AddRedisGrainStorage(UserGrain.StorageName, (Orleans.Persistence.RedisStorageOptions o) =>
            // Generous client timeouts: on two busy cores the client's socket reads wait for pool threads.
            o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(Redis.Value.Configuration + ",asyncTimeout=30000,syncTimeout=30000"));

    internal ClusterRankingService FrontEnd() =>
        new(((Orleans.TestingHost.InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IGrainFactory>(), Options);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Redis.IsValueCreated) await Redis.Value.DisposeAsync();
    }
}

/// <summary>
/// A silo dies while item writes, feedback events and RANKs run: no acknowledged write is lost (items and events),
/// every RANK during the move either answers (saying how much of the catalog it covered) or is a clear error to
/// retry, and afterwards the cluster ranks exactly as a single node fed exactly the acknowledged writes.
/// </summary>
public sealed class ClusterFailoverRankTests(FailoverRankingCluster fixture, ITestOutputHelper output) : IClassFixture<FailoverRankingCluster>
{
    [Fact]
    public async Task Killing_a_silo_loses_no_acknowledged_write_and_RANK_keeps_answering()
    {
        var watch = Stopwatch.StartNew();
        using var dir = new TempDir();
        using var engine = ClusterRankData.SingleNode(dir.Path);
        using var cluster = fixture.FrontEnd();
        var rng = new Random(1402);
        var data = ClusterRankData.Make(rng, prefix: "fo", items: 500, users: 25);
        data.WriteTo(engine, cluster);

        // The silo to kill: not the primary (the front end lives there), the one hosting the most shards.
        var primary = fixture.Cluster.Primary!.SiloAddress.ToParsableString();
        var hosts = await Task.WhenAll(Enumerable.Range(0, FailoverRankingCluster.Options.ShardCount).Select(s => cluster.Catalog.Shard(s).SiloAddress()));
        var victimAddress = hosts.Where(h => h != primary).GroupBy(h => h).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        Assert.True(victimAddress is not null, "every shard grain landed on the primary silo; nothing to move");
        var victim = fixture.Cluster.GetActiveSilos().Single(s => s.SiloAddress.ToParsableString() == victimAddress);
        var moved = Enumerable.Range(0, hosts.Length).Where(s => hosts[s] == victimAddress).ToArray();

        // Writers: new items and new events, each retried until acknowledged; an event that failed is looked up in
        // its user before a retry (it may have been applied), so nothing is recorded twice. Only acknowledged writes are replayed below.
        var acknowledged = new List<Action<IRankingService>>();
        int writeFailures = 0, rankings = 0, partial = 0, rankErrors = 0;
        var missingSeen = new SortedSet<int>();
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            var w = new Random(7);
            long at = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                Action<IRankingService> write;
                if (i % 2 == 0)
                {
                    var item = new ItemInput($"fo-new-{i}") { ContentVector = Unit(w), CollabVector = [(float)w.NextDouble(), 0, 1, 0] };
                    write = s => s.AddItems([item]);
                }
                else
                {
                    string user = data.UserIds[w.Next(data.UserIds.Count)], item = data.ItemIds[w.Next(data.ItemIds.Count)];
                    if (data.Removed.Contains(item)) continue;
                    var when = DateTimeOffset.FromUnixTimeMilliseconds(at += 1000);
                    write = s => s.RecordEvent(user, item, UserEventKind.Click, 1f, when);
                    while (true)
                    {
                        try
                        {
                            write(cluster);
                            break;
                        }
                        catch (InvalidOperationException e) when (e.Message.Contains("retry"))
                        {
                            // The front end reports a failing-over silo as one clear error to retry, never an Orleans exception.
                            Interlocked.Increment(ref writeFailures);
                            if (Applied(user, when)) break;
                        }
                    }
                    lock (acknowledged) acknowledged.Add(write);
                    continue;
                }
                while (true)
                {
                    try
                    {
                        write(cluster);
                        break;
                    }
                    catch (InvalidOperationException e) when (e.Message.Contains("retry"))
                    {
                        Interlocked.Increment(ref writeFailures); // an item write is idempotent: retry as is
                    }
                }
                lock (acknowledged) acknowledged.Add(write);
            }
        });
        // Whether a failed event write was applied after all; the lookup itself may meet the failing-over silo, and is
        // then asked again (guessing "not applied" could record the event twice).
        bool Applied(string user, DateTimeOffset when)
        {
            while (true)
            {
                try
                {
                    return ((IRankingService)cluster).TryGetUser(user, out var now) && now!.Events.Any(ev => ev.TimestampMs == when.ToUnixTimeMilliseconds());
                }
                catch (InvalidOperationException e) when (e.Message.Contains("retry"))
                {
                    Thread.Sleep(100);
                }
            }
        }
        var ranker = Task.Run(() =>
        {
            var q = new Random(9);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var response = cluster.Rank(new RankRequest { UserId = data.UserIds[q.Next(data.UserIds.Count)], K = 10 });
                    Interlocked.Increment(ref rankings);
                    if (!response.Coverage.IsComplete)
                    {
                        Interlocked.Increment(ref partial);
                        lock (missingSeen) missingSeen.UnionWith(response.Coverage.MissingShards);
                    }
                }
                catch (InvalidOperationException e) when (e.Message.Contains("retry"))
                {
                    Interlocked.Increment(ref rankErrors); // the user's grain was on the dead silo: a clear error, never a silent cold start
                }
            }
        });

        await Task.Delay(500);
        await fixture.Cluster.KillSiloAsync(victim);
        output.WriteLine($"killed {victimAddress} (shards [{string.Join(", ", moved)}]) at {watch.Elapsed.TotalSeconds:F1} s");
        await Task.Delay(TimeSpan.FromSeconds(4));
        stop.Cancel();
        await Task.WhenAll(writer, ranker);

        // Coverage comes back whole.
        var back = Stopwatch.StartNew();
        while (!cluster.Rank(new RankRequest { UserId = data.UserIds[0], K = 10 }).Coverage.IsComplete)
        {
            Assert.True(back.Elapsed < TimeSpan.FromSeconds(60), "coverage still incomplete after 60 s");
            await Task.Delay(100);
        }
        var after = await Task.WhenAll(Enumerable.Range(0, hosts.Length).Select(s => cluster.Catalog.Shard(s).SiloAddress()));
        Assert.DoesNotContain(victimAddress, after);
        output.WriteLine($"{acknowledged.Count} acknowledged writes during the run ({writeFailures} failed attempts retried); {rankings} rankings, " +
                         $"{partial} partial (missing [{string.Join(", ", missingSeen)}]), {rankErrors} retry errors; whole again after {back.Elapsed.TotalSeconds:F1} s");
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} writes were acknowledged");
        Assert.True(rankings > 20, $"only {rankings} rankings answered");
        Assert.All(missingSeen, s => Assert.Contains(s, moved));

        // The single node gets exactly the acknowledged writes, in their order: then every answer is equal.
        foreach (var write in acknowledged) write(engine);
        Assert.Equal(engine.ItemCount, cluster.ItemCount);
        foreach (var user in data.UserIds)
        {
            Assert.True(engine.TryGetUser(user, out var a));
            Assert.True(((IRankingService)cluster).TryGetUser(user, out var b));
            Assert.Equal(a!.Events, b!.Events);
            foreach (var (name, v) in a.Vectors) Assert.Equal(v, b.Vectors[name]);
        }
        int compared = 0;
        foreach (var request in data.Requests())
        {
            var got = cluster.Rank(request);
            Assert.True(got.Coverage.IsComplete);
            ClusterRankTests.AssertSameResponse(engine.Rank(request), got, request);
            compared++;
        }
        output.WriteLine($"{compared} responses equal the single node's after the move; total {watch.Elapsed.TotalSeconds:F1} s");
    }

    private static float[] Unit(Random rng)
    {
        var v = new float[RankingCluster.ContentDim];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }
}
