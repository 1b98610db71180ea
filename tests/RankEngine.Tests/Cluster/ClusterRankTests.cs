using Microsoft.Extensions.DependencyInjection;
using RankEngine.Cluster;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>Three silos with six durable shard grains (a fresh data root) and in-memory user grains, for the RANK tests.</summary>
public sealed class RankingCluster : ThreeSiloShardCluster<RankingCluster>, IShardClusterOptions
{
    public const int ContentDim = 16;
    public const int CollabDim = 4;

    /// <summary>
    /// The collection of every test class on this fixture. Each class gets its own cluster, but all of them deploy
    /// with <see cref="Options"/> (static: Orleans makes silo configurators by type), so they share its data root, and
    /// a shard directory can be open in one store at a time: two such clusters at once would wait on each other's
    /// directory locks (or delete each other's root on dispose). In one collection they run one after another.
    /// </summary>
    public const string Collection = nameof(RankingCluster);

    public static ClusterCatalogOptions Options { get; } =
        new(6, [new ClusterVector("content", ContentDim), new ClusterVector("collab", CollabDim)])
        {
            DataRoot = Path.Combine(Path.GetTempPath(), $"rankengine-cluster-rank-{Guid.NewGuid():N}"),
            StoreLogMemoryBytes = 16L << 20,
            StoreExpectedRecords = 1 << 12,
            StoreCheckpointInterval = null,
        };

