using RankEngine.Evaluation;
using RankEngine.Ranking;
using Xunit;
using RankEngine.Store;

namespace RankEngine.Tests.Evaluation;

/// <summary>The temporal split and the baselines on hand-made interaction sets.</summary>
public sealed class SplitAndBaselineTests
{
    private static EvalEvent E(int user, int item, float rating, long time) =>
        new(user, item, rating >= 4 ? UserEventKind.Like : rating <= 2 ? UserEventKind.Dislike : UserEventKind.View, 1f, rating >= 4, time);

    [Fact]
    public void HoldsOutTheLastPositivesAndTrainsOnEverythingBefore()
    {
        var events = new List<EvalEvent>
        {
            // user 0: 5 positives (10, 11, 13, 14, 16) → h = round(5 × 0.2) = 1: item 16 held out, cut at t = 500.
            E(0, 16, 4, 500), E(0, 10, 5, 100), E(0, 11, 4, 200), E(0, 12, 2, 250), E(0, 13, 4, 300),
            E(0, 14, 5, 400), E(0, 15, 3, 450), E(0, 17, 1, 600), // 17 comes after the cut and is not positive: dropped
            // user 1: 4 positives < 5: everything in training, not evaluated.
            E(1, 10, 5, 10), E(1, 11, 5, 20), E(1, 12, 5, 30), E(1, 13, 5, 40), E(1, 14, 1, 50),
            // user 2: 8 positives → h = round(1.6) = 2. Items 26 and 27 share t = 70: input order decides (27 first).
            E(2, 20, 4, 10), E(2, 21, 4, 20), E(2, 22, 4, 30), E(2, 23, 4, 40), E(2, 24, 4, 50), E(2, 25, 4, 60),
            E(2, 27, 4, 70), E(2, 26, 4, 70), E(2, 29, 3, 65),
        };
        var split = TemporalSplit.Create(events);
        Assert.Equal(new[] { 0, 2 }, split.TestUsers);
        Assert.Equal(new[] { 16 }, split.HeldOut[0]);
        Assert.Equal(new[] { 27, 26 }, split.HeldOut[1]);
        Assert.Equal(1, split.Dropped);
        Assert.Equal(new[] { 10, 11, 12, 13, 14, 15 }, split.Train.Where(e => e.User == 0).Select(e => e.Item)); // time order
        Assert.Equal(new[] { 10, 11, 12, 13, 14 }, split.Train.Where(e => e.User == 1).Select(e => e.Item));
        Assert.Equal(new[] { 20, 21, 22, 23, 24, 25, 29 }, split.Train.Where(e => e.User == 2).Select(e => e.Item));
        Assert.Equal(new[] { 0, 1, 2 }, split.Train.Select(e => e.User).Distinct()); // grouped by user
    }

    [Theory]
    [InlineData(5, 1)]
    [InlineData(7, 1)]   // 1.4
    [InlineData(8, 2)]   // 1.6
    [InlineData(12, 2)]  // 2.4
    [InlineData(13, 3)]  // 2.6
    [InlineData(100, 20)]
    public void HeldOutCountIsTwentyPercentRounded(int positives, int heldOut)
    {
        var events = Enumerable.Range(0, positives).Select(i => E(0, i, 5, i)).ToList();
        var split = TemporalSplit.Create(events);
        Assert.Equal(Enumerable.Range(positives - heldOut, heldOut), split.HeldOut.Single());
        Assert.Equal(positives - heldOut, split.Train.Count);
    }

    [Fact]
    public void AHeldOutItemAlreadyInTrainingIsNotCounted()
    {
        // Item 1 was viewed early and liked again at the end: it cannot be recommended (seen), so it is not a target.
        var events = new List<EvalEvent> { E(0, 1, 3, 0) };
        events.AddRange(Enumerable.Range(2, 4).Select(i => E(0, i, 5, i)));
        events.Add(E(0, 1, 5, 100));
        var split = TemporalSplit.Create(events);
        Assert.Empty(split.TestUsers);
        Assert.Throws<ArgumentOutOfRangeException>(() => TemporalSplit.Create(events, new SplitOptions { HoldoutFraction = 1 }));
    }

    [Fact]
    public void ItemKnnMatchesHandComputedCosines()
    {
        // Positives: A = {0, 1}, B = {0, 1, 2}, C = {2, 3}; D only dislikes item 3 (not a positive).
        var train = new List<EvalEvent>
        {
            E(0, 0, 5, 0), E(0, 1, 5, 0),
            E(1, 0, 4, 0), E(1, 1, 4, 0), E(1, 2, 4, 0),
            E(2, 2, 5, 0), E(2, 3, 5, 0),
            E(3, 3, 1, 0),
        };
        var knn = new ItemKnn(4, 5, train);
        // |U_0| = |U_1| = |U_2| = 2, |U_3| = 1. sim(0,1) = 2/2, sim(0,2) = 1/2, sim(2,3) = 1/√2, sim(0,3) = 0.
        Assert.Equal(1.0, knn.Similarity(0, 1), 12);
        Assert.Equal(0.5, knn.Similarity(0, 2), 12);
        Assert.Equal(0.5, knn.Similarity(1, 2), 12);
        Assert.Equal(1 / Math.Sqrt(2), knn.Similarity(2, 3), 12);
        Assert.Equal(0.0, knn.Similarity(0, 3), 12);
        Assert.Equal(0.0, knn.Similarity(0, 4), 12); // item 4: nobody

        var scores = new double[5];
        var scratch = new double[4];
        knn.Score(0, scores, scratch); // user A: Σ over {0, 1}
        Assert.Equal(0.5 + 0.5, scores[2], 12);
        Assert.Equal(0.0, scores[3], 12);
        Assert.Equal(1 + 1, scores[0], 12); // sim(0,0) + sim(1,0): own items score high (the evaluator excludes them)
        knn.Score(2, scores, scratch); // user C: Σ over {2, 3}
        Assert.Equal(0.5, scores[0], 12);
        Assert.Equal(0.5, scores[1], 12);
        Assert.Equal(1 + 1 / Math.Sqrt(2), scores[2], 12);
        knn.Score(3, scores, scratch); // user D: no positives
        Assert.All(scores, s => Assert.Equal(0.0, s));

        // Every score equals the brute-force Σ_{i ∈ P_u} sim(i, j).
        for (int u = 0; u < 4; u++)
        {
            knn.Score(u, scores, scratch);
            for (int j = 0; j < 5; j++)
            {
                double expected = 0;
                foreach (int i in knn.PositivesOf(u).ToArray()) expected += knn.Similarity(i, j);
                Assert.Equal(expected, scores[j], 12);
            }
        }
    }

    [Fact]
    public void PopularityCountsPositiveTrainingInteractions()
    {
        var train = new List<EvalEvent> { E(0, 0, 5, 0), E(1, 0, 4, 0), E(2, 0, 3, 0), E(0, 2, 4.5f, 0), E(1, 1, 1, 0) };
        Assert.Equal(new double[] { 2, 0, 1 }, new PopularityScores(3, train).Scores.ToArray());
    }
}
