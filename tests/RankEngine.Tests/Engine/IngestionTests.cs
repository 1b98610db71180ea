using RankEngine.Data;
using RankEngine.Store;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Engine;

/// <summary>Ingestion of the hand-written MovieLens mini fixture with the tiny BERT model (fast, real encoder path).</summary>
public sealed class IngestionTests : IClassFixture<TinyBertFixture>, IDisposable
{
    private readonly TinyBertFixture _model;
    private readonly TempDir _dir = new();

    public IngestionTests(TinyBertFixture model) => _model = model;

    private RankingEngine Open() => RankingEngine.Open(new RankingEngineOptions
    {
        DataDirectory = _dir.Path, ModelPath = _model.ModelPath, CollabDimension = 4, CheckpointInterval = null,
    });

    [Fact]
    public void IngestsItemsPopularityCollabAndUsersAndResumes()
    {
        var data = InteractionData.Load(Path.Combine(Fixtures.Dir("Data"), "MovieLensMini"));
        IngestSummary first;
        using (var engine = Open())
        {
            // Light regularisation: on six ratings the default λ would shrink every factor towards zero.
            first = Ingestion.Run(engine, data, als: new RankEngine.Ranking.Collaborative.AlsOptions { Regularization = 0.01, Alpha = 10 });
            Assert.Equal(data.Items.Count, first.ItemsAdded);
            Assert.Equal(data.Items.Count, engine.ItemCount);

            // Popularity = ln(1 + events with positive weight), counted by hand from ratings.csv: ratings ≥ 4 are likes,
            // 2.5–3.5 views (both positive), ≤ 2 dislikes. Movie 1: 4.0 and 0.5 → 1; 11: 2.5 → 1; 29: 5.0 → 1;
            // 7789: 3.0 → 1; 176601: 4.5 → 1; the rest unrated.
            var positives = new Dictionary<string, int> { ["1"] = 1, ["11"] = 1, ["29"] = 1, ["7789"] = 1, ["176601"] = 1 };
            foreach (var item in data.Items)
            {
                Assert.True(engine.TryGetItem(item.Id, out var record));
                Assert.Equal(Math.Log(1 + positives.GetValueOrDefault(item.Id)), record!.Fields[RankingEngine.PopularityField].Number, 9);
                Assert.Equal(engine.ContentDimension, record.Vectors["content"].Length);
                // Collab vectors exist exactly for items with a positive-strength event, and are unit length.
                bool hasPositive = data.Events.Any(e => e.ItemId == item.Id && engine.EventWeights.For(e.Kind) * e.Weight > 0);
                Assert.Equal(hasPositive, record.Vectors.ContainsKey("collab"));
                if (hasPositive) Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(record.Vectors["collab"]), 4);
            }
            foreach (var user in data.Events.Select(e => e.UserId).Distinct())
            {
                Assert.True(engine.TryGetUser(user, out var u));
                Assert.Equal(data.Events.Count(e => e.UserId == user), u!.Events.Count);
            }
        }
        using (var engine = Open())
        {
            var again = Ingestion.Run(engine, data);
            Assert.Equal(0, again.ItemsAdded);
            Assert.Equal(data.Items.Count, again.ItemsSkipped);
            Assert.Equal(first.UsersAdded, again.UsersSkipped);
            var forced = Ingestion.Run(engine, data, force: true);
            Assert.Equal(data.Items.Count, forced.ItemsAdded);
            Assert.Equal(first.UsersAdded, forced.UsersAdded);
            foreach (var user in data.Events.Select(e => e.UserId).Distinct())
            {
                Assert.True(engine.TryGetUser(user, out var u));
                Assert.Equal(data.Events.Count(e => e.UserId == user), u!.Events.Count); // replaced, not doubled
            }
        }
    }

    public void Dispose() => _dir.Dispose();
}
