using RankEngine.Ranking;
using RankEngine.Store;
using Xunit;

namespace RankEngine.Tests.Ranking;

public sealed class UserProfileTests
{
    private const double Day = 86400;

    [Fact]
    public void RecencyDecayHalvesOldEventsPerHalfLife()
    {
        var p = new UserProfile(2);
        p.Add(new[] { 1f, 0f }, 1f, timestamp: 0, halfLifeSeconds: Day);
        p.Add(new[] { 0f, 1f }, 1f, timestamp: (long)(2 * Day), halfLifeSeconds: Day);
        // The first event is two half-lives old: weight 1/4, the second 1 → sum (0.25, 1).
        Assert.Equal(0.25f, p.Sum[0], 6);
        Assert.Equal(1f, p.Sum[1], 6);
        var v = new float[2];
        Assert.True(p.TryGetVector(v));
        float norm = MathF.Sqrt(0.25f * 0.25f + 1);
        Assert.Equal(0.25f / norm, v[0], 6);
        Assert.Equal(1f / norm, v[1], 6);
    }

    [Fact]
    public void LateEventsAreDecayedToTheProfileTime()
    {
        var p = new UserProfile(1);
        p.Add(new[] { 1f }, 1f, timestamp: (long)Day, halfLifeSeconds: Day);
        p.Add(new[] { 1f }, 1f, timestamp: 0, halfLifeSeconds: Day); // arrives late, one half-life older
        Assert.Equal(1.5f, p.Sum[0], 6);
        Assert.Equal((long)Day, p.AsOf);
    }

    [Fact]
    public void NegativeFeedbackPushesAway()
    {
        var p = new UserProfile(2);
        p.Add(new[] { 1f, 0f }, EventWeights.Default.For(UserEventKind.Like), 0, Day);
        p.Add(new[] { 0.6f, 0.8f }, EventWeights.Default.For(UserEventKind.Dislike), 0, Day);
        // 2·(1, 0) − 2·(0.6, 0.8) = (0.8, −1.6): the disliked direction now has a negative score.
        Assert.Equal(0.8f, p.Sum[0], 5);
        Assert.Equal(-1.6f, p.Sum[1], 5);
        var v = new float[2];
        p.TryGetVector(v);
        Assert.True(v[0] * 0.6f + v[1] * 0.8f < 0);
    }

    [Fact]
    public void NoSignalGivesNoVectorAndBadInputIsRejected()
    {
        var p = new UserProfile(3);
        Assert.False(p.TryGetVector(new float[3]));
        Assert.Throws<ArgumentException>(() => p.Add(new float[2], 1f, 0, Day));
        Assert.Throws<ArgumentException>(() => p.Add(new float[3], float.NaN, 0, Day));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Add(new float[3], 1f, 0, 0));
    }

    [Fact]
    public void UserEventKindValuesAreFrozen()
    {
        // Persisted values: append-only. Changing one corrupts stored histories.
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 },
            new[] { UserEventKind.View, UserEventKind.Click, UserEventKind.Like, UserEventKind.Dislike, UserEventKind.Purchase, UserEventKind.Skip }.Select(k => (byte)k));
        Assert.True(EventWeights.TryParseKind("LIKE", out var k) && k == UserEventKind.Like);
        Assert.False(EventWeights.TryParseKind("love", out _));
        Assert.False(EventWeights.TryParseKind("99", out _));
    }
}

public sealed class AbTestingTests
{
    [Fact]
    public void BucketsAreStableAndBalanced()
    {
        const int users = 100_000, buckets = 4;
        var counts = new int[buckets];
        for (int i = 0; i < users; i++)
        {
            string id = "user-" + i;
            int b = BucketAssigner.Assign(id, "ranking-v2", buckets);
            Assert.Equal(b, BucketAssigner.Assign(id, "ranking-v2", buckets));
            counts[b]++;
        }
        // Chi-square goodness of fit against uniform, 3 degrees of freedom: the 0.999 quantile is 16.27.
        double expected = users / (double)buckets;
        double chi2 = counts.Sum(c => (c - expected) * (c - expected) / expected);
        Assert.True(chi2 < 16.27, $"chi-square {chi2:F2} for counts [{string.Join(", ", counts)}]");
    }

    [Fact]
    public void ExperimentsAreIndependent()
    {
        int same = 0;
        for (int i = 0; i < 10_000; i++)
            if (BucketAssigner.Assign("u" + i, "exp-a", 2) == BucketAssigner.Assign("u" + i, "exp-b", 2)) same++;
        Assert.InRange(same, 4_700, 5_300); // independent halves agree about half the time
    }

    [Fact]
    public void CountersGiveCtrPerBucket()
    {
        var exp = new Experiment("e", new[] { new Bucket("control", RankingParameters.Default), new Bucket("diverse", new RankingParameters { Diversity = 0.3f }) });
        exp.RecordImpressions(0, 10);
        exp.RecordClick(0);
        exp.RecordClick(0);
        var stats = exp.Stats();
        Assert.Equal(0.2, stats[0].Ctr, 9);
        Assert.Equal(0, stats[1].Ctr);
        Assert.Throws<ArgumentException>(() => new Experiment("x", Array.Empty<Bucket>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => BucketAssigner.Assign("u", "e", 0));
    }
}
