using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Engine;

/// <summary>The embedded API end to end on a temporary data directory, with hand-made 3-d item vectors.</summary>
public sealed class RankingEngineTests : IDisposable
{
    private readonly TempDir _dir = new();

    private RankingEngine Open(IReadOnlyList<Bucket>? buckets = null) => RankingEngine.Open(new RankingEngineOptions
    {
        DataDirectory = _dir.Path,
        ContentDimension = 3,
        CollabDimension = 2,
        Buckets = buckets,
        CheckpointInterval = null,
    });

    private static ItemInput Item(string id, float[] v, double popularity, string genre, float[]? collab = null) => new(id)
    {
        ContentVector = v,
        CollabVector = collab,
        Fields = new Dictionary<string, FieldValue> { ["popularity"] = FieldValue.Num(popularity), ["genre"] = FieldValue.String(genre) },
    };

    private static void AddCatalog(RankingEngine e) => e.AddItems(new[]
    {
        Item("x1", new[] { 1f, 0f, 0f }, 5, "drama", new[] { 1f, 0f }),
        Item("x2", new[] { 0.9f, 0.1f, 0f }, 50, "drama", new[] { 1f, 0f }),
        Item("y1", new[] { 0f, 1f, 0f }, 20, "comedy", new[] { 0f, 1f }),
        Item("y2", new[] { 0.1f, 0.9f, 0f }, 1, "comedy", new[] { 0f, 1f }),
        Item("z", new[] { 0f, 0f, 1f }, 100, "horror"),
    });

    private static string[] Ids(RankResponse r) => r.Items.Select(i => i.Id).ToArray();

    [Fact]
    public void ColdStartRanksByPopularityAndSaysSo()
    {
        using var e = Open();
        AddCatalog(e);
        var r = e.Rank(new RankRequest { UserId = "nobody", K = 3 });
        Assert.Equal(RankStrategy.Popularity, r.Strategy);
        Assert.Contains("unknown user 'nobody'", r.Explanation);
        Assert.Equal(new[] { "z", "x2", "y1" }, Ids(r));
    }

    [Fact]
    public void FeedbackChangesTheVeryNextRanking()
    {
        using var e = Open();
        AddCatalog(e);
        var t0 = DateTimeOffset.FromUnixTimeSeconds(1_000_000);
        e.RecordEvent("u", "x1", UserEventKind.Like, timestamp: t0);
        var first = e.Rank(new RankRequest { UserId = "u", K = 2, ExcludeSeen = true });
        Assert.Equal(RankStrategy.Personalized, first.Strategy);
        Assert.Equal("x2", first.Items[0].Id); // closest to x1 in both content and collab space

        // A strong, recent like of y1 and a dislike of x2 move the profile to the comedy side.
        e.RecordEvent("u", "y1", UserEventKind.Purchase, timestamp: t0.AddDays(1));
        e.RecordEvent("u", "x2", UserEventKind.Dislike, timestamp: t0.AddDays(1));
        var second = e.Rank(new RankRequest { UserId = "u", K = 2, ExcludeSeen = true });
        Assert.Equal("y2", second.Items[0].Id);
        Assert.DoesNotContain("x2", Ids(second));

        // The stored user vector is the hand-computable pooled profile: 2·x1·2^(−1/30) + 3·y1 − 2·x2 (unit x-vectors normalised).
        Assert.True(e.TryGetUser("u", out var user));
        var expected = new double[3];
        double decay = Math.Pow(2, -1.0 / 30);
        double nx2 = Math.Sqrt(0.81 + 0.01);
        expected[0] = 2 * decay - 2 * 0.9 / nx2;
        expected[1] = 3 - 2 * 0.1 / nx2;
        double norm = Math.Sqrt(expected[0] * expected[0] + expected[1] * expected[1]);
        Assert.Equal(expected[0] / norm, user!.Vectors["content"][0], 4);
        Assert.Equal(expected[1] / norm, user.Vectors["content"][1], 4);
    }

    [Fact]
    public void ScorePartsFiltersCandidatesAndUnknownIds()
    {
        using var e = Open();
        AddCatalog(e);
        e.RecordEvent("u", "x1", UserEventKind.Click);
        var r = e.Rank(new RankRequest
        {
            UserId = "u", K = 5, Candidates = new[] { "y1", "x2", "nope", "z" },
            Filters = new[] { ItemFilter.Parse("genre=drama") },
            Boosts = new Dictionary<string, float> { ["popularity"] = 0.01f },
        });
        Assert.Equal(new[] { "x2" }, Ids(r));
        Assert.Equal(new[] { "nope" }, r.UnknownCandidates);
        var parts = r.Items[0].Parts;
        // u = x1 = (1,0,0) content and (1,0) collab: content 0.9/|x2| , collab 1, boost 0.5.
        Assert.Equal(0.9f / MathF.Sqrt(0.82f), parts.Content, 4);
        Assert.Equal(1f, parts.Collab, 4);
        Assert.Equal(0.5f, parts.BoostTotal, 4);
        Assert.Equal(r.Items[0].Score, parts.Content + parts.Collab + parts.BoostTotal, 4);
    }

