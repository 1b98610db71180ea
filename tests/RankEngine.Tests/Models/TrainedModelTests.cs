using System.Numerics.Tensors;
using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Models;

/// <summary>Training from the store's events, the served user vector, model files, and swapping a refit in while RANKs run.</summary>
public sealed class TrainedModelTests : IDisposable
{
    private readonly TempDir _dir = new();
    private const int Dim = 8, Items = 80, Users = 60;

    private RankingEngine Open() => RankingEngine.Open(new RankingEngineOptions
    {
        DataDirectory = _dir.Path,
        ContentDimension = Dim,
        CheckpointInterval = null,
    });

    /// <summary>Four taste clusters of items; each user likes items of one cluster (and dislikes one of another).</summary>
    private static void Load(RankingEngine engine, int seed = 1)
    {
        var random = new Random(seed);
        var items = new List<ItemInput>();
        for (int i = 0; i < Items; i++)
        {
            var v = new float[Dim];
            v[i % 4] = 1;
            for (int j = 0; j < Dim; j++) v[j] += (float)(random.NextDouble() * 0.3);
            items.Add(new ItemInput($"i{i}") { ContentVector = v, Fields = new Dictionary<string, FieldValue> { ["popularity"] = FieldValue.Num(i % 7) } });
        }
        engine.AddItems(items);
        for (int u = 0; u < Users; u++)
        {
            int cluster = u % 4;
            var events = new List<UserEvent>();
            for (int n = 0; n < 12; n++)
            {
                int item = cluster + 4 * random.Next(Items / 4);
                events.Add(new UserEvent($"i{item}", UserEventKind.Like, 1, 1_000_000L * (n + 1)));
            }
            events.Add(new UserEvent($"i{(cluster + 1) % 4}", UserEventKind.Dislike, 1, 20_000_000));
            engine.RecordEvents($"u{u}", events);
        }
    }

    [Fact]
    public void TrainedModelRanksTheUsersClusterFirstAndServesItsScores()
    {
        using var engine = Open();
        Load(engine);
        var d = engine.Train();
        Assert.Equal(1, d.Version);
        Assert.True(d.Items > 0 && d.Rank > 0);
        var r = engine.Rank(new RankRequest { UserId = "u2", K = 5, ExcludeSeen = true });
        Assert.Equal(RankStrategy.Personalized, r.Strategy);
        // Every user of cluster 2 liked only items i ≡ 2 (mod 4): the model must put that cluster on top.
        Assert.All(r.Items, item => Assert.Equal(2, int.Parse(item.Id[1..]) % 4));

        // The collab part is the model's score, recomputed here from the model file: u = Σ x_j Input_j, score = u · Output_i.
        var model = ModelFiles.LoadCurrent(_dir.Path, out _)!;
        Assert.True(engine.TryGetUser("u2", out var user));
        var u = ExpectedUserVector(model, user!.Events);
        foreach (var item in r.Items)
        {
            var output = OutputOf(engine, model, item.Id);
            Assert.Equal(d.Defaults.CollabWeight * TensorPrimitives.Dot(u, output), item.Parts.Collab, 4);
        }
    }

    private static float[] OutputOf(RankingEngine engine, RankingModel model, string id)
    {
        var output = new float[model.Rank];
        Assert.True(engine.TryGetItem(id, out var item));
        model.TryOutputFor(id, item!.Vectors["content"], output);
        return output;
    }

    /// <summary>The batch form of the served user vector, written out independently: newest event per item, decayed by age.</summary>
    private static float[] ExpectedUserVector(RankingModel model, IReadOnlyList<UserEvent> events)
    {
        var w = model.Description.InputWeights;
        long newest = events.Max(e => e.TimestampMs);
        var u = new float[model.Rank];
        var row = new float[model.Rank];
        foreach (var group in events.GroupBy(e => e.ItemId))
        {
            var e = group.OrderBy(x => x.TimestampMs).Last();
            double x = w.For(e.Kind) * e.Weight;
            if (w.HalfLifeDays > 0) x *= Math.Pow(0.5, (newest - e.TimestampMs) / (w.HalfLifeDays * 86_400_000.0));
            if (x == 0 || !model.TryInputFor(e.ItemId, default, row)) continue;
            TensorPrimitives.MultiplyAdd(row, (float)x, u, u);
        }
        return u;
    }

