using RankEngine.Ranking;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Engine;

/// <summary>The embedded engine ranks exactly the same lists whatever its catalog shard count.</summary>
public sealed class ShardedEngineTests
{
    private static RankingEngine Open(string dir, int shards) => RankingEngine.Open(new RankingEngineOptions
    {
        DataDirectory = dir,
        ContentDimension = 12,
        CollabDimension = 4,
        CheckpointInterval = null,
        CatalogShards = shards,
    });

    private static void Load(RankingEngine engine)
    {
        var random = new Random(21);
        var items = new List<ItemInput>();
        for (int i = 0; i < 1500; i++)
        {
            // Coarse values: many exact ties, so the id tie rule decides across shards.
            var content = Enumerable.Range(0, 12).Select(_ => (float)random.Next(3)).ToArray();
            content[0] += 1;
            items.Add(new ItemInput($"item-{random.Next(100_000):D5}-{i}")
            {
                ContentVector = content,
                CollabVector = Enumerable.Range(0, 4).Select(_ => (float)random.Next(2)).ToArray(),
                Fields = new Dictionary<string, FieldValue>
                {
                    ["popularity"] = FieldValue.Num(random.Next(5)),
                    ["genres"] = FieldValue.Tags(random.Next(2) == 0 ? "drama" : "comedy"),
                },
            });
        }
        engine.AddItems(items);
        for (int i = 0; i < 100; i++) engine.DeleteItem(items[i * 7].Id);
        // Fixed timestamps: profiles decay by event age, so "now" would differ between the two engines.
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int u = 0; u < 10; u++)
            for (int n = 0; n < 8; n++)
                engine.RecordEvent($"u{u}", items[random.Next(700, items.Count)].Id, UserEventKind.Like, timestamp: at.AddMinutes(u * 10 + n)); // past the deleted ones
    }

    [Fact]
    public void Three_shards_rank_exactly_like_one()
    {
        using var dirOne = new TempDir();
        using var dirThree = new TempDir();
        using var one = Open(dirOne.Path, 1);
        using var three = Open(dirThree.Path, 3);
        Load(one);
        Load(three);
        var requests = new List<RankRequest>();
        for (int u = 0; u < 10; u++)
        {
            requests.Add(new RankRequest { UserId = $"u{u}", K = 10 });
            requests.Add(new RankRequest { UserId = $"u{u}", K = 50, ExcludeSeen = true, Filters = [ItemFilter.Parse("genres=drama")] });
            requests.Add(new RankRequest { UserId = $"u{u}", K = 20, Diversity = 0.4f, Boosts = new Dictionary<string, float> { ["popularity"] = 0.1f } });
        }
        requests.Add(new RankRequest { UserId = "nobody", K = 30 }); // cold start: popularity ties everywhere
        foreach (var request in requests)
        {
            var a = one.Rank(request);
            var b = three.Rank(request);
            Assert.Equal(a.Strategy, b.Strategy);
            Assert.Equal(a.Items.Select(x => (x.Id, x.Score)), b.Items.Select(x => (x.Id, x.Score)));
        }
    }
}