    [Fact]
    public void BadRequestsAreClearErrors()
    {
        using var e = Open();
        AddCatalog(e);
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Rank(new RankRequest { K = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Rank(new RankRequest { K = 4097 }));
        Assert.Contains("finite", Assert.Throws<ArgumentException>(() => e.Rank(new RankRequest { UserId = "u", ContentWeight = float.NaN })).Message);
        Assert.Contains("unknown item", Assert.Throws<ArgumentException>(() => e.RecordEvent("u", "missing", UserEventKind.Like)).Message);
        Assert.Throws<ArgumentException>(() => e.RecordEvent("u", "x1", UserEventKind.Like, weight: float.NaN));
        Assert.Contains("dimensions", Assert.Throws<ArgumentException>(() => e.AddItems(new[] { Item("bad", new[] { 1f, 2f }, 0, "x") })).Message);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => e.AddItems(new[] { Item("bad", new[] { 1f, float.NaN, 0f }, 0, "x") })).Message);
        Assert.Throws<InvalidOperationException>(() => e.Encode(new[] { "text needs a model" }));
        Assert.Equal(5, e.ItemCount);
    }

    [Fact]
    public void EverythingSurvivesReopen()
    {
        using (var e = Open())
        {
            AddCatalog(e);
            e.RecordEvent("u", "y1", UserEventKind.Like);
            Assert.True(e.DeleteItem("z"));
        }
        using (var e = Open())
        {
            Assert.Equal(4, e.ItemCount);
            var r = e.Rank(new RankRequest { UserId = "u", K = 10 });
            Assert.Equal(RankStrategy.Personalized, r.Strategy);
            Assert.Equal("y1", r.Items[0].Id);
            Assert.DoesNotContain("z", Ids(r));
            var filtered = e.Rank(new RankRequest { K = 10, Filters = new[] { ItemFilter.Parse("genre=comedy") } });
            Assert.Equal(new[] { "y1", "y2" }, Ids(filtered)); // fields were reloaded from the store
        }
    }

    [Fact]
    public void BucketsHaveTheirOwnParametersAndCounters()
    {
        var buckets = new[]
        {
            new Bucket("relevance", RankingParameters.Default),
            new Bucket("diverse", new RankingParameters { Diversity = 0.9f }),
        };
        using var e = Open(buckets);
        AddCatalog(e);
        // Find one user per bucket.
        string[] users = Enumerable.Range(0, 100).Select(i => "user" + i).ToArray();
        string a = users.First(u => e.Experiment.BucketOf(u) == 0), b = users.First(u => e.Experiment.BucketOf(u) == 1);
        foreach (var u in new[] { a, b }) e.RecordEvent(u, "x1", UserEventKind.Like);
        var ra = e.Rank(new RankRequest { UserId = a, K = 2, ExcludeSeen = true });
        var rb = e.Rank(new RankRequest { UserId = b, K = 2, ExcludeSeen = true });
        Assert.Equal("relevance", ra.Bucket);
        Assert.Equal("diverse", rb.Bucket);
        // Relevance: x2 (near x1), then y2 (content 0.1/|y2| > 0 for y1 and z).
        Assert.Equal(new[] { "x2", "y2" }, Ids(ra));
        Assert.NotEqual(Ids(ra), Ids(rb)); // λ = 0.9 swaps the near-duplicate for a diverse item
        var stats = e.Experiment.Stats();
        Assert.Equal(2, stats[0].Impressions);
        Assert.Equal(1, stats[0].Clicks);
        Assert.Equal(0.5, stats[0].Ctr, 9);
    }


    [Fact]
    public void BackendScoringFollowsInsertsUpdatesAndDeletes()
    {
        using var e = Open();
        var rng = new Random(3);
        float[] Vec() => new[] { (float)rng.NextDouble() - 0.5f, (float)rng.NextDouble() - 0.5f, (float)rng.NextDouble() - 0.5f };
        e.AddItems(Enumerable.Range(0, 40).Select(i => Item("i" + i, Vec(), 0, "g")).ToArray());
        e.RecordEvent("u", "i0", UserEventKind.Like);
        e.Rank(new RankRequest { UserId = "u", K = 5 }); // first sync: full upload to the backend
        // Incremental changes: appends, overwrites (including the liked item), a delete.
        e.AddItems(Enumerable.Range(40, 7).Select(i => Item("i" + i, Vec(), 0, "g")).ToArray());
        e.AddItems(new[] { Item("i3", Vec(), 0, "g"), Item("i0", new[] { 0f, 0f, 1f }, 0, "g") });
        Assert.True(e.DeleteItem("i5"));
        e.RecordEvent("u", "i1", UserEventKind.View); // rebuilds the profile from the current item vectors

        var r = e.Rank(new RankRequest { UserId = "u", K = 50, CollabWeight = 0 });
        Assert.True(e.TryGetUser("u", out var user));
        var u = user!.Vectors["content"];
        // Brute force over the store's current vectors.
        var expected = Enumerable.Range(0, 47).Select(i => "i" + i).Where(id => id != "i5")
            .Select(id => { e.TryGetItem(id, out var item); return (id, score: System.Numerics.Tensors.TensorPrimitives.Dot(u, item!.Vectors["content"])); })
            .OrderByDescending(x => x.score).ThenBy(x => x.id, StringComparer.Ordinal).ToArray();
        Assert.Equal(expected.Select(x => x.id), Ids(r));
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i].score, r.Items[i].Parts.Content, 5);
    }

    [Fact]
    public async Task ConcurrentRankingsEventsAndWritesNeitherFailNorDeadlock()
    {
        using var e = Open();
        AddCatalog(e);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        int ranks = 0, events = 0, writes = 0;
        void Loop(Action body)
        {
            try { while (!stop.IsCancellationRequested) body(); }
            catch (Exception ex) { errors.Enqueue(ex); }
        }
        var rng = new ThreadLocal<Random>(() => new Random(Environment.CurrentManagedThreadId));
        var tasks = new[]
        {
            Task.Run(() => Loop(() => { e.Rank(new RankRequest { UserId = "u" + rng.Value!.Next(5), K = 3, ExcludeSeen = true }); Interlocked.Increment(ref ranks); })),
            Task.Run(() => Loop(() => { e.Rank(new RankRequest { K = 2, Diversity = 0.5f, Filters = new[] { ItemFilter.Parse("genre=drama") } }); Interlocked.Increment(ref ranks); })),
            Task.Run(() => Loop(() => { e.RecordEvent("u" + rng.Value!.Next(5), new[] { "x1", "x2", "y1", "y2", "z" }[rng.Value.Next(5)], UserEventKind.Click); Interlocked.Increment(ref events); })),
            Task.Run(() => Loop(() =>
            {
                int n = Interlocked.Increment(ref writes);
                e.AddItems(new[] { Item("w" + (n % 20), new[] { 1f, n % 7, 0.5f }, n, "drama") });
                if (n % 5 == 0) e.DeleteItem("w" + ((n + 10) % 20));
            })),
        };
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60)); // TimeoutException: a worker is stuck (deadlock?)
        Assert.Empty(errors);
        Assert.True(ranks > 0 && events > 0 && writes > 0, $"ranks {ranks}, events {events}, writes {writes}");
        // After the dust settles the backend copy and the store agree: a fresh ranking sees every live item once.
        var all = e.Rank(new RankRequest { K = 100 });
        Assert.Equal(e.ItemCount, all.Items.Count);
        Assert.Equal(all.Items.Count, all.Items.Select(i => i.Id).Distinct().Count());
    }

    [Fact]
    public void ExperimentJsonInTheDataDirectoryIsUsedAndBadConfigsAreClearErrors()
    {
        Directory.CreateDirectory(_dir.Path);
        ExperimentConfig.SaveTo(_dir.Path, """
            { "name": "exp", "buckets": [ { "name": "a" }, { "name": "b", "diversity": 0.5, "boosts": { "popularity": 0.1 } } ] }
            """);
        using (var e = Open())
        {
            Assert.Equal("exp", e.Experiment.Name);
            Assert.Equal(new[] { "a", "b" }, e.Experiment.Buckets.Select(b => b.Name));
            Assert.Equal(0.1f, e.Experiment.Buckets[1].Parameters.Boosts["popularity"]);
            AddCatalog(e);
            string user = Enumerable.Range(0, 100).Select(i => "p" + i).First(u => e.Experiment.BucketOf(u) == 1);
            e.RecordEvent(user, "x1", UserEventKind.Like); // bucket 1 must be storable (the store knows 2 buckets)
            Assert.True(e.TryGetUser(user, out var stored));
            Assert.Equal(1, stored!.Bucket);
            Assert.Equal("b", e.Rank(new RankRequest { UserId = user, K = 2 }).Bucket);
        }
        Assert.Contains("bucket 'a' appears twice", Assert.Throws<ArgumentException>(() =>
            ExperimentConfig.SaveTo(_dir.Path, """{ "name": "x", "buckets": [ { "name": "a" }, { "name": "a" } ] }""")).Message);
        Assert.Contains("λ", Assert.Throws<ArgumentException>(() =>
            ExperimentConfig.SaveTo(_dir.Path, """{ "name": "x", "buckets": [ { "name": "a", "diversity": 2 } ] }""")).Message);
        Assert.Contains("malformed", Assert.Throws<ArgumentException>(() => ExperimentConfig.SaveTo(_dir.Path, "{ nope")).Message);
        Assert.Equal("exp", ExperimentConfig.LoadFrom(_dir.Path)!.Name); // rejected configs never replace the stored one
    }

    public void Dispose() => _dir.Dispose();
}