    [Fact]
    public void OnlineUserVectorEqualsTheBatchFormAfterEveryEvent()
    {
        using var engine = Open();
        Load(engine);
        engine.Train();
        var model = ModelFiles.LoadCurrent(_dir.Path, out _)!;
        // A new user, event by event: the served vector after each event equals the batch formula over all events so far.
        var history = new List<UserEvent>();
        foreach (var (item, kind, t) in new[] { ("i1", UserEventKind.Like, 1L), ("i5", UserEventKind.Like, 5L), ("i2", UserEventKind.Dislike, 9L), ("i1", UserEventKind.Dislike, 12L) })
        {
            engine.RecordEvent("fresh", item, kind, timestamp: DateTimeOffset.FromUnixTimeSeconds(t * 86_400));
            history.Add(new UserEvent(item, kind, 1, t * 86_400_000));
            var served = new float[model.Rank];
            Assert.True(engine.TryGetUser("fresh", out var user));
            bool any = model.TryUserVector(user!.Events, _ => default, served);
            var expected = ExpectedUserVector(model, history);
            Assert.Equal(expected.Any(x => x != 0), any);
            for (int j = 0; j < model.Rank; j++) Assert.Equal(expected[j], served[j], 4);
        }
    }

    [Fact]
    public void ANewItemIsRankedFromItsContentAtOnce()
    {
        using var engine = Open();
        Load(engine);
        engine.Train();
        var v = new float[Dim];
        v[3] = 1; // looks like cluster 3
        engine.AddItems([new ItemInput("new") { ContentVector = v }]);
        var r = engine.Rank(new RankRequest { UserId = "u3", Candidates = ["new", "i0", "i3"], K = 3 });
        var byId = r.Items.ToDictionary(i => i.Id);
        Assert.True(byId["new"].Parts.Collab > byId["i0"].Parts.Collab); // predicted into cluster 3, above a cluster-0 item
        var other = engine.Rank(new RankRequest { UserId = "u0", Candidates = ["new", "i0"], K = 2 });
        Assert.Equal("i0", other.Items[0].Id);
    }

    [Fact]
    public void ModelFilesSurviveReopenAndATamperedNewestFallsBackToTheLastGoodOne()
    {
        using (var engine = Open())
        {
            Load(engine);
            engine.Train();
            engine.Train();
            Assert.Equal(2, engine.Model!.Version);
        }
        using (var engine = Open()) Assert.Equal(2, engine.Model!.Version);
        string newest = Path.Combine(_dir.Path, "models", "model-000002.bin");
        var bytes = File.ReadAllBytes(newest);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(newest, bytes);
        var loaded = ModelFiles.LoadCurrent(_dir.Path, out string? warning);
        Assert.Equal(1, loaded!.Description.Version);
        Assert.Contains("checksum", warning);
        // A crash between writing a model file and pointing CURRENT at it: the pointer still names the old file.
        File.WriteAllText(Path.Combine(_dir.Path, "models", "CURRENT"), "model-000009.bin\n");
        Assert.Equal(1, ModelFiles.LoadCurrent(_dir.Path, out _)!.Description.Version);
    }

