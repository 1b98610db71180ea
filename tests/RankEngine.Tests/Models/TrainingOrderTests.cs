using RankEngine.Ranking;
using RankEngine.Tests.Cluster;
using RankEngine.Tests.Support;
using Xunit;

namespace RankEngine.Tests.Models;

/// <summary>
/// A model depends on the data alone: the same items and events written in another order to a one-shard and a
/// five-shard catalog (rows and users in another order) train the same model, and RANK with it answers the same.
/// </summary>
public sealed class TrainingOrderTests
{
    [Fact]
    public void The_catalog_shard_count_does_not_change_the_trained_model()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        using var one = ClusterRankData.SingleNode(dirA.Path, 1);
        using var five = ClusterRankData.SingleNode(dirB.Path, 5);
        var data = ClusterRankData.Make(new Random(77), prefix: "order", items: 400, users: 50);
        // The same writes, the second engine getting the items and the users in reverse order.
        one.AddItems(data.Items);
        foreach (var (user, item, kind, weight, at) in data.EventList) one.RecordEvent(user, item, kind, weight, at);
        five.AddItems(Enumerable.Reverse(data.Items).ToList());
        foreach (var user in Enumerable.Reverse(data.UserIds))
            foreach (var (u, item, kind, weight, at) in data.EventList)
                if (u == user) five.RecordEvent(u, item, kind, weight, at);
        foreach (var id in data.Removed.Distinct())
        {
            one.DeleteItem(id);
            five.DeleteItem(id);
        }
        var a = one.Train();
        var b = five.Train();
        Assert.Equal((a.Rank, a.Lambda, a.Users, a.Items, a.Events, a.ValidationNdcg, a.ScoreScale, a.DiversityTagField),
                     (b.Rank, b.Lambda, b.Users, b.Items, b.Events, b.ValidationNdcg, b.ScoreScale, b.DiversityTagField));
        Assert.Equal(a.Defaults, b.Defaults);
        foreach (var request in data.Requests())
            ClusterRankTests.AssertSameResponse(one.Rank(request), five.Rank(request), request);
    }
}
