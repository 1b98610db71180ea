using RankEngine.Data;
using RankEngine.Evaluation;
using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Evaluation;

/// <summary>The evaluator measures exactly what RANK serves, and its metrics follow from those lists.</summary>
public sealed class ServedEvaluatorTests : IDisposable
{
    private readonly TempDir _dir = new();

    /// <summary>Six genres; users like items of two genres over time, with a few middling ratings in between.</summary>
    private static (InteractionData Data, Dictionary<string, float[]> Vectors) Synthetic()
    {
        var random = new Random(5);
        var items = new List<CatalogItem>();
        var vectors = new Dictionary<string, float[]>();
        string[] genres = ["Drama", "Comedy", "Horror", "Action", "Sci-Fi", "Romance"];
        for (int i = 0; i < 90; i++)
        {
            string id = $"m{i}";
            var tags = new Dictionary<string, IReadOnlyList<string>> { ["genres"] = new[] { genres[i % 6] } };
            items.Add(new CatalogItem(id, $"movie {i}", new ItemFields { Tags = tags }));
            var v = new float[6];
            v[i % 6] = 1;
            for (int j = 0; j < 6; j++) v[j] += (float)random.NextDouble() * 0.4f;
            vectors[id] = v;
        }
        var events = new List<InteractionEvent>();
        for (int u = 0; u < 50; u++)
        {
            int a = u % 6, b = (u / 6) % 6;
            for (int n = 0; n < 16; n++)
            {
                int genre = n % 2 == 0 ? a : b;
                int item = genre + 6 * random.Next(15);
                float rating = n % 5 == 4 ? 3 : 4.5f;
                events.Add(new InteractionEvent($"u{u}", $"m{item}", rating >= 4 ? UserEventKind.Like : UserEventKind.View, 1, rating, 1_000_000 + 1000L * n));
            }
        }
        return (new InteractionData(items, events, "synthetic"), vectors);
    }

    [Theory]
    [InlineData(CatalogQuantization.None)]
    [InlineData(CatalogQuantization.Int8)]
    [InlineData(CatalogQuantization.Fp16)]
    public void TheServedRowIsWhatRankReturnsForEveryTestUser(CatalogQuantization quantization)
    {
        var (data, vectors) = Synthetic();
        string work = Path.Combine(_dir.Path, "eval");
        var report = ServedEvaluator.Run(data, new ServedEvaluationOptions
        {
            ContentVectors = vectors,
            WorkDirectory = work,
            EaseLambdas = [10],
            ColdItemFraction = 0,
            Quantization = quantization,
        });
        Assert.True(report.TestUsers > 20);
        Assert.Equal(report.TestUsers, report.ServedLists.Count);
        // Reopen the store the evaluator served from and ask RANK again, as a client would: the same lists.
        using var engine = RankingEngine.Open(new RankingEngineOptions
        {
            DataDirectory = Path.Combine(work, "main"), ContentDimension = 6, CheckpointInterval = null, Quantization = quantization,
        });
        Assert.Equal(quantization, engine.Store.Catalog.Shards[0].Current.QuantizedFormat);
        Assert.Equal(report.Model.Version, engine.Model!.Version);
        foreach (var (user, list) in report.ServedLists.Take(10))
        {
            var again = engine.Rank(new RankRequest { UserId = user, K = report.K, ExcludeSeen = true });
            Assert.Equal(list, again.Items.Select(i => i.Id).ToArray());
        }
        // Metrics of the served row recomputed from the lists and the held-out items of the same split.
        var rows = data.Items.Select((item, i) => (item.Id, i)).ToDictionary(p => p.Id, p => p.i);
        var userIds = new List<string>();
        var split = TemporalSplit.Create(ServedEvaluator.ToEvalEvents(data, rows, RatingMapping.Default, userIds));
        double hits = 0;
        for (int t = 0; t < split.TestUsers.Count; t++)
        {
            var held = split.HeldOut[t].Select(r => data.Items[r].Id).ToHashSet();
            if (report.ServedLists[userIds[split.TestUsers[t]]].Any(held.Contains)) hits++;
        }
        Assert.Equal(hits / split.TestUsers.Count, report[ServedEvaluator.Served].HitRate, 9);
        // The model learned the tastes: the served lists beat popularity here.
        Assert.True(report[ServedEvaluator.Served].Ndcg > report[ServedEvaluator.Popularity].Ndcg);
    }

    public void Dispose() => _dir.Dispose();
}