    /// <summary>A front end on the primary silo, as <c>serve --cluster</c> runs one: the silo's own grain factory.</summary>
    internal ClusterRankingService FrontEnd() =>
        new(((Orleans.TestingHost.InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredService<IGrainFactory>(), Options);
}

[CollectionDefinition(RankingCluster.Collection)]
public sealed class RankingClusterCollection;

/// <summary>
/// RANK on the cluster is the single node's RANK: the same items and the same users' events, written through the
/// embedded engine (three catalog shards) and through a cluster front end (six shard grains on three silos, user
/// grains), give the same responses for every user and option: ids, scores and score parts bit for bit, order,
/// strategy, explanation, bucket, unknown candidates.
/// </summary>
[Collection(RankingCluster.Collection)]
public sealed class ClusterRankTests(RankingCluster fixture, ITestOutputHelper output) : IClassFixture<RankingCluster>
{
    [Fact]
    public void Cluster_RANK_equals_the_single_node_RANK_for_every_user_and_option()
    {
        using var dir = new TempDir();
        using var engine = ClusterRankData.SingleNode(dir.Path, 3);
        using var cluster = fixture.FrontEnd();
        var data = ClusterRankData.Make(new Random(1401), prefix: "eq");
        data.WriteTo(engine, cluster);

        int compared = 0;
        foreach (var request in data.Requests())
        {
            var expected = engine.Rank(request);
            var got = cluster.Rank(request);
            AssertSameResponse(expected, got, request);
            Assert.True(got.Coverage.IsComplete);
            compared++;
        }
        // SCORE too (candidates only, no cut, no diversity).
        foreach (var user in data.UserIds.Take(5))
        {
            var ids = data.ItemIds.Take(30).Append("no-such-item").ToArray();
            AssertSameResponse(engine.Score(user, ids), cluster.Score(user, ids), new RankRequest { UserId = user });
            compared++;
        }
        output.WriteLine($"{compared} responses equal; {data.ItemIds.Count} items, {data.UserIds.Count} users, {data.Events} events");
        Assert.True(compared > 200);
        // The users read back equal the single node's: same kept events, same profile vectors bit for bit.
        foreach (var user in data.UserIds)
        {
            Assert.True(engine.TryGetUser(user, out var a));
            Assert.True(((IRankingService)cluster).TryGetUser(user, out var b));
            Assert.Equal(a!.Events, b!.Events);
            Assert.Equal(a.Bucket, b.Bucket);
            Assert.Equal(a.Vectors.Keys.Order(), b.Vectors.Keys.Order());
            foreach (var (name, v) in a.Vectors) Assert.Equal(v, b.Vectors[name]);
        }
    }

    internal static void AssertSameResponse(RankResponse expected, RankResponse got, RankRequest request)
    {
        string what = $"user {request.UserId ?? "(none)"} K {request.K} diversity {request.Diversity} exclude {request.ExcludeSeen} " +
                      $"filters {request.Filters.Count} candidates {request.Candidates?.Count}";
        Assert.True(expected.Items.Count == got.Items.Count, $"{what}: {expected.Items.Count} items on one node, {got.Items.Count} on the cluster");
        for (int i = 0; i < expected.Items.Count; i++)
        {
            var (e, g) = (expected.Items[i], got.Items[i]);
            Assert.True(e.Id == g.Id, $"{what}: item {i} is {e.Id} on one node, {g.Id} on the cluster");
            Assert.True(BitConverter.SingleToInt32Bits(e.Score) == BitConverter.SingleToInt32Bits(g.Score), $"{what}: {e.Id} scores {e.Score:R} vs {g.Score:R}");
            Assert.Equal(BitConverter.SingleToInt32Bits(e.Parts.Content), BitConverter.SingleToInt32Bits(g.Parts.Content));
            Assert.Equal(BitConverter.SingleToInt32Bits(e.Parts.Collab), BitConverter.SingleToInt32Bits(g.Parts.Collab));
            Assert.Equal(e.Parts.Boosts, g.Parts.Boosts);
        }
        Assert.Equal(expected.Strategy, got.Strategy);
        Assert.Equal(expected.Explanation, got.Explanation);
        Assert.Equal(expected.Bucket, got.Bucket);
        Assert.Equal(expected.UnknownCandidates, got.UnknownCandidates);
    }
}

/// <summary>
/// A catalog and users for comparing a cluster with a single node: random items with fields (ties included: some
/// items repeat another's vectors), users with mixed events over time, items removed after the events, and requests
/// covering every RANK option.
/// </summary>
internal sealed class ClusterRankData
{
    public List<ItemInput> Items { get; } = [];
    public List<string> ItemIds { get; } = [];
    public List<string> UserIds { get; } = [];
    public List<(string User, string Item, UserEventKind Kind, float Weight, DateTimeOffset At)> EventList { get; } = [];
    public List<string> Removed { get; } = [];
    public int Events => EventList.Count;
    private readonly Random _rng;
    private readonly string[] _genres = ["drama", "comedy", "horror", "sf", "doc"];

    private ClusterRankData(Random rng) => _rng = rng;

    /// <summary>The single node these tests compare a cluster with: vectors only, the test schema's widths.</summary>
    public static RankingEngine SingleNode(string directory, int shards = 1) => RankingEngine.Open(new RankingEngineOptions
    {
        DataDirectory = directory,
        ContentDimension = RankingCluster.ContentDim,
        CollabDimension = RankingCluster.CollabDim,
        CatalogShards = shards,
        CheckpointInterval = null,
    });

    public static ClusterRankData Make(Random rng, string prefix, int items = 600, int users = 30)
    {
        var data = new ClusterRankData(rng);
        for (int i = 0; i < items; i++)
        {
            string id = $"{prefix}-item-{rng.Next(100_000):D5}-{i}";
            float[] content, collab;
            if (i % 9 == 8)
            {
                var twin = data.Items[rng.Next(data.Items.Count)];
                (content, collab) = (twin.ContentVector!, twin.CollabVector!);
            }
            else (content, collab) = (Gaussian(rng, RankingCluster.ContentDim), Gaussian(rng, RankingCluster.CollabDim));
            var fields = new Dictionary<string, FieldValue>
            {
                ["genre"] = FieldValue.String(data._genres[rng.Next(data._genres.Length)]),
                ["tags"] = FieldValue.Tags(data._genres.Where(_ => rng.NextDouble() < 0.3).ToArray()),
            };
            if (i % 5 != 0) fields["popularity"] = FieldValue.Num(Math.Round(rng.NextDouble() * 100, 2));
            if (i % 3 == 0) fields["year"] = FieldValue.Num(1950 + rng.Next(75));
            data.Items.Add(new ItemInput(id) { ContentVector = content, CollabVector = collab, Fields = fields });
            data.ItemIds.Add(id);
        }
        var kinds = Enum.GetValues<UserEventKind>();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int u = 0; u < users; u++)
        {
            string user = $"{prefix}-user-{u}";
            data.UserIds.Add(user);
            int n = u == 0 ? 1 : 2 + rng.Next(24);
            for (int e = 0; e < n; e++)
            {
                var kind = u == 1 ? UserEventKind.Dislike : kinds[rng.Next(kinds.Length)];
                data.EventList.Add((user, data.ItemIds[rng.Next(data.ItemIds.Count)], kind, (float)Math.Round(0.5 + rng.NextDouble() * 2, 2),
                    start.AddMinutes(rng.Next(500_000))));
            }
        }
        for (int i = 0; i < 15; i++) data.Removed.Add(data.EventList[rng.Next(data.EventList.Count)].Item);
        return data;
    }

    /// <summary>The same writes, in the same order, to both deployments.</summary>
    public void WriteTo(IRankingService a, IRankingService b)
    {
        foreach (var target in new[] { a, b }) target.AddItems(Items);
        foreach (var (user, item, kind, weight, at) in EventList)
            foreach (var target in new[] { a, b }) target.RecordEvent(user, item, kind, weight, at);
        foreach (var id in Removed.Distinct())
            foreach (var target in new[] { a, b }) target.DeleteItem(id);
    }

    public IEnumerable<RankRequest> Requests()
    {
        var who = UserIds.Cast<string?>().Append("ghost-user").Append(null).ToList();
        foreach (var user in who)
        {
            yield return new RankRequest { UserId = user, K = 10 };
            yield return new RankRequest { UserId = user, K = 40, ExcludeSeen = true };
            yield return new RankRequest { UserId = user, K = 10, Diversity = 0.5f };
            yield return new RankRequest { UserId = user, K = 7, Filters = [new EqualsFilter("genre", _genres[_rng.Next(_genres.Length)])] };
            yield return new RankRequest { UserId = user, K = 12, Filters = [new RangeFilter("popularity", 20, 70, true, false)], Diversity = 0.3f };
            yield return new RankRequest { UserId = user, K = 10, Boosts = new Dictionary<string, float> { ["year"] = 0.001f, ["popularity"] = -0.002f } };
            yield return new RankRequest { UserId = user, K = 10, ContentWeight = 0.4f, CollabWeight = 0.6f, ExcludeSeen = true };
            var candidates = Enumerable.Range(0, 14).Select(_ => ItemIds[_rng.Next(ItemIds.Count)]).Append("not-an-item").Append(Removed[0]).ToList();
            yield return new RankRequest { UserId = user, K = 8, Candidates = candidates };
        }
    }

    private static float[] Gaussian(Random rng, int d)
    {
        var v = new float[d];
        for (int i = 0; i < d; i++) v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return v;
    }
}
