using System.Diagnostics;
using System.Globalization;
using System.Text;
using RankEngine.Cli.Commands;
using RankEngine.Compute.Simd;
using RankEngine.Data;
using RankEngine.Encoders;
using RankEngine.Evaluation;
using RankEngine.Ranking;
using RankEngine.Tests.Support;
using Xunit;
using RankEngine.Store;

namespace RankEngine.Tests.Evaluation;

/// <summary>End-to-end smoke tests of the evaluation (small data, seconds): library, item-vector cache and CLI.</summary>
public sealed class OfflineEvaluatorTests : IClassFixture<TinyBertFixture>
{
    private readonly TinyBertFixture _fx;
    public OfflineEvaluatorTests(TinyBertFixture fx) => _fx = fx;

    /// <summary>
    /// Two taste groups: users 0–14 like items 0–19, users 15–29 like items 20–39 (12 random own-group likes each,
    /// in time order) and dislike 3 items of the other group. Content vectors point along axis 0 (group A) or axis 1
    /// (group B) with small noise, so content, collab and item-kNN can all find the held-out own-group items.
    /// The dislikes come first, so they are all training data.
    /// </summary>
    private static (InteractionData Data, float[] Vectors) TwoGroups()
    {
        var rng = new Random(5);
        const int dim = 8;
        var items = new List<CatalogItem>();
        var vectors = new float[40 * dim];
        for (int i = 0; i < 40; i++)
        {
            items.Add(new CatalogItem($"i{i}", $"item {i}", ItemFields.Empty));
            vectors[i * dim + (i < 20 ? 0 : 1)] = 1f;
            for (int d = 2; d < dim; d++) vectors[i * dim + d] = (float)(rng.NextDouble() - 0.5) * 0.3f;
        }
        var events = new List<InteractionEvent>();
        for (int u = 0; u < 30; u++)
        {
            int own = u < 15 ? 0 : 20, other = 20 - own;
            long t = 1_000_000;
            foreach (int i in Enumerable.Range(own, 20).OrderBy(_ => rng.Next()).Take(12))
                events.Add(new InteractionEvent($"u{u}", $"i{i}", UserEventKind.Like, 1f, 5f, t += 3600));
            foreach (int i in Enumerable.Range(other, 20).OrderBy(_ => rng.Next()).Take(3))
                events.Add(new InteractionEvent($"u{u}", $"i{i}", UserEventKind.Dislike, 1f, 1f, 1_000_000 - 100 * i)); // before the likes
        }
        return (new InteractionData(items, events, "two groups"), vectors);
    }

    [Fact]
    public void TwoTasteGroupsAreFoundByEveryPersonalisedMethod()
    {
        var (data, vectors) = TwoGroups();
        var sw = Stopwatch.StartNew();
        var report = OfflineEvaluator.Run(data, vectors, 8, new EvaluationOptions { Diversity = 0.5f, Threads = 2 });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");

        Assert.Equal(EvaluationMethods.All, report.Methods.Select(m => m.Method));
        Assert.Equal(30, report.TestUsers);
        Assert.Equal(60, report.HeldOutItems);         // 12 likes each → round(2.4) = 2 held out
        Assert.Equal(30 * 13, report.TrainEvents);      // 10 likes + 3 earlier dislikes
        Assert.Equal(0.5f, report.Diversity);
        Assert.False(report.DiversityTuned);
        foreach (var m in report.Methods)
        {
            Assert.Equal(30, m.Users);
            foreach (double v in new[] { m.HitRate, m.Ndcg, m.Recall, m.Diversity, m.Coverage }) Assert.InRange(v, 0, 1);
        }
        // Each user has 8 unseen own-group items and 17 unseen others: a method that knows the group puts (nearly)
        // all 8, the 2 held-out ones included, in its top 10; popularity cannot tell the groups apart.
        var popularity = report[EvaluationMethods.Popularity];
        Assert.True(popularity.Recall < 0.5, $"popularity: recall {popularity.Recall}");
        foreach (var name in new[] { EvaluationMethods.ItemKnn, EvaluationMethods.Content, EvaluationMethods.Collab, EvaluationMethods.Hybrid, EvaluationMethods.HybridMmr })
        {
            var m = report[name];
            Assert.True(m.HitRate == 1.0 && m.Recall >= 0.8 && m.Ndcg > popularity.Ndcg + 0.2, $"{name}: HR {m.HitRate}, recall {m.Recall}, NDCG {m.Ndcg}");
        }
        Assert.Equal(1.0, report[EvaluationMethods.ItemKnn].Recall);
        Assert.Equal(1.0, report[EvaluationMethods.Content].Recall);
        // Validation measured the baselines and every grid point (ALS 4, content weight 8, popularity boost 6 minus the
        // b = 0 point the content search already measured), and the hybrid settings came from the grids.
        Assert.Equal(3 + 4 + 8 + 5, report.Tuning.Count);
        Assert.Contains(report.ContentWeight, new EvaluationOptions().ContentWeightGrid);
        Assert.Contains(report.PopularityBoost, new EvaluationOptions().PopularityBoostGrid);

        // Deterministic: the same inputs give the same report.
        var again = OfflineEvaluator.Run(data, vectors, 8, new EvaluationOptions { Diversity = 0.5f, Threads = 1 });
        Assert.Equal(report.Methods, again.Methods);
    }

