namespace RankEngine.Compute.Simd;

/// <summary>
/// Runs independent work items on all cores. Bodies are structs so the loop body is a direct (inlinable) call;
/// the scheduling is the runtime's Parallel.For, which the caller thread joins.
/// </summary>
internal static class ParallelRunner
{
    /// <summary>One work item of a parallel loop.</summary>
    public interface IBody
    {
        void Run(int index);
    }

    private static readonly ParallelOptions Options = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary>Runs <c>body.Run(i)</c> for i in [0, count), in parallel, and returns when all are done.</summary>
    public static void For<T>(int count, T body) where T : struct, IBody
    {
        if (count <= 0) return;
        if (count == 1 || Environment.ProcessorCount == 1)
        {
            for (int i = 0; i < count; i++) body.Run(i);
            return;
        }
        Parallel.For(0, count, Options, i => body.Run(i));
    }
}
