using System.Diagnostics;
using Orleans.TestingHost;
using RankEngine.Catalog;
using RankEngine.Cluster;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Catalog;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>Three in-process silos whose eight shard grains keep their slices in RankStores under one data root (the local disk standing in for a shared volume).</summary>
public sealed class DurableThreeSiloCluster : ThreeSiloShardCluster<DurableThreeSiloCluster>, IShardClusterOptions
{
    internal static readonly string DataRoot = Path.Combine(Path.GetTempPath(), $"rankengine-cluster-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public static ClusterCatalogOptions Options { get; } =
        new(ThreeSiloCluster.ShardCount, [new ClusterVector("content", ThreeSiloCluster.ContentDim), new ClusterVector("collab", ThreeSiloCluster.CollabDim)])
        {
            DataRoot = DataRoot,
            StoreLogMemoryBytes = 16L << 20,
            StoreExpectedRecords = 20_000,
            // No checkpoints at all: a re-activated shard must rebuild everything from its write-ahead log.
            StoreCheckpointInterval = null,
            StoreCheckpointOnDispose = false,
        };
}

/// <summary>
/// Durable shard grains: every acknowledged write survives losing the silo that hosted its shard grain, because the
/// grain re-activates on another silo and reopens (recovers) the same store.
/// </summary>
public sealed class DurableShardTests(DurableThreeSiloCluster fixture, ITestOutputHelper output) : IClassFixture<DurableThreeSiloCluster>
{
    private readonly Dictionary<string, float[]> _content = [];
    private readonly ShardedCatalog _single = new(DurableThreeSiloCluster.Options.Schema, 1);

    [Fact]
    public async Task Cluster_durable_shards_keep_every_acknowledged_write_when_their_silo_goes()
    {
        var watch = Stopwatch.StartNew();
        var rng = new Random(21);
        // A 2 s deadline per shard call: a shard that does not answer by then is left out and reported missing.
        var cluster = new ClusterCatalog(fixture.Cluster.Client, ThreeSiloCluster.ShardCount, TimeSpan.FromSeconds(2));

        // 1500 acknowledged writes (batched), then 50 acknowledged removes.
        var first = Enumerable.Range(0, 1500).Select(i => NewItem(rng, i)).ToList();
        await cluster.UpsertManyAsync(first);
        foreach (var item in first) Feed(item);
        var ids = first.Select(i => i.Id).ToList();
        for (int i = 0; i < 50; i++)
        {
            string id = ids[rng.Next(ids.Count)];
            Assert.Equal(_single.Remove(id), await cluster.RemoveAsync(id));
        }
        Assert.Equal(_single.Count, await cluster.CountAsync());
        await Compare(cluster, rng, 6, "before the move");

        // Pick a non-primary silo hosting at least one shard grain.
        var primary = fixture.Cluster.Primary!.SiloAddress.ToParsableString();
        var hosts = await Task.WhenAll(Enumerable.Range(0, ThreeSiloCluster.ShardCount).Select(s => cluster.Shard(s).SiloAddress()));
        output.WriteLine($"shard hosts: {string.Join(", ", hosts.Select((h, s) => $"{s}@{h}"))}; primary {primary}");
        var victimAddress = hosts.Where(h => h != primary).GroupBy(h => h).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
        Assert.True(victimAddress is not null, "every shard grain landed on the primary silo; nothing to move");
        var victim = fixture.Cluster.GetActiveSilos().Single(s => s.SiloAddress.ToParsableString() == victimAddress);
        var moved = Enumerable.Range(0, ThreeSiloCluster.ShardCount).Where(s => hosts[s] == victimAddress).ToArray();
        output.WriteLine($"killing {victimAddress}, host of shards [{string.Join(", ", moved)}]");

        // Rankings during the move, in the background: every one must return (no exception), with its coverage;
        // record how many were partial and which shards they missed and why.
        using var stop = new CancellationTokenSource();
        var during = Task.Run(async () =>
        {
            var q = new Random(5);
            int full = 0, partial = 0;
            var failures = new List<string>();
            var misses = new HashSet<string>();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var r = await cluster.SearchWithCoverageAsync(new ClusterQuery { Content = CatalogKit.Unit(ClusterCatalogTests.Gaussian(q, ThreeSiloCluster.ContentDim)), ContentWeight = 1f, K = 10 });
                    Assert.Equal(ThreeSiloCluster.ShardCount, r.ShardsAsked);
                    Assert.Equal(r.ShardsAsked - r.Missing.Length, r.ShardsAnswered);
                    if (r.IsComplete) { Assert.Equal(10, r.Hits.Length); full++; }
                    else
                    {
                        partial++;
                        Assert.All(r.Hits, h => Assert.DoesNotContain(h.Shard, r.MissingShards));
                        foreach (var m in r.Missing) misses.Add($"{m.Shard}: {m.Reason}");
                    }
                }
                catch (Exception e) when (e is not Xunit.Sdk.XunitException)
                {
                    failures.Add($"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
                }
                await Task.Delay(20);
            }
            return (full, partial, failures, misses);
        });

