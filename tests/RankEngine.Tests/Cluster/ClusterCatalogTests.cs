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

/// <summary>Three in-process silos holding eight shard grains, shared by the tests of <see cref="ClusterCatalogTests"/>.</summary>
public sealed class ThreeSiloCluster : ThreeSiloShardCluster<ThreeSiloCluster>, IShardClusterOptions
{
    public const int ShardCount = 8;
    public const int ContentDim = 64;
    public const int CollabDim = 16;

    public static ClusterCatalogOptions Options { get; } =
        new(ShardCount, [new ClusterVector("content", ContentDim), new ClusterVector("collab", CollabDim)]);
}

/// <summary>
/// The cluster ranks exactly as the single node: the same items written to shard grains over three silos and to a
/// one-shard single-node catalog give the same top k (ids, scores bit for bit, order), ties included, before and
/// after replacing and removing items.
/// </summary>
public sealed class ClusterCatalogTests(ThreeSiloCluster fixture, ITestOutputHelper output) : IClassFixture<ThreeSiloCluster>
{
    private const int Items = 3000;

    [Fact]
    public async Task Cluster_top_k_equals_the_single_node_bit_for_bit()
    {
        var watch = Stopwatch.StartNew();
        var rng = new Random(14);
        var cluster = new ClusterCatalog(fixture.Cluster.Client, ThreeSiloCluster.ShardCount);
        var single = new ShardedCatalog(ThreeSiloCluster.Options.Schema, 1);

        // Items; every 7th repeats an earlier item's vectors under another id, so scores tie exactly.
        var content = new Dictionary<string, float[]>();
        var collab = new Dictionary<string, float[]>();
        var ids = new List<string>();
        var writes = new List<ClusterItem>();
        for (int i = 0; i < Items; i++)
        {
            string id = $"item-{rng.Next(1_000_000):D6}-{i}";
            float[] c, s;
            if (i % 7 == 6)
            {
                string twin = ids[rng.Next(ids.Count)];
                (c, s) = (content[twin], collab[twin]);
            }
            else (c, s) = (CatalogKit.Unit(Gaussian(rng, ThreeSiloCluster.ContentDim)), Gaussian(rng, ThreeSiloCluster.CollabDim));
            content[id] = c;
            collab[id] = s;
            ids.Add(id);
            var fields = FieldsOf(rng, i);
            CatalogKit.Put(single, id, c, s, [.. fields.Select(f => (f.Key, f.Value))]);
            writes.Add(new ClusterItem(id, new() { ["content"] = c, ["collab"] = s }, fields.ToDictionary(f => f.Key, f => ClusterField.From(f.Value))));
        }
        await cluster.UpsertManyAsync(writes);
        Assert.Equal(Items, await cluster.CountAsync());
        Assert.Equal(single.Count, await cluster.CountAsync());
        var loaded = watch.Elapsed;
        Assert.Equal(3, fixture.Cluster.GetActiveSilos().Count());
        var hosts = await Task.WhenAll(Enumerable.Range(0, ThreeSiloCluster.ShardCount).Select(s => cluster.Shard(s).Silo()));
        output.WriteLine($"shard grains per silo: {string.Join(", ", hosts.GroupBy(h => h).Select(g => $"{g.Key}: {g.Count()}"))}");

        int queries = await CompareQueries(cluster, single, rng, ids, content, 20);

        // Replace 100 items (new vectors, some now twins of others) and remove 40; writes return once applied.
        for (int i = 0; i < 100; i++)
        {
            string id = ids[rng.Next(ids.Count)];
            var c = i % 3 == 0 ? content[ids[rng.Next(ids.Count)]] : CatalogKit.Unit(Gaussian(rng, ThreeSiloCluster.ContentDim));
            var s = Gaussian(rng, ThreeSiloCluster.CollabDim);
            content[id] = c;
            var fields = FieldsOf(rng, i);
            CatalogKit.Put(single, id, c, s, [.. fields.Select(f => (f.Key, f.Value))]);
            await cluster.UpsertAsync(new ClusterItem(id, new() { ["content"] = c, ["collab"] = s }, fields.ToDictionary(f => f.Key, f => ClusterField.From(f.Value))));
        }
        for (int i = 0; i < 40; i++)
        {
            string id = ids[rng.Next(ids.Count)];
            Assert.Equal(single.Remove(id), await cluster.RemoveAsync(id));
        }
        ids.RemoveAll(id => !single.Contains(id));
        Assert.Equal(single.Count, await cluster.CountAsync());
        queries += await CompareQueries(cluster, single, rng, ids, content, 8);

        output.WriteLine($"queries whose top k has exact score ties: {_tiedQueries}; ties across the k-th place: {_cutTies}");
        Assert.True(_tiedQueries > 0 && _cutTies > 0, "the items should tie, within a top k and at its cut");
        output.WriteLine($"cluster start {fixture.StartTime.TotalSeconds:F1} s; {Items} items loaded in {loaded.TotalSeconds:F1} s; {queries} queries equal; total {watch.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task A_write_to_the_wrong_shard_is_refused()
    {
        var cluster = new ClusterCatalog(fixture.Cluster.Client, ThreeSiloCluster.ShardCount);
        string id = "misplaced-item";
        int wrong = (cluster.ShardOf(id) + 1) % ThreeSiloCluster.ShardCount;
        var item = new ClusterItem(id, new() { ["content"] = CatalogKit.Unit(Gaussian(new Random(1), ThreeSiloCluster.ContentDim)) });
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.Shard(wrong).Upsert([item]));
    }

    private int _tiedQueries, _cutTies;

    private async Task<int> CompareQueries(ClusterCatalog cluster, ShardedCatalog single, Random rng, List<string> ids, Dictionary<string, float[]> content, int count)
    {
        for (int q = 0; q < count; q++)
        {
            int k = q % 2 == 0 ? 10 : 100;
            // Half the queries are an item's own vector (its twins tie with it); a third add the collab term.
            float[] c = q % 4 < 2 ? content[ids[rng.Next(ids.Count)]] : CatalogKit.Unit(Gaussian(rng, ThreeSiloCluster.ContentDim));
            float[] s = q % 3 == 0 ? Gaussian(rng, ThreeSiloCluster.CollabDim) : [];
            string[]? candidates = q == 5 ? [.. Enumerable.Range(0, 400).Select(_ => ids[rng.Next(ids.Count)]), "no-such-item"] : null;
            string[]? excluded = q == 7 ? [.. Enumerable.Range(0, 50).Select(_ => ids[rng.Next(ids.Count)])] : null;
            // Some queries filter (genre equality, a tag, a popularity range) and some boost by popularity.
            ItemFilter[] filters = (q % 5) switch
            {
                1 => [ItemFilter.Parse($"genre=g{rng.Next(4)}")],
                3 => [ItemFilter.Parse("pop>=0.25"), ItemFilter.Parse($"tags=t{rng.Next(6)}")],
                _ => [],
            };
            var boosts = q % 4 == 1 ? new[] { new KeyValuePair<string, float>("pop", 0.05f) } : [];
            var query = new ClusterQuery
            {
                Content = c, ContentWeight = 0.8f, Collab = s, CollabWeight = s.Length > 0 ? 0.3f : 0f, Candidates = candidates, Excluded = excluded, K = k,
                Filters = [.. filters.Select(ClusterFilter.From)], Boosts = [.. boosts.Select(b => new ClusterBoost(b.Key, b.Value))],
            };

            var snapshot = single.Snapshot();
            var expected = CatalogRanker.Rank(snapshot, new ShardFactors?[snapshot.Shards.Count], new ShardQuery
            {
                Content = c, ContentWeight = query.ContentWeight, Second = s, SecondWeight = query.CollabWeight, Candidates = candidates, Excluded = excluded,
                Filters = filters, Boosts = boosts,
            }, new CatalogRanker.Diversity(0, default, null), k, 0, 1);
            var actual = await cluster.SearchAsync(query);
            if (expected.Zip(expected.Skip(1)).Any(p => p.First.Score == p.Second.Score)) _tiedQueries++;
            if (expected.Length == k)
            {
                // A tie at the cut: an item left out scores exactly the k-th score (so the id decided who is in).
                var wider = CatalogRanker.Rank(snapshot, new ShardFactors?[snapshot.Shards.Count], new ShardQuery
                {
                    Content = c, ContentWeight = query.ContentWeight, Second = s, SecondWeight = query.CollabWeight, Candidates = candidates, Excluded = excluded,
                    Filters = filters, Boosts = boosts,
                }, new CatalogRanker.Diversity(0, default, null), k + 1, 0, 1);
                if (wider.Length > k && wider[k].Score == expected[k - 1].Score) _cutTies++;
            }

            Assert.Equal(expected.Length, actual.Length);
            Assert.True(expected.Length > 0, $"query {q}: nothing found");
            if (candidates is null && filters.Length == 0) Assert.Equal(k, expected.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].Id, actual[i].Id);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected[i].Score), BitConverter.SingleToInt32Bits(actual[i].Score));
            }
        }
        return count;
    }

    /// <summary>A genre (string), tags and a popularity (number, coarse so that boosted scores still tie); some items lack some.</summary>
    internal static Dictionary<string, FieldValue> FieldsOf(Random rng, int i)
    {
        var fields = new Dictionary<string, FieldValue> { ["genre"] = FieldValue.String($"g{rng.Next(4)}") };
        if (i % 3 != 0) fields["tags"] = FieldValue.Tags([.. Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => $"t{rng.Next(6)}").Distinct()]);
        if (i % 5 != 0) fields["pop"] = FieldValue.Num(rng.Next(5) / 4.0);
        return fields;
    }

    internal static float[] Gaussian(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return v;
    }
}