    [Fact]
    public void DiversityIsChosenOnValidationWhenNotGiven()
    {
        var (data, vectors) = TwoGroups();
        var options = new EvaluationOptions { Threads = 2 };
        var report = OfflineEvaluator.Run(data, vectors, 8, options);
        Assert.True(report.DiversityTuned);
        var mmrSteps = report.Tuning.Where(t => t.What == "hybrid+MMR").ToList();
        Assert.Equal(options.DiversityGrid.Count, mmrSteps.Count);
        var hybrid = report.Tuning.Where(t => t.What == "hybrid").MaxBy(t => t.Ndcg)!;
        if (report.Diversity > 0)
        {
            // The chosen λ is within the NDCG budget and the most diverse of those that are.
            var chosen = mmrSteps.Single(t => t.Setting == string.Create(CultureInfo.InvariantCulture, $"λ {report.Diversity:0.##}"));
            Assert.True(chosen.Ndcg >= 0.95 * hybrid.Ndcg);
            Assert.All(mmrSteps.Where(t => t.Ndcg >= 0.95 * hybrid.Ndcg), t => Assert.True(t.IntraListDiversity <= chosen.IntraListDiversity));
        }
        else
            Assert.All(mmrSteps, t => Assert.True(t.Ndcg < 0.95 * hybrid.Ndcg || t.IntraListDiversity <= hybrid.IntraListDiversity));
    }