        // KillSiloAsync (ungraceful). The store's directory lock is its lock file opened FileShare.None (a flock on Linux),
        // released only by the store's Dispose or by the process exiting, and here every silo shares one process: a
        // killed silo that never disposed its shard stores would keep the locks, and the re-activations would fail with
        // StoreLockedException once ClusterCatalogOptions.StoreLockWait (they retry meanwhile) ran out, failing this test
        // with that message. With Orleans 10.4.2's in-process TestingHost it does not happen: the re-activations open the
        // stores (evidently the killed silo still runs the grains' OnDeactivateAsync, which disposes them; with checkpoints off that
        // dispose persists nothing extra, so the new activations rebuild every acknowledged write from the write-ahead
        // log, as after a crash). StopSiloAsync (graceful) passes as well. A real silo killed with SIGKILL releases the
        // lock with its process; the store's own crash tests cover that recovery.
        var stopWatch = Stopwatch.StartNew();
        var stopping = fixture.Cluster.KillSiloAsync(victim);

        // Keep writing meanwhile: a write that fails is retried until acknowledged (an upsert is idempotent), so the
        // single node ends up fed exactly the acknowledged state.
        int writeFailures = 0, checkedCount = 0, checkedPartial = 0;
        var writeErrors = new HashSet<string>();
        for (int i = 0; i < 300; i++)
        {
            var item = NewItem(rng, 1500 + i);
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    await cluster.UpsertAsync(item);
                    break;
                }
                catch (Exception e) when (attempt < 50)
                {
                    writeFailures++;
                    writeErrors.Add($"{e.GetType().Name}: {e.Message.Split('\n')[0]}");
                    await Task.Delay(200);
                }
            }
            Feed(item);
            ids.Add(item.Id);
            // Every fifth acknowledged write, a ranking checked exactly: whatever its coverage, its hits are the single
            // node's top k over the items of the shards that answered (the single node now holds exactly the acknowledged state).
            if (i % 5 == 4 && await CompareCovered(cluster, rng) < 1) checkedPartial++;
            if (i % 5 == 4) checkedCount++;
        }
        await stopping;
        var stopped = stopWatch.Elapsed;
        await Task.Delay(500);
        stop.Cancel();
        var (rankedFull, rankedPartial, rankFailures, rankMisses) = await during;
        output.WriteLine($"silo killed in {stopped.TotalSeconds:F1} s; writes during the move: 300 acknowledged, {writeFailures} failed attempts retried [{string.Join("; ", writeErrors)}]");
        output.WriteLine($"rankings during the move (background): {rankedFull} with full coverage, {rankedPartial} partial, {rankFailures.Count} failed [{string.Join("; ", rankFailures.Distinct().Take(5))}]; missed [{string.Join("; ", rankMisses.Take(12))}]");
        output.WriteLine($"rankings during the move (checked against the single node): {checkedCount}, of which {checkedPartial} partial, all equal bit for bit to the single node restricted to the shards that answered");
        Assert.Empty(rankFailures);
        // How many are partial depends on timing (whether a ranking falls in the silo's shutdown window; 0 to a few per
        // run here), so it is recorded, not asserted; ShardCoverageTests forces a partial answer deterministically.

        // The moved shards re-activated elsewhere and recovered their stores.
        var after = await Task.WhenAll(Enumerable.Range(0, ThreeSiloCluster.ShardCount).Select(s => cluster.Shard(s).SiloAddress()));
        Assert.DoesNotContain(victimAddress, after);
        foreach (int s in moved)
        {
            var recovery = await cluster.Shard(s).Recovery();
            Assert.True(recovery.Durable);
            Assert.False(recovery.FromCheckpoint);
            Assert.True(recovery.ReplayedEntries > 0, $"shard {s} replayed nothing");
            output.WriteLine($"shard {s} now on {after[s]}: recovered {recovery.Items} items (checkpoint {recovery.FromCheckpoint}, {recovery.ReplayedEntries} log entries replayed) in {recovery.Elapsed.TotalMilliseconds:F0} ms");
        }
        Assert.Equal(_single.Count, await cluster.CountAsync());
        for (int s = 0; s < ThreeSiloCluster.ShardCount; s++)
            Assert.Equal(ids.Count(id => _single.Contains(id) && cluster.ShardOf(id) == s), await cluster.Shard(s).Count());
        await Compare(cluster, rng, 16, "after the move");
        output.WriteLine($"total {watch.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>One ranking with coverage; asserts its hits equal, bit for bit, the single node's top k over the items
    /// whose shard (<c>ShardedCatalog.ShardOf</c>) answered. Returns the coverage.</summary>
    private async Task<double> CompareCovered(ClusterCatalog cluster, Random rng)
    {
        var live = _content.Keys.Where(_single.Contains).ToList();
        float[] c = rng.Next(2) == 0 ? _content[live[rng.Next(live.Count)]] : CatalogKit.Unit(ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.ContentDim));
        var query = new ClusterQuery { Content = c, ContentWeight = 1f, K = 10 };
        var result = await cluster.SearchWithCoverageAsync(query);
        Assert.Equal(result.ShardsAsked - result.Missing.Length, result.ShardsAnswered);
        var answered = Enumerable.Range(0, cluster.ShardCount).Except(result.MissingShards).ToHashSet();
        var expected = SingleNodeRestricted(_single, c, query.ContentWeight, answered, cluster.ShardCount, query.K);
        AssertSame(expected, result.Hits, $"coverage {result.ShardsAnswered}/{result.ShardsAsked}");
        return result.Coverage;
    }

    /// <summary>The single node's top k over only the items whose shard is in <paramref name="answered"/>: its full
    /// ranking, filtered by the shard of each id, cut at k.</summary>
    internal static RankedItem[] SingleNodeRestricted(ShardedCatalog single, float[] content, float weight, IReadOnlySet<int> answered, int shardCount, int k)
    {
        var snapshot = single.Snapshot();
        var all = CatalogRanker.Rank(snapshot, new ShardFactors?[snapshot.Shards.Count], new ShardQuery { Content = content, ContentWeight = weight },
            new CatalogRanker.Diversity(0, default, null), Math.Max(single.Count, 1), 0, 1);
        return [.. all.Where(r => answered.Contains(ShardedCatalog.ShardOf(r.Id, shardCount))).Take(k)];
    }

    internal static void AssertSame(RankedItem[] expected, ClusterHit[] actual, string when)
    {
        Assert.True(expected.Length == actual.Length, $"{when}: {actual.Length} hits, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Id, actual[i].Id);
            Assert.Equal(BitConverter.SingleToInt32Bits(expected[i].Score), BitConverter.SingleToInt32Bits(actual[i].Score));
        }
    }

    private ClusterItem NewItem(Random rng, int i)
    {
        string id = $"d-{rng.Next(1_000_000):D6}-{i}";
        var c = CatalogKit.Unit(ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.ContentDim));
        var s = ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.CollabDim);
        var fields = ClusterCatalogTests.FieldsOf(rng, i);
        return new ClusterItem(id, new() { ["content"] = c, ["collab"] = s }, fields.ToDictionary(f => f.Key, f => ClusterField.From(f.Value)));
    }

    private void Feed(ClusterItem item)
    {
        _content[item.Id] = item.Vectors["content"];
        CatalogKit.Put(_single, item.Id, item.Vectors["content"], item.Vectors["collab"], [.. item.Fields.Select(f => (f.Key, f.Value.ToFieldValue()))]);
    }

    private async Task Compare(ClusterCatalog cluster, Random rng, int count, string when)
    {
        var live = _content.Keys.Where(_single.Contains).ToList();
        for (int q = 0; q < count; q++)
        {
            int k = q % 2 == 0 ? 10 : 100;
            float[] c = q % 3 == 0 ? _content[live[rng.Next(live.Count)]] : CatalogKit.Unit(ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.ContentDim));
            float[] s = q % 3 == 1 ? ClusterCatalogTests.Gaussian(rng, ThreeSiloCluster.CollabDim) : [];
            ItemFilter[] filters = q % 4 == 2 ? [ItemFilter.Parse($"genre=g{rng.Next(4)}")] : [];
            var query = new ClusterQuery
            {
                Content = c, ContentWeight = 0.8f, Collab = s, CollabWeight = s.Length > 0 ? 0.3f : 0f, K = k, Filters = [.. filters.Select(ClusterFilter.From)],
            };
            var snapshot = _single.Snapshot();
            var expected = CatalogRanker.Rank(snapshot, new ShardFactors?[snapshot.Shards.Count], new ShardQuery
            {
                Content = c, ContentWeight = query.ContentWeight, Second = s, SecondWeight = query.CollabWeight, Filters = filters,
            }, new CatalogRanker.Diversity(0, default, null), k, 0, 1);
            var result = await cluster.SearchWithCoverageAsync(query);
            Assert.True(result.IsComplete, $"{when}, query {q}: coverage {result.Coverage}, missing [{string.Join("; ", result.Missing)}]");
            Assert.Equal(1.0, result.Coverage);
            var actual = result.Hits;
            Assert.True(expected.Length > 0, $"{when}, query {q}: nothing found");
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].Id, actual[i].Id);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[i].Score), BitConverter.SingleToInt32Bits(actual[i].Score));
            }
        }
        output.WriteLine($"{when}: {count} queries equal to the single node bit for bit");
    }
}
