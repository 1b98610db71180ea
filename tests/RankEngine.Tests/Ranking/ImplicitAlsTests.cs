using RankEngine.Ranking.Collaborative;
using Xunit;

namespace RankEngine.Tests.Ranking;

/// <summary>Implicit ALS on tiny matrices whose answers can be checked by hand or by brute force.</summary>
public sealed class ImplicitAlsTests
{
    /// <summary>
    /// Two disjoint groups: users 0–2 only touch items 0–3, users 3–5 only items 4–7; each user misses one item of
    /// their own group.
    /// </summary>
    private static (InteractionMatrix Matrix, int[] Missing) TwoGroups()
    {
        var xs = new List<Interaction>();
        var missing = new int[6];
        for (int u = 0; u < 6; u++)
        {
            int first = u < 3 ? 0 : 4;
            missing[u] = first + (u % 3);
            for (int i = first; i < first + 4; i++)
                if (i != missing[u]) xs.Add(new Interaction(u, i, 1f + (u + i) % 2));
        }
        return (InteractionMatrix.Build(6, 8, xs.ToArray()), missing);
    }

    private static readonly AlsOptions Small = new() { Factors = 2, Iterations = 15, Regularization = 0.05, Alpha = 5, Seed = 3, Threads = 2 };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(2024)]
    public void UnseenItemsOfTheUsersGroupOutscoreEveryItemOfTheOtherGroup(int seed)
    {
        // d = 2: one dimension per group is the best use of the capacity, whatever the start.
        var (m, missing) = TwoGroups();
        var model = ImplicitAls.Train(m, Small with { Seed = seed });
        for (int u = 0; u < 6; u++)
        {
            double own = model.Score(u, missing[u]);
            int otherFirst = u < 3 ? 4 : 0;
            for (int i = otherFirst; i < otherFirst + 4; i++)
                Assert.True(own > model.Score(u, i) + 0.1, $"user {u}: own-group item {missing[u]} scores {own:F3}, other group's item {i} {model.Score(u, i):F3}");
            Assert.True(own > 0.3, $"user {u}: the unseen own-group item should look liked, got {own:F3}");
        }
    }

    [Fact]
    public void ObjectiveDecreasesEveryIterationAndMatchesBruteForce()
    {
        var (m, _) = TwoGroups();
        var seen = new List<double>();
        var model = ImplicitAls.Train(m, Small, (it, loss) => seen.Add(loss));
        Assert.Equal(Small.Iterations, seen.Count);
        Assert.Equal(seen, model.Objective);
        for (int i = 1; i < seen.Count; i++)
            Assert.True(seen[i] <= seen[i - 1] * (1 + 1e-12), $"iteration {i + 1}: {seen[i]} > {seen[i - 1]}");
        Assert.True(seen[^1] < 0.9 * seen[0], "training should make real progress");

        // L = Σ_{all u,i} c (p − x·y)² + λ(Σ|x|² + Σ|y|²), summed pair by pair.
        double brute = 0, penalty = 0;
        var x = new float[Small.Factors];
        var y = new float[Small.Factors];
        for (int u = 0; u < 6; u++)
        {
            model.UserFactor(u, x);
            penalty += x.Sum(v => (double)v * v);
            var (items, strengths) = m.UserRow(u);
            for (int i = 0; i < 8; i++)
            {
                model.ItemFactor(i, y);
                int k = items.Span.IndexOf(i);
                double r = k >= 0 ? strengths.Span[k] : 0, p = k >= 0 ? 1 : 0, c = 1 + Small.Alpha * r;
                double s = Enumerable.Range(0, Small.Factors).Sum(j => (double)x[j] * y[j]);
                brute += c * (p - s) * (p - s);
            }
        }
        for (int i = 0; i < 8; i++) { model.ItemFactor(i, y); penalty += y.Sum(v => (double)v * v); }
        brute += Small.Regularization * penalty;
        Assert.Equal(brute, seen[^1], 5); // float copies of the factors: agree to ~1e-6
    }

    [Fact]
    public void UserFactorsSatisfyTheNormalEquations()
    {
        // After the final (user) sweep, ∂L/∂x_u = −2 Σ_i c_ui (p_ui − x_u·y_i) y_i + 2λ x_u = 0, over all 8 items.
        var (m, _) = TwoGroups();
        var model = ImplicitAls.Train(m, Small);
        var x = new float[Small.Factors];
        var y = new float[Small.Factors];
        for (int u = 0; u < 6; u++)
        {
            model.UserFactor(u, x);
            var grad = x.Select(v => 2 * Small.Regularization * v).ToArray();
            var (items, strengths) = m.UserRow(u);
            for (int i = 0; i < 8; i++)
            {
                model.ItemFactor(i, y);
                int k = items.Span.IndexOf(i);
                double c = 1 + Small.Alpha * (k >= 0 ? strengths.Span[k] : 0), p = k >= 0 ? 1 : 0;
                double s = Enumerable.Range(0, Small.Factors).Sum(j => (double)x[j] * y[j]);
                for (int j = 0; j < Small.Factors; j++) grad[j] -= 2 * c * (p - s) * y[j];
            }
            Assert.All(grad, g => Assert.True(Math.Abs(g) < 1e-4, $"user {u}: gradient component {g}"));
        }
    }

    [Fact]
    public void SameSeedGivesTheSameFactorsWhateverTheThreadCount()
    {
        var (m, _) = TwoGroups();
        var one = ImplicitAls.Train(m, Small with { Threads = 1 });
        var many = ImplicitAls.Train(m, Small with { Threads = 4 });
        Assert.Equal(one.UserFactors(), many.UserFactors());
        Assert.Equal(one.ItemFactors(), many.ItemFactors());
        var other = ImplicitAls.Train(m, Small with { Seed = 99 });
        Assert.NotEqual(one.ItemFactors(), other.ItemFactors());
    }

    [Fact]
    public void FoldInReproducesATrainedUserAndHandlesANewOne()
    {
        var (m, missing) = TwoGroups();
        var model = ImplicitAls.Train(m, Small);
        var trained = new float[Small.Factors];
        var folded = new float[Small.Factors];
        for (int u = 0; u < 6; u++)
        {
            var (items, strengths) = m.UserRow(u);
            model.UserFactor(u, trained);
            model.FoldInUser(items.Span, strengths.Span, folded);
            for (int j = 0; j < Small.Factors; j++) Assert.Equal(trained[j], folded[j], 5);
        }
        // A new user who touched items 4 and 5 prefers the rest of group B to group A.
        model.FoldInUser(new[] { 4, 5 }, new[] { 1f, 1f }, folded);
        var y = new float[Small.Factors];
        double Dot(int item) { model.ItemFactor(item, y); return Enumerable.Range(0, Small.Factors).Sum(j => (double)folded[j] * y[j]); }
        Assert.True(Math.Min(Dot(6), Dot(7)) > Math.Max(Math.Max(Dot(0), Dot(1)), Math.Max(Dot(2), Dot(3))));
        model.FoldInUser(ReadOnlySpan<int>.Empty, ReadOnlySpan<float>.Empty, folded);
        Assert.All(folded, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void MatrixSumsDuplicatesAndRejectsBadInput()
    {
        var m = InteractionMatrix.Build(2, 3, new[] { new Interaction(1, 2, 1f), new Interaction(0, 1, 2f), new Interaction(1, 0, 1f), new Interaction(1, 2, 0.5f) });
        Assert.Equal(3, m.NonZeros);
        var (items, strengths) = m.UserRow(1);
        Assert.Equal(new[] { 0, 2 }, items.ToArray());
        Assert.Equal(new[] { 1f, 1.5f }, strengths.ToArray());
        var (users, s2) = m.ItemColumn(2);
        Assert.Equal(new[] { 1 }, users.ToArray());
        Assert.Equal(new[] { 1.5f }, s2.ToArray());

        Assert.Contains("item 3", Assert.Throws<ArgumentException>(() => InteractionMatrix.Build(2, 3, new[] { new Interaction(0, 3, 1f) })).Message);
        Assert.Contains("user -1", Assert.Throws<ArgumentException>(() => InteractionMatrix.Build(2, 3, new[] { new Interaction(-1, 0, 1f) })).Message);
        Assert.Contains("strength", Assert.Throws<ArgumentException>(() => InteractionMatrix.Build(2, 3, new[] { new Interaction(0, 0, float.NaN) })).Message);
        Assert.Contains("strength", Assert.Throws<ArgumentException>(() => InteractionMatrix.Build(2, 3, new[] { new Interaction(0, 0, -1f) })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImplicitAls.Train(m, new AlsOptions { Regularization = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImplicitAls.Train(m, new AlsOptions { Factors = 0 }));
    }

    [Fact]
    public void CholeskySolvesAHandComputedSystem()
    {
        // A = [[4, 2, 0], [2, 5, 1], [0, 1, 3]], b = A·[1, −1, 2] = [2, −1, 5].
        double[] a = { 4, 2, 0, 2, 5, 1, 0, 1, 3 };
        double[] b = { 2, -1, 5 };
        Cholesky.FactorLower(a, 3);
        Assert.Equal(2, a[0], 12);       // L00 = √4
        Assert.Equal(1, a[3], 12);       // L10 = 2/2
        Assert.Equal(2, a[4], 12);       // L11 = √(5 − 1)
        Cholesky.SolveLower(a, 3, b);
        Assert.Equal(1, b[0], 12);
        Assert.Equal(-1, b[1], 12);
        Assert.Equal(2, b[2], 12);
        Assert.Throws<InvalidOperationException>(() => Cholesky.FactorLower(new double[] { 1, 2, 2, 1 }, 2));
    }
}