    [Fact]
    public void BadInputIsAClearError()
    {
        var (data, vectors) = TwoGroups();
        Assert.Contains("expected 40 items × 7", Assert.Throws<ArgumentException>(() => OfflineEvaluator.Run(data, vectors, 7)).Message);
        var fewEvents = new InteractionData(data.Items, data.Events.Take(4).ToArray(), "few");
        Assert.Contains("nothing to evaluate", Assert.Throws<ArgumentException>(() => OfflineEvaluator.Run(fewEvents, vectors, 8)).Message);
        var unknown = new InteractionData(data.Items, new[] { new InteractionEvent("u", "nope", UserEventKind.Like, 1, null, 0) }, "unknown");
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => OfflineEvaluator.Run(unknown, vectors, 8)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => OfflineEvaluator.Run(data, vectors, 8, new EvaluationOptions { Diversity = 1.5f }));
    }

    [Fact]
    public void ItemVectorsAreCachedByModelAndTexts()
    {
        using var tmp = Fixtures.TempDir();
        using var backend = new SimdCpuBackend();
        using var encoder = TextEncoder.Open(_fx.ModelPath, backend);
        string[] texts = { "Toy Story (1995). Genres: Animation", "Heat (1995). Genres: Crime", "Up" };
        string cache = tmp.File("cache");
        var first = ItemVectorCache.EncodeAll(encoder, _fx.ModelPath, texts, cache, out bool hit1, batchSize: 2);
        Assert.False(hit1);
        Assert.Single(Directory.GetFiles(cache));
        var direct = encoder.Encode(texts);
        Assert.Equal(direct.Vectors, first); // batches of 2 equal one batch of 3
        var second = ItemVectorCache.EncodeAll(encoder, _fx.ModelPath, texts, cache, out bool hit2);
        Assert.True(hit2);
        Assert.Equal(first, second);

        // Other texts miss; a corrupted cache file is ignored and rewritten.
        string file = Directory.GetFiles(cache).Single();
        ItemVectorCache.EncodeAll(encoder, _fx.ModelPath, new[] { "Up", "Heat (1995). Genres: Crime" }, cache, out bool hit3);
        Assert.False(hit3);
        Assert.Equal(2, Directory.GetFiles(cache).Length);
        File.WriteAllBytes(file, new byte[new FileInfo(file).Length]);
        var third = ItemVectorCache.EncodeAll(encoder, _fx.ModelPath, texts, cache, out bool hit4);
        Assert.False(hit4);
        Assert.Equal(first, third);
        ItemVectorCache.EncodeAll(encoder, _fx.ModelPath, texts, cache, out bool hit5);
        Assert.True(hit5);

        // A different model file (same encoder object, different bytes on disk) misses.
        string otherModel = tmp.File("other.rem");
        File.Copy(_fx.ModelPath, otherModel);
        File.AppendAllText(otherModel, "x");
        ItemVectorCache.EncodeAll(encoder, otherModel, texts, cache, out bool hit6);
        Assert.False(hit6);
    }

    /// <summary>
    /// The CLI on a real slice of ml-latest-small (the first 40 users' ratings of the 300 most-rated movies), with
    /// the tiny BERT fixture as encoder: the table has the required header and rows; the rerun reads the cache.
    /// </summary>
    [Fact]
    public void EvalCommandPrintsTheTableAndReusesTheCache()
    {
        using var tmp = Fixtures.TempDir();
        string dir = tmp.File("ml-slice");
        WriteSlice(dir, users: 40, movies: 300);
        var args = new EvalCommand.Arguments { Data = dir, Model = _fx.ModelPath, CacheDirectory = tmp.File("cache"), Threads = 2 };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, EvalCommand.Execute(args, stdout, stderr));
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + 6, lines.Length);
        var header = lines[0].Split('|', StringSplitOptions.TrimEntries);
        Assert.Contains("NDCG@10", header);
        Assert.Contains("HR@10", header);
        Assert.Contains("Recall@10", header);
        Assert.Equal(EvaluationMethods.All, lines.Skip(2).Select(l => l.Split('|', StringSplitOptions.TrimEntries)[1]));
        Assert.Contains("encoded", stderr.ToString());

        var stderr2 = new StringWriter();
        var stdout2 = new StringWriter();
        Assert.Equal(0, EvalCommand.Execute(args with { Diversity = 0.3f }, stdout2, stderr2));
        Assert.Contains("from cache", stderr2.ToString());
        Assert.Contains("MMR λ 0.3 (given)", stderr2.ToString());
        // Everything but the MMR row is the same as in the first run.
        var rows1 = lines.Skip(2).Take(5).ToArray();
        var rows2 = stdout2.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(2).Take(5).ToArray();
        Assert.Equal(rows1, rows2);
    }

    [Fact]
    public void EvalCommandRejectsBadArguments()
    {
        var args = new EvalCommand.Arguments { Data = "data/ml-latest-small.zip", Model = _fx.ModelPath, K = 0 };
        Assert.Throws<ArgumentException>(() => EvalCommand.Execute(args, TextWriter.Null, TextWriter.Null));
        Assert.Throws<ArgumentException>(() => EvalCommand.Execute(args with { K = 10, Diversity = -0.1f }, TextWriter.Null, TextWriter.Null));
        Assert.Throws<FileNotFoundException>(() => EvalCommand.Execute(args with { K = 10, Data = "/nonexistent/ml.zip" }, TextWriter.Null, TextWriter.Null));
    }

    private static void WriteSlice(string dir, int users, int movies)
    {
        var full = MovieLensDataset.Load(Path.Combine(Fixtures.RepoRoot, "data", "ml-latest-small.zip"));
        var top = full.Ratings.GroupBy(r => r.MovieId).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Take(movies).Select(g => g.Key).ToHashSet();
        Directory.CreateDirectory(dir);
        static string Quote(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";
        var sb = new StringBuilder("movieId,title,genres\n");
        foreach (var m in full.Movies.Where(m => top.Contains(m.Id)))
        {
            string title = m.Year is int y ? $"{m.Title} ({y})" : m.Title;
            sb.Append(CultureInfo.InvariantCulture, $"{m.Id},{Quote(title)},{(m.Genres.Count == 0 ? "(no genres listed)" : string.Join('|', m.Genres))}\n");
        }
        File.WriteAllText(Path.Combine(dir, "movies.csv"), sb.ToString());
        sb.Clear().Append("userId,movieId,rating,timestamp\n");
        foreach (var r in full.Ratings.Where(r => r.UserId <= users && top.Contains(r.MovieId)))
            sb.Append(CultureInfo.InvariantCulture, $"{r.UserId},{r.MovieId},{r.Rating:0.0},{r.Timestamp}\n");
        File.WriteAllText(Path.Combine(dir, "ratings.csv"), sb.ToString());
    }
}