    [Fact]
    public async Task RefitSwapsAtomicallyWhileRanksRun()
    {
        using var engine = Open();
        Load(engine);
        engine.Train();
        var models = new System.Collections.Concurrent.ConcurrentDictionary<long, RankingModel>();
        models[1] = ModelFiles.Read(Path.Combine(_dir.Path, "models", "model-000001.bin"));
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var responses = new System.Collections.Concurrent.ConcurrentQueue<RankResponse>();
        using var stop = new CancellationTokenSource();
        var rankers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { responses.Enqueue(engine.Rank(new RankRequest { UserId = "u1", K = 5, ExcludeSeen = true })); }
                catch (Exception e) { errors.Enqueue(e.Message); }
            }
        })).ToArray();
        for (int t = 0; t < 3; t++)
        {
            // New events between refits, so each model differs.
            engine.RecordEvent("u1", $"i{5 + 4 * t}", UserEventKind.Like, timestamp: DateTimeOffset.FromUnixTimeSeconds(30_000 + t));
            var d = engine.Train();
            models[d.Version] = ModelFiles.Read(Path.Combine(_dir.Path, "models", $"model-{d.Version:D6}.bin"));
        }
        stop.Cancel();
        await Task.WhenAll(rankers);
        Assert.Empty(errors);
        Assert.NotEmpty(responses);
        Assert.True(engine.TryGetUser("u1", out var user));
        // Every list's collab parts come from one model: recomputed with some version's factors, all items agree.
        foreach (var response in responses)
        {
            bool matchesOne = models.Values.Any(model =>
            {
                var events = user!.Events.Where(e => e.TimestampMs <= long.MaxValue).ToList();
                return Enumerable.Range(0, events.Count + 1).Any(n =>
                {
                    var u = ExpectedUserVector(model, events.Take(Math.Max(1, n)).ToList());
                    return response.Items.All(item =>
                    {
                        var output = OutputOf(engine, model, item.Id);
                        return Math.Abs(TensorPrimitives.Dot(u, output) - item.Parts.Collab) < 1e-3;
                    });
                });
            });
            Assert.True(matchesOne, "a ranking mixed two models' scores");
        }
    }

    [Fact]
    public void TrainingWithoutPositivesIsAClearError()
    {
        using var engine = Open();
        engine.AddItems([new ItemInput("a") { ContentVector = [1, 0, 0, 0, 0, 0, 0, 0] }]);
        engine.RecordEvent("u", "a", UserEventKind.Dislike);
        var e = Assert.Throws<InvalidOperationException>(() => engine.Train());
        Assert.Contains("nothing to learn", e.Message);
        Assert.Null(engine.Model);
    }

    [Fact]
    public void FewUsersOverManyItemsTrainAModelAsWideAsTheirInteractions()
    {
        // 5 users over 1,000 items: XᵀX has rank ≤ 5, far below the default rank. The sketch used to be wider than
        // that and the decomposition failed with NaN; now the model is as wide as the data allows.
        using var engine = Open();
        var random = new Random(2);
        engine.AddItems(Enumerable.Range(0, 1000).Select(i => new ItemInput($"m{i}")
        {
            ContentVector = Enumerable.Range(0, Dim).Select(_ => (float)random.NextDouble()).ToArray(),
        }).ToArray());
        for (int u = 0; u < 5; u++)
            for (int n = 0; n < 12; n++) engine.RecordEvent($"few{u}", $"m{(u * 37 + n * 11) % 200}", UserEventKind.Like);
        var d = engine.Train();
        Assert.InRange(d.Rank, 1, 5);
        var r = engine.Rank(new RankRequest { UserId = "few0", K = 10, ExcludeSeen = true });
        Assert.Equal(10, r.Items.Count);
        Assert.All(r.Items, i => Assert.True(float.IsFinite(i.Score)));
    }

    [Fact]
    public void ATinyStoreTrainsWithDefaultSettings()
    {
        using var engine = Open();
        engine.AddItems([
            new ItemInput("a") { ContentVector = [1, 0, 0, 0, 0, 0, 0, 0] },
            new ItemInput("b") { ContentVector = [0, 1, 0, 0, 0, 0, 0, 0] },
        ]);
        engine.RecordEvent("only", "a", UserEventKind.Like);
        var d = engine.Train();
        Assert.True(double.IsNaN(d.ValidationNdcg)); // too few users for a validation split
        Assert.Equal(1, d.Items);
        var r = engine.Rank(new RankRequest { UserId = "only", K = 5, ExcludeSeen = true });
        Assert.Equal(new[] { "b" }, r.Items.Select(i => i.Id).ToArray());
        Assert.All(r.Items, i => Assert.True(float.IsFinite(i.Score)));
    }

    [Fact]
    public void AViewOnlyStreamLearnsFromViews()
    {
        using var engine = Open();
        var items = Enumerable.Range(0, 20).Select(i =>
        {
            var v = new float[Dim];
            v[i % 2] = 1;
            v[2 + i % 5] = 0.5f;
            return new ItemInput($"v{i}") { ContentVector = v };
        }).ToArray();
        engine.AddItems(items);
        for (int u = 0; u < 30; u++)
            engine.RecordEvents($"w{u}", Enumerable.Range(0, 6).Select(n => new UserEvent($"v{(u % 2) + 2 * ((u + n) % 10)}", UserEventKind.View, 1, 1000L * (n + 1))).ToList());
        var d = engine.Train();
        Assert.True(d.InputWeights.ViewsArePositive);
        var r = engine.Rank(new RankRequest { UserId = "w1", K = 3, ExcludeSeen = true });
        Assert.Equal(RankStrategy.Personalized, r.Strategy);
        Assert.All(r.Items, i => Assert.Equal(1, int.Parse(i.Id[1..]) % 2)); // odd users viewed only odd items
    }

    public void Dispose() => _dir.Dispose();
}
