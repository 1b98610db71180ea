using System.Diagnostics;
using RankEngine.Models;
using RankEngine.Ranking;
using RankEngine.Store;

namespace RankEngine.Bench.Models;

/// <summary>
/// Training time and peak memory of the ranking model on a synthetic catalog (default 1M items × 10M events):
/// users with a few taste clusters each and a skewed (Zipf-like) choice of items inside a cluster, 64-d content
/// vectors that carry the cluster, the content mapping on. Prints one Markdown row for bench/HISTORY.md.
/// </summary>
internal static class TrainScale
{
    public static void Run(int items, long events, int maxRank)
    {
        const int dim = 64, clusters = 2000, perUser = 100;
        var random = new Random(7);
        var clock = Stopwatch.StartNew();
        var ids = new string[items];
        var content = new float[(long)items * dim > Array.MaxLength ? throw new ArgumentException("too many items") : items * dim];
        for (int i = 0; i < items; i++)
        {
            ids[i] = "item" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var row = content.AsSpan(i * dim, dim);
            for (int j = 0; j < dim; j++) row[j] = (float)(random.NextDouble() - 0.5) * 0.2f;
            row[(i % clusters) % dim] += 1;
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, 1f / System.Numerics.Tensors.TensorPrimitives.Norm(row), row);
        }
        int userCount = (int)(events / perUser);
        int perCluster = items / clusters;
        var users = new List<TrainingUser>(userCount);
        for (int u = 0; u < userCount; u++)
        {
            var tastes = new[] { random.Next(clusters), random.Next(clusters), random.Next(clusters) };
            var list = new UserEvent[perUser];
            for (int n = 0; n < perUser; n++)
            {
                int cluster = random.NextDouble() < 0.8 ? tastes[n % 3] : random.Next(clusters);
                int rank = (int)(perCluster * Math.Pow(random.NextDouble(), 3)); // skewed towards a cluster's head
                int item = cluster + clusters * Math.Min(rank, perCluster - 1);
                list[n] = new UserEvent(ids[item], n % 10 == 0 ? UserEventKind.View : UserEventKind.Like, 1, 1_000L * n);
            }
            users.Add(new TrainingUser("u" + u, list));
        }
        Console.Error.WriteLine($"generated {items:N0} items × {userCount:N0} users × {perUser} = {(long)userCount * perUser:N0} events in {clock.Elapsed.TotalSeconds:F1} s");
        GC.Collect();
        long before = Process.GetCurrentProcess().WorkingSet64;
        var catalog = new TrainingCatalog(ids, content, dim, null);
        clock.Restart();
        var model = ModelTrainer.Train(users, catalog, new TrainOptions { MaxRank = maxRank }, 1, EventWeights.Default, TimeSpan.FromDays(30),
            line => Console.Error.WriteLine($"  [{clock.Elapsed.TotalSeconds,7:F1}s] {line}"));
        double seconds = clock.Elapsed.TotalSeconds;
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var d = model.Description;
        Console.WriteLine($"| {items:N0} | {(long)userCount * perUser:N0} | {d.Rank} | {d.Items:N0} | {seconds:F0} s | {process.PeakWorkingSet64 / (1 << 20):N0} MiB | {before / (1 << 20):N0} MiB | {d.ValidationNdcg:F4} |");
    }
}
