using Microsoft.Extensions.DependencyInjection;
using RankEngine.Cluster;
using RankEngine.Ranking;
using RankEngine.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace RankEngine.Tests.Cluster;

/// <summary>Three silos with six durable shard grains under their own data root (where the trained model is written), for <see cref="ClusterTrainTests"/>.</summary>
public sealed class TrainingCluster : ThreeSiloShardCluster<TrainingCluster>, IShardClusterOptions
{
    public static ClusterCatalogOptions Options { get; } =
        new(6, [new ClusterVector("content", RankingCluster.ContentDim), new ClusterVector("collab", RankingCluster.CollabDim)])
        {
            DataRoot = Path.Combine(Path.GetTempPath(), $"rankengine-cluster-train-{Guid.NewGuid():N}"),
            StoreLogMemoryBytes = 16L << 20,
            StoreExpectedRecords = 1 << 12,
            StoreCheckpointInterval = null,
        };

    internal ClusterRankingService FrontEnd(int silo = 0) =>
        new(((Orleans.TestingHost.InProcessSiloHandle)Cluster.GetActiveSilos().ElementAt(silo)).SiloHost.Services.GetRequiredService<IGrainFactory>(), Options);
}

/// <summary>
/// TRAIN on a cluster fits the single node's model: the trainer reads every user (through the user directory) and
/// every item (from the shards) in the canonical order, so the same events give the same model, bit for bit; then
/// RANK with the model term (and its tuned defaults, diversity centre and tag field) equals the single node's on
/// every front end.
/// </summary>
public sealed class ClusterTrainTests(TrainingCluster fixture, ITestOutputHelper output) : IClassFixture<TrainingCluster>
{
    [Fact]
    public void Cluster_TRAIN_fits_the_single_node_model_and_RANK_with_it_equals_the_single_node()
    {
        using var dir = new TempDir();
        using var engine = ClusterRankData.SingleNode(dir.Path, 3);
        using var cluster = fixture.FrontEnd(0);
        using var other = fixture.FrontEnd(1);
        var data = ClusterRankData.Make(new Random(1403), prefix: "tr", items: 500, users: 60);
        data.WriteTo(engine, cluster);
        Assert.Null(((IRankingService)cluster).Model);

        var expected = engine.Train();
        var got = cluster.Train();
        output.WriteLine($"single node: v{expected.Version} rank {expected.Rank} λ {expected.Lambda} NDCG {expected.ValidationNdcg:F4} tag field {expected.DiversityTagField}; " +
                         $"cluster: v{got.Version} rank {got.Rank} λ {got.Lambda} NDCG {got.ValidationNdcg:F4}");
        Assert.Equal(expected.Rank, got.Rank);
        Assert.Equal(expected.Lambda, got.Lambda);
        Assert.Equal(expected.Users, got.Users);
        Assert.Equal(expected.Items, got.Items);
        Assert.Equal(expected.Events, got.Events);
        Assert.Equal(expected.ValidationNdcg, got.ValidationNdcg);
        Assert.Equal(expected.ScoreScale, got.ScoreScale);
        Assert.Equal(expected.Defaults, got.Defaults);
        Assert.Equal(expected.InputWeights, got.InputWeights);
        Assert.Equal(expected.DiversityTagField, got.DiversityTagField);
        // The model files themselves: the same factors and maps, bit for bit.
        var mine = RankEngine.Models.ModelFiles.LoadCurrent(dir.Path, out _)!;
        var theirs = RankEngine.Models.ModelFiles.LoadCurrent(TrainingCluster.Options.DataRoot!, out _)!;
        Assert.Equal(mine.ItemIds, theirs.ItemIds);
        Assert.Equal(mine.Input, theirs.Input);
        Assert.Equal(mine.Output, theirs.Output);
        Assert.Equal(mine.ContentToInput, theirs.ContentToInput);
        Assert.Equal(mine.ContentToOutput, theirs.ContentToOutput);
        Assert.Equal(mine.ContentMean, theirs.ContentMean);
        // The other front end sees the new model too.
        Assert.Equal(got.Version, ((IRankingService)other).Model?.Version);

        int compared = 0, personalised = 0;
        foreach (var request in data.Requests())
        {
            var single = engine.Rank(request);
            ClusterRankTests.AssertSameResponse(single, cluster.Rank(request), request);
            ClusterRankTests.AssertSameResponse(single, other.Rank(request), request);
            if (single.Strategy == RankStrategy.Personalized && single.Items.Any(i => i.Parts.Collab != 0)) personalised++;
            compared++;
        }
        output.WriteLine($"{compared} responses equal with the model, {personalised} of them with a model term");
        Assert.True(personalised > 100, $"only {personalised} rankings used the model term");
    }
}
