using System.Diagnostics;
using Orleans.TestingHost;
using RankEngine.Catalog;
using RankEngine.Cluster;
using RankEngine.Tests.Catalog;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>Three in-process silos with durable shard grains under their own data root, for <see cref="ShardCoverageTests"/> (which kills one).</summary>
public sealed class CoverageThreeSiloCluster : ThreeSiloShardCluster<CoverageThreeSiloCluster>, IShardClusterOptions
{
    internal static readonly string DataRoot = Path.Combine(Path.GetTempPath(), $"rankengine-coverage-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public static ClusterCatalogOptions Options { get; } =
        new(ThreeSiloCluster.ShardCount, [new ClusterVector("content", ThreeSiloCluster.ContentDim), new ClusterVector("collab", ThreeSiloCluster.CollabDim)])
        {
            DataRoot = DataRoot,
            StoreLogMemoryBytes = 16L << 20,
            StoreExpectedRecords = 20_000,
            StoreLockWait = TimeSpan.FromSeconds(60),
            ShardSearchTimeout = TimeSpan.FromMilliseconds(500),
        };
}

/// <summary>
/// A search says how much of the catalog it covered. One silo is killed while its shards' store directories stay
/// locked (as when the old silo has not let go of the shared volume yet), so their re-activations wait: a query right
/// away is answered by the other shards only within the short deadline, reports the moved shards missing, and returns
/// exactly the single node's top k over the shards that answered; the full-coverage search throws instead. Once the
/// locks go, the shards recover and coverage is whole again, equal to the single node bit for bit.
/// (Without the held locks the in-process kill hands the directories over at once and the very next query already
/// finds the shards re-activated elsewhere, so nothing would be missing to observe.)
/// </summary>
public sealed class ShardCoverageTests(CoverageThreeSiloCluster fixture, ITestOutputHelper output) : IClassFixture<CoverageThreeSiloCluster>
{
    [Fact]
    public async Task Cluster_search_reports_the_shards_of_a_killed_silo_missing_and_ranks_the_rest_exactly()
    {
        var watch = Stopwatch.StartNew();
        var rng = new Random(33);
        var cluster = new ClusterCatalog(fixture.Cluster.Client, CoverageThreeSiloCluster.Options);
        Assert.Equal(TimeSpan.FromMilliseconds(500), cluster.ShardSearchTimeout);
        var single = new ShardedCatalog(CoverageThreeSiloCluster.Options.Schema, 1);
        var items = new List<ClusterItem>();
        for (int i = 0; i < 800; i++)
        {
            var c = CatalogKit.Unit(ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.ContentDim));
            var s = ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.CollabDim);
            items.Add(new ClusterItem($"c-{rng.Next(1_000_000):D6}-{i}", new() { ["content"] = c, ["collab"] = s }));
            CatalogKit.Put(single, items[^1].Id, c, s);
        }
        await cluster.UpsertManyAsync(items);
        var query = new ClusterQuery { Content = items[7].Vectors["content"], ContentWeight = 1f, K = 20 };
        var all = Enumerable.Range(0, cluster.ShardCount).ToHashSet();

        // Before the kill every shard answers; on two busy cores (the whole suite runs in parallel) a first call can
        // still miss the 500 ms deadline while the shards warm up, so a few tries are allowed.
        var before = await cluster.SearchWithCoverageAsync(query);
        for (int attempt = 1; attempt < 5 && !before.IsComplete; attempt++) before = await cluster.SearchWithCoverageAsync(query);
        Assert.True(before.IsComplete, $"before the kill: missing [{string.Join("; ", before.Missing)}]");
        Assert.Equal(1.0, before.Coverage);
        Assert.Empty(before.Missing);
        DurableShardTests.AssertSame(DurableShardTests.SingleNodeRestricted(single, query.Content, 1f, all, cluster.ShardCount, query.K), before.Hits, "before");
        DurableShardTests.AssertSame(DurableShardTests.SingleNodeRestricted(single, query.Content, 1f, all, cluster.ShardCount, query.K), await cluster.SearchAsync(query), "before, full search");

        var primary = fixture.Cluster.Primary!.SiloAddress.ToParsableString();
        var hosts = await Task.WhenAll(Enumerable.Range(0, cluster.ShardCount).Select(s => cluster.Shard(s).SiloAddress()));
        var victimAddress = hosts.Where(h => h != primary).GroupBy(h => h).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        Assert.True(victimAddress is not null, "every shard grain landed on the primary silo; nothing to kill");
        var victim = fixture.Cluster.GetActiveSilos().Single(s => s.SiloAddress.ToParsableString() == victimAddress);
        var moved = Enumerable.Range(0, cluster.ShardCount).Where(s => hosts[s] == victimAddress).ToArray();
        // Hold each moved shard's store lock the moment the dying activation releases it (nothing calls the shards meanwhile).
        using var holdersCancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var holders = moved.Select(s => Task.Factory.StartNew(() => HoldLock(s, holdersCancel.Token), TaskCreationOptions.LongRunning)).ToArray();
        await fixture.Cluster.KillSiloAsync(victim);
        var locks = await Task.WhenAll(holders);
        output.WriteLine($"killed {victimAddress}; holding the store locks of shards [{string.Join(", ", moved)}] after {watch.Elapsed.TotalSeconds:F1} s");

        // Right away: the moved shards are re-activating (waiting for their stores), so they miss the deadline.
        var during = await cluster.SearchWithCoverageAsync(query);
        output.WriteLine($"killed {victimAddress} (shards [{string.Join(", ", moved)}]); immediate query in {during.Elapsed.TotalMilliseconds:F0} ms: " +
                         $"coverage {during.ShardsAnswered}/{during.ShardsAsked}, missing [{string.Join("; ", during.Missing)}]");
        Assert.Equal(moved, during.MissingShards);
        Assert.Equal(cluster.ShardCount - moved.Length, during.ShardsAnswered);
        Assert.Equal((double)(cluster.ShardCount - moved.Length) / cluster.ShardCount, during.Coverage);
        Assert.False(during.IsComplete);
        var answered = all.Except(moved).ToHashSet();
        DurableShardTests.AssertSame(DurableShardTests.SingleNodeRestricted(single, query.Content, 1f, answered, cluster.ShardCount, query.K), during.Hits, "after the kill");
        Assert.True(during.Elapsed < TimeSpan.FromSeconds(10), $"the partial answer took {during.Elapsed}");

        // The full-coverage search refuses a partial answer.
        var refused = await Assert.ThrowsAsync<IncompleteCoverageException>(() => cluster.SearchAsync(query));
        Assert.False(refused.Result.IsComplete);
        Assert.All(refused.Result.Hits, h => Assert.DoesNotContain(h.Shard, refused.Result.MissingShards));
        output.WriteLine($"full-coverage search: {refused.Message}");

        // Let go of the stores: the moved shards open them, recover every write, and coverage is whole again.
        foreach (var l in locks) l.Dispose();
        var recovered = Stopwatch.StartNew();
        ClusterSearchResult after;
        while (!(after = await cluster.SearchWithCoverageAsync(query)).IsComplete)
        {
            Assert.True(recovered.Elapsed < TimeSpan.FromSeconds(60), $"coverage still {after.ShardsAnswered}/{after.ShardsAsked} after 60 s");
            await Task.Delay(100);
        }
        Assert.Equal(1.0, after.Coverage);
        DurableShardTests.AssertSame(DurableShardTests.SingleNodeRestricted(single, query.Content, 1f, all, cluster.ShardCount, query.K), after.Hits, "after the recovery");
        DurableShardTests.AssertSame(DurableShardTests.SingleNodeRestricted(single, query.Content, 1f, all, cluster.ShardCount, query.K), await cluster.SearchAsync(query), "after the recovery, full search");
        Assert.Equal(single.Count, await cluster.CountAsync());
        output.WriteLine($"coverage whole again {recovered.Elapsed.TotalSeconds:F1} s after releasing the locks, equal to the single node; total {watch.Elapsed.TotalSeconds:F1} s");
    }

    private static FileStream HoldLock(int shard, CancellationToken cancellationToken)
    {
        string path = Path.Combine(CoverageThreeSiloCluster.Options.ShardDirectory(shard)!, "rankstore.lock");
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (!cancellationToken.IsCancellationRequested)
            {
                Thread.Sleep(1);
            }
        }
    }
}
